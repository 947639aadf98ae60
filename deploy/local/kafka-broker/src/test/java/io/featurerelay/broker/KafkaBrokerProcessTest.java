package io.featurerelay.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class KafkaBrokerProcessTest {

    @Test
    void brokerCarriesLargeRecordsAndKeepsThemAcrossARestart() throws Exception {
        Path dataDir;
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start()) {
            dataDir = broker.dataDir();
            byte[] big = new byte[3 << 20];
            big[0] = 42;
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ProducerConfig.ACKS_CONFIG, "all", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd",
                    ProducerConfig.MAX_REQUEST_SIZE_CONFIG, LocalKafkaBroker.MAX_MESSAGE_BYTES),
                    new StringSerializer(), new ByteArraySerializer())) {
                RecordMetadata meta = producer.send(new ProducerRecord<>("probe", "k", big)).get();
                assertThat(meta.offset()).isZero();
            }
            assertThat(broker.residentBytes()).isBetween(1L, 512L << 20);

            broker.stop();
            assertThat(broker.isRunning()).isFalse();
            broker.start();

            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
                    ConsumerConfig.GROUP_ID_CONFIG, "probe-reader",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"),
                    new StringDeserializer(), new ByteArrayDeserializer())) {
                consumer.subscribe(List.of("probe"));
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (records.isEmpty() && System.nanoTime() < deadline) {
                    consumer.poll(Duration.ofMillis(500)).forEach(records::add);
                }
            }
            assertThat(records).hasSize(1);
            assertThat(records.get(0).key()).isEqualTo("k");
            assertThat(records.get(0).value()).hasSize(3 << 20).startsWith(42);
        }
        assertThat(Files.exists(dataDir)).isFalse();
    }
}
