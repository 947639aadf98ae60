/** Health checks of transfer-service beyond Quarkus' own (Kafka, the datasource). */
package io.featurerelay.transfer.health;
