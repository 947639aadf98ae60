/** The Kafka producer side: FeatureWeights envelopes to the feature-weights topic. */
package io.featurerelay.trainer.messaging;
