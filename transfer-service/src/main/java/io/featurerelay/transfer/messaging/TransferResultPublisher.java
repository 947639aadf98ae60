package io.featurerelay.transfer.messaging;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;

/** Sends each finished transfer's result record (JSON, key = run id) to {@code transfer-results}. */
@ApplicationScoped
public class TransferResultPublisher {

    public static final String CHANNEL = "transfer-results";

    private final Emitter<String> emitter;
    private final ObjectMapper json;

    public TransferResultPublisher(@Channel(CHANNEL) Emitter<String> emitter, ObjectMapper json) {
        this.emitter = emitter;
        this.json = json;
    }

    /** Completes when Kafka has the record. */
    public CompletionStage<Void> publish(String runId, Object result) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            Message<String> message = Message.of(json.writeValueAsString(result))
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(runId).build())
                    .withAck(() -> {
                        done.complete(null);
                        return CompletableFuture.completedFuture(null);
                    })
                    .withNack(t -> {
                        done.completeExceptionally(t);
                        return CompletableFuture.completedFuture(null);
                    });
            emitter.send(message);
        } catch (JsonProcessingException | RuntimeException e) {
            done.completeExceptionally(e);
        }
        return done;
    }
}
