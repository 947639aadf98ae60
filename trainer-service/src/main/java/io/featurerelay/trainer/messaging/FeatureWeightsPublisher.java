package io.featurerelay.trainer.messaging;

import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.smallrye.common.annotation.Identifier;
import io.smallrye.reactive.messaging.kafka.api.OutgoingKafkaRecordMetadata;
import io.smallrye.reactive.messaging.OutgoingMessageMetadata;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.eclipse.microprofile.reactive.messaging.Channel;
import org.eclipse.microprofile.reactive.messaging.Emitter;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.jboss.logging.Logger;

/**
 * Sends FeatureWeights envelopes from the outbox to the {@code feature-weights} topic (key = base model id). The
 * producer is idempotent with acks=all and zstd (application.properties); the returned stage completes when
 * Kafka has acknowledged the record, with where it landed, or fails so that the outbox retries it. Before
 * sending again a record whose earlier send may have reached the broker (its replica died waiting for the
 * acknowledgement), it looks for it on the topic.
 */
@ApplicationScoped
public class FeatureWeightsPublisher implements OutboxRelay.RecordSender {

    private static final Logger LOG = Logger.getLogger(FeatureWeightsPublisher.class);
    /** How far before the earlier attempt the topic is searched (clocks of broker and replicas differ). */
    private static final Duration CLOCK_SLACK = Duration.ofMinutes(2);

    private final Emitter<byte[]> emitter;
    private final Map<String, Object> kafka;

    public FeatureWeightsPublisher(@Channel(FeatureWeightsTopic.NAME) Emitter<byte[]> emitter,
            @Identifier("default-kafka-broker") Map<String, Object> kafka) {
        this.emitter = emitter;
        this.kafka = kafka;
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
        Map<String, Object> props = new HashMap<>(kafka);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 11_534_336);
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        Instant since = (record.lastAttemptAt() == null ? Instant.EPOCH : record.lastAttemptAt()).minus(CLOCK_SLACK);
        String sha = record.headers().get(FeatureWeightsTopic.SHA256_HEADER);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(record.topic(), Duration.ofSeconds(5))) {
                partitions.add(new TopicPartition(p.topic(), p.partition()));
            }
            consumer.assign(partitions);
            Map<TopicPartition, Long> query = new HashMap<>();
            partitions.forEach(tp -> query.put(tp, since.toEpochMilli()));
            Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(query, Duration.ofSeconds(10));
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, Duration.ofSeconds(10));
            List<TopicPartition> toRead = new ArrayList<>();
            for (TopicPartition tp : partitions) {
                OffsetAndTimestamp start = starts.get(tp);
                if (start != null && start.offset() < ends.get(tp)) {
                    consumer.seek(tp, start.offset());
                    toRead.add(tp);
                }
            }
            consumer.assign(toRead);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!toRead.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    var h = r.headers().lastHeader(FeatureWeightsTopic.SHA256_HEADER);
                    if (record.key().equals(r.key()) && (sha == null
                            || (h != null && sha.equals(new String(h.value(), StandardCharsets.UTF_8))))) {
                        return Optional.of(new OutboxRelay.Delivery(r.topic(), r.partition(), r.offset()));
                    }
                }
                toRead.removeIf(tp -> consumer.position(tp) >= ends.get(tp));
                consumer.assign(toRead);
            }
            if (!toRead.isEmpty()) {
                throw new IllegalStateException("the topic could not be read to its end in 30 s");
            }
            return Optional.empty();
        } catch (RuntimeException e) {
            // unknown whether it is there: do not send it twice; the outbox retries (and looks again) later
            LOG.warnf("cannot check %s for %s: %s", record.topic(), record.key(), e.getMessage());
            throw e;
        }
    }
}
