/** What the services agree on for Kafka: topics and record headers, and looking a record up on its topic. */
package io.featurerelay.service.messaging;
