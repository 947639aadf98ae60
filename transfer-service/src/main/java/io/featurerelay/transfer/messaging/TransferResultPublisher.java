package io.featurerelay.transfer.messaging;

import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.featurerelay.service.messaging.TopicSearch;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
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
 * Sends each finished transfer's result record (JSON, key = run id) from the outbox to {@code transfer-results};
 * completes with where Kafka put it, or fails so that the outbox retries it: an acknowledgement without the
 * record's coordinates is no proof, and never reported as a delivery. Before sending again a result whose
 * earlier send may have reached the broker (its replica died waiting, or the send timed out), it looks for it on
 * the topic, so that each finished transfer has one result record.
 */
@ApplicationScoped
public class TransferResultPublisher implements OutboxRelay.RecordSender {

    public static final String CHANNEL = "transfer-results";
    /** A result is a few kB of JSON; the search's fetch size only has to take the largest. */
    private static final int MAX_RESULT_BYTES = 1 << 20;

    private final Emitter<String> emitter;
    private final TopicSearch search;

    public TransferResultPublisher(@Channel(CHANNEL) Emitter<String> emitter,
            @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this.emitter = emitter;
        this.search = new TopicSearch(kafka, MAX_RESULT_BYTES);
    }

    @Override
    public CompletionStage<OutboxRelay.Delivery> send(OutboxRecord record, byte[] value) {
        CompletableFuture<OutboxRelay.Delivery> done = new CompletableFuture<>();
        OutgoingMessageMetadata<RecordMetadata> result = new OutgoingMessageMetadata<>();
        List<RecordHeader> headers = new ArrayList<>();
        record.headers().forEach((name, v) -> headers.add(new RecordHeader(name, v.getBytes(StandardCharsets.UTF_8))));
        try {
            Message<String> message = Message.of(new String(value, StandardCharsets.UTF_8))
                    .addMetadata(OutgoingKafkaRecordMetadata.<String>builder().withKey(record.key())
                            .withHeaders(headers).build())
                    .addMetadata(result)
                    .withAck(() -> {
                        RecordMetadata r = result.getResult();
                        if (r == null) {
                            // no coordinates means no proof: the outbox keeps it and looks for it before resending
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
            // the emitter refuses while its downstream is failing or its buffer is full: retry later
            done.completeExceptionally(e);
        }
        return done;
    }

    @Override
    public Optional<OutboxRelay.Delivery> find(OutboxRecord record) {
        return search.find(record);
    }
}
