package io.featurerelay.service.messaging;

import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jboss.logging.Logger;

/**
 * Looks on a topic for a record an earlier send may have delivered without its acknowledgement reaching us (the
 * replica died waiting, or the send timed out): the outbox asks before it sends such a record again, so that
 * a lost acknowledgement does not become a duplicate. A record is the one sought when its key and every header
 * the outbox holds for it are equal; the search reads every partition from a little before the earlier attempt
 * to the end, with its own consumer outside any group. Both services' publishers use it.
 */
public final class TopicSearch {

    private static final Logger LOG = Logger.getLogger(TopicSearch.class);
    /** How far before the earlier attempt the topic is searched (clocks of broker and replicas differ). */
    static final Duration CLOCK_SLACK = Duration.ofMinutes(2);
    private static final Duration READ_LIMIT = Duration.ofSeconds(30);

    private final Map<String, Object> kafka;
    private final int maxRecordBytes;

    /**
     * @param kafka the service's Kafka client settings (bootstrap servers, security)
     * @param maxRecordBytes the largest record the topic holds (the fetch must be able to take it)
     */
    public TopicSearch(Map<String, Object> kafka, int maxRecordBytes) {
        this.kafka = kafka;
        this.maxRecordBytes = maxRecordBytes;
    }

    /**
     * Where {@code record} is on its topic, or empty when it is not there.
     *
     * @throws RuntimeException when the topic cannot be read to its end: then it is unknown whether the record
     *     is there, and it must not be sent again yet
     */
    public Optional<OutboxRelay.Delivery> find(OutboxRecord record) {
        Map<String, Object> props = new HashMap<>(kafka);
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, maxRecordBytes + (1 << 20));
        props.remove(ConsumerConfig.GROUP_ID_CONFIG);
        Instant since = (record.lastAttemptAt() == null ? Instant.EPOCH : record.lastAttemptAt()).minus(CLOCK_SLACK);
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
            long deadline = System.nanoTime() + READ_LIMIT.toNanos();
            while (!toRead.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (isTheRecord(record, r)) {
                        return Optional.of(new OutboxRelay.Delivery(r.topic(), r.partition(), r.offset()));
                    }
                }
                toRead.removeIf(tp -> consumer.position(tp) >= ends.get(tp));
                consumer.assign(toRead);
            }
            if (!toRead.isEmpty()) {
                throw new IllegalStateException("the topic could not be read to its end in " + READ_LIMIT.toSeconds()
                        + " s");
            }
            return Optional.empty();
        } catch (RuntimeException e) {
            // unknown whether it is there: not sent twice; the outbox retries (and looks again) later
            LOG.warnf("cannot check %s for %s: %s", record.topic(), record.key(), e.getMessage());
            throw e;
        }
    }

    static boolean isTheRecord(OutboxRecord wanted, ConsumerRecord<String, byte[]> candidate) {
        if (!wanted.key().equals(candidate.key())) {
            return false;
        }
        for (var header : wanted.headers().entrySet()) {
            Header h = candidate.headers().lastHeader(header.getKey());
            if (h == null || h.value() == null
                    || !header.getValue().equals(new String(h.value(), StandardCharsets.UTF_8))) {
                return false;
            }
        }
        return true;
    }
}
