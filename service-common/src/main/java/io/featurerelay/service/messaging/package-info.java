/** Names the services agree on for Kafka: topics and record headers of the FeatureWeights envelope. */
package io.featurerelay.service.messaging;
