package io.featurerelay.trainer.messaging;

import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Sends FeatureWeights envelopes to the {@code feature-weights} topic (key = base model id). The producer is
 * idempotent with acks=all and zstd (application.properties); the returned stage completes when Kafka has
 * acknowledged the record, or fails so that the caller can retry.
 */
@ApplicationScoped
public class FeatureWeightsPublisher {

    private final Emitter<byte[]> emitter;

    public FeatureWeightsPublisher(@Channel(FeatureWeightsTopic.NAME) Emitter<byte[]> emitter) {
        this.emitter = emitter;
    }

    /** Where a record landed. */
    public record Delivery(String topic, int partition, long offset) {
    }

    public CompletionStage<Delivery> publish(String baseModelId, byte[] envelope, String signature) {
        List<RecordHeader> headers = new ArrayList<>();
        headers.add(header(FeatureWeightsTopic.SCHEMA_HEADER, FeatureWeightsCodec.SCHEMA_NAME));
        headers.add(header(FeatureWeightsTopic.SHA256_HEADER, FeatureWeightsCodec.sha256(envelope)));
        if (signature != null) {
            headers.add(header(FeatureWeightsTopic.SIGNATURE_HEADER, signature));
        }
        OutgoingMessageMetadata<RecordMetadata> result = new OutgoingMessageMetadata<>();
        CompletableFuture<Delivery> delivered = new CompletableFuture<>();
        Message<byte[]> message = Message.of(envelope)
                .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(baseModelId).withHeaders(headers)
                        .build())
                .addMetadata(result)
                .withAck(() -> {
                    RecordMetadata r = result.getResult();
                    delivered.complete(r == null ? new Delivery(FeatureWeightsTopic.NAME, -1, -1)
                            : new Delivery(r.topic(), r.partition(), r.offset()));
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

    private static RecordHeader header(String name, String value) {
        return new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8));
    }
}
