package io.featurerelay.service.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.service.jobs.OutboxRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;

/**
 * Which record on the topic is the one an earlier send delivered: same key and every header the outbox holds for
 * it. Anything less would mark a record published that was never sent (another envelope under the same base
 * model id), and so lose it. The search itself runs against a real broker in transfer-service's ResultOutboxTest.
 */
class TopicSearchTest {

    private static OutboxRecord wanted(Map<String, String> headers) {
        return new OutboxRecord(1, "base-1", FeatureWeightsTopic.NAME, "base-1", null, new byte[] {1}, headers, 1,
                Instant.now(), true);
    }

    private static ConsumerRecord<String, byte[]> onTopic(String key, Map<String, String> headers) {
        ConsumerRecord<String, byte[]> r = new ConsumerRecord<>(FeatureWeightsTopic.NAME, 0, 7, key, new byte[] {1});
        headers.forEach((name, value) -> r.headers().add(new RecordHeader(name,
                value.getBytes(StandardCharsets.UTF_8))));
        return r;
    }

    @Test
    void aRecordIsTheOneSoughtOnlyWithTheSameKeyAndEveryHeader() {
        Map<String, String> headers = Map.of(FeatureWeightsTopic.SHA256_HEADER, "ab".repeat(32),
                FeatureWeightsTopic.SCHEMA_HEADER, "featurerelay.FeatureWeights.v1");
        OutboxRecord record = wanted(headers);
        assertThat(TopicSearch.isTheRecord(record, onTopic("base-1", headers))).isTrue();
        assertThat(TopicSearch.isTheRecord(record, onTopic("base-2", headers))).as("another key").isFalse();
        assertThat(TopicSearch.isTheRecord(record, onTopic(null, headers))).as("no key").isFalse();
        assertThat(TopicSearch.isTheRecord(record, onTopic("base-1", Map.of(FeatureWeightsTopic.SHA256_HEADER,
                "cd".repeat(32), FeatureWeightsTopic.SCHEMA_HEADER, "featurerelay.FeatureWeights.v1"))))
                .as("another envelope of the same base model").isFalse();
        assertThat(TopicSearch.isTheRecord(record, onTopic("base-1", Map.of(FeatureWeightsTopic.SCHEMA_HEADER,
                "featurerelay.FeatureWeights.v1")))).as("a header missing").isFalse();
        // a record without headers (a transfer result) is found by its key, which is unique per job
        assertThat(TopicSearch.isTheRecord(wanted(Map.of()), onTopic("base-1", headers))).isTrue();
    }
}
