package io.featurerelay.trainer.messaging;

import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.messaging.TopicSearch;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Sends FeatureWeights envelopes from the outbox to the {@code feature-weights} topic (key = base model id). The
 * producer is idempotent with acks=all and zstd (application.properties); the returned stage completes when
 * Kafka has acknowledged the record, with where it landed, or fails so that the outbox retries it. Before
 * sending again a record whose earlier send may have reached the broker (its replica died waiting for the
 * acknowledgement), it looks for it on the topic ({@link TopicSearch}: same key and headers).
 */
@ApplicationScoped
public class FeatureWeightsPublisher implements OutboxRelay.RecordSender {

    /** The largest envelope a record carries (the transfer side's default maximum), for the search's fetches. */
    private static final int MAX_ENVELOPE_BYTES = 10 << 20;

    private final Emitter<byte[]> emitter;
    private final TopicSearch search;

    public FeatureWeightsPublisher(@Channel(FeatureWeightsTopic.NAME) Emitter<byte[]> emitter,
            @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this.emitter = emitter;
        this.search = new TopicSearch(kafka, MAX_ENVELOPE_BYTES);
    }

    @Override
    public CompletionStage<OutboxRelay.Delivery> send(OutboxRecord record, byte[] envelope) {
        List<RecordHeader> headers = new ArrayList<>();
        record.headers().forEach((name, value) -> headers.add(new RecordHeader(name,
                value.getBytes(StandardCharsets.UTF_8))));
        OutgoingMessageMetadata<RecordMetadata> result = new OutgoingMessageMetadata<>();
        CompletableFuture<OutboxRelay.Delivery> delivered = new CompletableFuture<>();
        Message<byte[]> message = Message.of(envelope)
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(record.key()).withHeaders(headers)
                        .build())
                .addMetadata(result)
                .withAck(() -> {
                    RecordMetadata r = result.getResult();
                    if (r == null) {
                        // no coordinates means no proof: the outbox keeps the record and looks for it before resending
                        delivered.completeExceptionally(new IllegalStateException(
                                "Kafka acknowledged " + record.key() + " without its record metadata"));
                    } else {
                        delivered.complete(new OutboxRelay.Delivery(r.topic(), r.partition(), r.offset()));
                    }
                    return CompletableFuture.completedFuture(null);
                })
                .withNack(failure -> {
                    delivered.completeExceptionally(failure);
                    return CompletableFuture.completedFuture(null);
                });
        try {
            emitter.send(message);
        } catch (RuntimeException e) {
            // the emitter refuses while its downstream is failing or its buffer is full: retry later
            delivered.completeExceptionally(e);
        }
        return delivered;
    }

    @Override
    public Optional<OutboxRelay.Delivery> find(OutboxRecord record) {
        return search.find(record);
    }
}
