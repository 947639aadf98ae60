/** Kafka: consuming feature-weights (bad records to the dead-letter topic) and publishing transfer-results. */
package io.featurerelay.transfer.messaging;
