/** The real Kafka broker for one machine: its main class, the launcher that runs it as a child JVM, and the Quarkus test resource. */
package io.featurerelay.broker;
