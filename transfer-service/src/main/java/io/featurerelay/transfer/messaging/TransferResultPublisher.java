package io.featurerelay.transfer.messaging;

import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/**
 * Sends each finished transfer's result record (JSON, key = run id) from the outbox to {@code transfer-results};
 * completes with where Kafka put it, or fails so that the outbox retries it.
 */
@ApplicationScoped
public class TransferResultPublisher implements OutboxRelay.RecordSender {

    public static final String CHANNEL = "transfer-results";

    private final Emitter<String> emitter;

    public TransferResultPublisher(@Channel(CHANNEL) Emitter<String> emitter) {
        this.emitter = emitter;
    }

    @Override
    public CompletionStage<OutboxRelay.Delivery> send(OutboxRecord record, byte[] value) {
        CompletableFuture<OutboxRelay.Delivery> done = new CompletableFuture<>();
        OutgoingMessageMetadata<RecordMetadata> result = new OutgoingMessageMetadata<>();
        try {
            Message<String> message = Message.of(new String(value, StandardCharsets.UTF_8))
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(record.key()).build())
                    .addMetadata(result)
                    .withAck(() -> {
                        RecordMetadata r = result.getResult();
                        if (r == null) {
                            done.completeExceptionally(new IllegalStateException(
                                    "Kafka acknowledged " + record.key() + " without its record metadata"));
                        } else {
                            done.complete(new OutboxRelay.Delivery(r.topic(), r.partition(), r.offset()));
                        }
                        return CompletableFuture.completedFuture(null);
                    })
                    .withNack(t -> {
                        done.completeExceptionally(t);
                        return CompletableFuture.completedFuture(null);
                    });
            emitter.send(message);
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        }
        return done;
    }
}
