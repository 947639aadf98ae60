package io.featurerelay.transfer.messaging;

import io.featurerelay.learning.wire.EnvelopeException;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.jobs.Database;
import io.featurerelay.transfer.service.BaseModelIntake;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import io.smallrye.reactive.messaging.annotations.Blocking;
import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.eclipse.microprofile.reactive.messaging.Metadata;
import org.jboss.logging.Logger;

/**
 * Consumes {@code feature-weights}. A record is acknowledged (so its offset may be committed) only after the
 * envelope is verified and stored; training happens on the service's workers, so the poll loop never waits
 * for it. A rejected record (its own fault: {@link EnvelopeException}) is nacked: SmallRye's dead-letter strategy
 * sends it to {@code feature-weights-dlq} with its reason, and consumption goes on. A record we fail to store is
 * tried again with back-off, its partition waiting meanwhile; it is never dead-lettered for our failure.
 */
@ApplicationScoped
@Startup // created at start-up, not at the first record: the rejection counters exist (at 0) from the start
public class FeatureWeightsConsumer {

    private static final Logger LOG = Logger.getLogger(FeatureWeightsConsumer.class);
    /** Reason code of a rejection, beside SmallRye's own dead-letter-reason header (the full message). */
    public static final String REASON_HEADER = "featurerelay-rejection-reason";
    /**
     * Every reason a record is dead-lettered for: the record's own faults only. A valid record that we fail to
     * store (for whatever reason of ours) is retried, never dead-lettered.
     */
    public static final List<String> REASONS = List.of("truncated", "oversized", "bad-magic", "unsupported-version",
            "malformed-header", "checksum-mismatch", "missing-signature", "bad-signature", "architecture-mismatch");
    static final long INITIAL_BACKOFF_MILLIS = 500;
    static final long MAX_BACKOFF_MILLIS = 10_000;

    private final BaseModelIntake service;
    private final MeterRegistry registry;
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter storeRetries;
    private volatile Stall stalled;

    public FeatureWeightsConsumer(BaseModelIntake service, MeterRegistry registry) {
        this.service = service;
        this.registry = registry;
        this.accepted = Counter.builder("featurerelay.envelopes.accepted")
                .description("Envelopes verified and stored").register(registry);
        this.duplicates = Counter.builder("featurerelay.envelopes.duplicates")
                .description("Envelopes received again (no new job)").register(registry);
        this.storeRetries = Counter.builder("featurerelay.envelopes.store.retries")
                .description("Failed tries to store a valid envelope (each is retried, never dead-lettered)")
                .register(registry);
        // every reason has a series from the start, so that rates and alerts see 0 rather than nothing
        REASONS.forEach(this::rejected);
    }

    private Counter rejected(String reason) {
        return Counter.builder("featurerelay.envelopes.rejected").tag("reason", reason)
                .description("Records sent to the dead-letter topic, by reason").register(registry);
    }

    @Incoming(FeatureWeightsTopic.NAME)
    @Blocking(ordered = true)
    public CompletionStage<Void> consume(Message<byte[]> message) {
        var meta = message.getMetadata(IncomingKafkaRecordMetadata.class).orElse(null);
        String key = meta == null ? null : (String) meta.getKey();
        String signature = meta == null ? null : header(meta, FeatureWeightsTopic.SIGNATURE_HEADER);
        String where = meta == null ? "" : meta.getTopic() + "-" + meta.getPartition() + "@" + meta.getOffset();
        long backoff = INITIAL_BACKOFF_MILLIS;
        int attempt = 0;
        try {
            while (true) {
                attempt++;
                try {
                    BaseModelIntake.Receipt receipt = service.receive(key, message.getPayload(), signature);
                    (receipt == BaseModelIntake.Receipt.ACCEPTED ? accepted : duplicates).increment();
                    if (attempt > 1) {
                        LOG.infof("record %s stored after %d tries; consumption goes on", where, attempt);
                    }
                    return message.ack();
                } catch (EnvelopeException e) {
                    // the record's own fault: nothing we can do makes it good
                    return reject(message, e.reason(), e, where);
                } catch (Throwable e) {
                    // our failure (the database away, a statement refused, a bug, memory): the record is valid as far
                    // as we know, so it is never dead-lettered for it; this partition waits and tries again, its
                    // offset uncommitted, readiness down (IntakeReadiness), until the record is stored once
                    storeRetries.increment();
                    stalled = new Stall(where, Instant.now(), attempt, Database.unavailable(e)
                            ? "the database is unavailable: " + e.getMessage() : e.toString());
                    if (Database.unavailable(e)) {
                        LOG.warnf("record %s waits for the database (%s); retrying in %d ms", where, e.getMessage(),
                                backoff);
                    } else if (attempt == 1) {
                        LOG.errorf(e, "record %s could not be stored (try %d); retrying in %d ms", where, attempt,
                                backoff);
                    } else {
                        // the stack trace was logged with the first try; a long wait should not flood the log
                        LOG.errorf("record %s could not be stored (try %d: %s); retrying in %d ms", where, attempt, e,
                                backoff);
                    }
                    try {
                        Thread.sleep(backoff);
                    } catch (InterruptedException stopping) {
                        Thread.currentThread().interrupt();
                        // never acknowledged: the offset stays uncommitted and the record comes again after the restart
                        return new CompletableFuture<>();
                    }
                    backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
                }
            }
        } finally {
            stalled = null;
        }
    }

    /** The record this consumer is waiting to store, when it waits: readiness reports it. */
    public Optional<Stall> stalled() {
        return Optional.ofNullable(stalled);
    }

    /** A valid record that could not be stored yet: where it is, since when, how many tries, the last failure. */
    public record Stall(String record, Instant since, int attempts, String lastFailure) {
    }

    private CompletionStage<Void> reject(Message<byte[]> message, String reason, Exception e, String where) {
        rejected(reason).increment();
        LOG.warnf("record %s rejected (%s): %s; it goes to %s", where, reason, e.getMessage(),
                FeatureWeightsTopic.DEAD_LETTER);
        var dlqHeaders = OutgoingKafkaRecordMetadata.builder()
                .addHeaders(new RecordHeader(REASON_HEADER, reason.getBytes(StandardCharsets.UTF_8))).build();
        return message.nack(e, Metadata.of(dlqHeaders));
    }

    private static String header(IncomingKafkaRecordMetadata<?, ?> meta, String name) {
        Header h = meta.getHeaders().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
