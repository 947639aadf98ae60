package io.featurerelay.service.jobs;

import java.util.Map;

/**
 * A record waiting in the outbox for Kafka.
 *
 * @param artifact the job's artifact whose bytes are the value, or null when {@code value} holds them
 * @param attempts sends tried before this one
 * @param inDoubt  an earlier send may have reached the broker (its replica died sending, or it timed out)
 */
public record OutboxRecord(long id, String jobId, String topic, String key, String artifact, byte[] value,
        Map<String, String> headers, int attempts, java.time.Instant lastAttemptAt, boolean inDoubt) {
}
