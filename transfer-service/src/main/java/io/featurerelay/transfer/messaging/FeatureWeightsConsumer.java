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
import java.util.List;
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
 * for it. A rejected record is nacked: SmallRye's dead-letter strategy sends it to {@code feature-weights-dlq}
 * with its reason, and consumption goes on.
 */
@ApplicationScoped
@Startup // created at start-up, not at the first record: the rejection counters exist (at 0) from the start
public class FeatureWeightsConsumer {

    private static final Logger LOG = Logger.getLogger(FeatureWeightsConsumer.class);
    /** Reason code of a rejection, beside SmallRye's own dead-letter-reason header (the full message). */
    public static final String REASON_HEADER = "featurerelay-rejection-reason";
    /** Reasons other than the envelope's own: the record could not be stored. */
    public static final String STORE_FAILED = "store-failed";
    public static final List<String> REASONS = List.of("truncated", "oversized", "bad-magic", "unsupported-version",
            "malformed-header", "checksum-mismatch", "missing-signature", "bad-signature", "architecture-mismatch",
            STORE_FAILED);

    private final BaseModelIntake service;
    private final MeterRegistry registry;
    private final Counter accepted;
    private final Counter duplicates;
    private final Counter storeRetries;

    public FeatureWeightsConsumer(BaseModelIntake service, MeterRegistry registry) {
        this.service = service;
        this.registry = registry;
        this.accepted = Counter.builder("featurerelay.envelopes.accepted")
                .description("Envelopes verified and stored").register(registry);
        this.duplicates = Counter.builder("featurerelay.envelopes.duplicates")
                .description("Envelopes received again (no new job)").register(registry);
        this.storeRetries = Counter.builder("featurerelay.envelopes.store.retries")
                .description("Tries to store a valid envelope while the database was unavailable").register(registry);
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
        long backoff = 500;
        while (true) {
            try {
                BaseModelIntake.Receipt receipt = service.receive(key, message.getPayload(), signature);
                (receipt == BaseModelIntake.Receipt.ACCEPTED ? accepted : duplicates).increment();
                return message.ack();
            } catch (EnvelopeException e) {
                return reject(message, e.reason(), e, where);
            } catch (RuntimeException e) {
                if (!Database.unavailable(e)) {
                    LOG.errorf(e, "record %s could not be stored", where);
                    return reject(message, STORE_FAILED, e, where);
                }
                // a valid record is never dead-lettered for our own outage: this partition waits until the
                // database is back (readiness is down meanwhile), then the record is stored once
                storeRetries.increment();
                LOG.warnf("record %s waits for the database (%s); retrying in %d ms", where, e.getMessage(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException stopping) {
                    Thread.currentThread().interrupt();
                    // never acknowledged: the offset stays uncommitted and the record comes again after the restart
                    return new java.util.concurrent.CompletableFuture<>();
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
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
