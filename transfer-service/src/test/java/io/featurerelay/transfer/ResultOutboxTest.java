package io.featurerelay.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * A transfer's result reaches {@code transfer-results} once, also when the replica that sent it died before
 * Kafka's acknowledgement came back: the outbox row it leaves is "in doubt" (a send was attempted), and this
 * replica, picking it up as after a restart, looks on the topic first. Found there, it is marked published with
 * the coordinates it has and not sent again; not found, it is sent once.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class ResultOutboxTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @Inject
    DataSource dataSource;

    /** The rows a replica that died mid-send leaves: its job finished, its result attempted, not acknowledged. */
    private void diedWhileSending(String jobId, String value) throws Exception {
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement s = c.prepareStatement("""
                    INSERT INTO jobs (id, state, parameters, details, finished_at)
                    VALUES (?, 'CANCELLED', '{}'::jsonb, '{}'::jsonb, now())""")) {
                s.setString(1, jobId);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("""
                    INSERT INTO outbox (job_id, topic, record_key, value, attempts, last_attempt_at, in_doubt)
                    VALUES (?, ?, ?, ?, 1, now(), true)""")) {
                s.setString(1, jobId);
                s.setString(2, TransferResultPublisher.CHANNEL);
                s.setString(3, jobId);
                s.setBytes(4, value.getBytes(StandardCharsets.UTF_8));
                s.executeUpdate();
            }
        }
    }

    private long[] published(String jobId) throws Exception {
        try (Connection c = dataSource.getConnection(); PreparedStatement s = c.prepareStatement(
                "SELECT published_at IS NOT NULL, partition, record_offset FROM outbox WHERE job_id = ?")) {
            s.setString(1, jobId);
            try (ResultSet r = s.executeQuery()) {
                r.next();
                return r.getBoolean(1) ? new long[] {r.getInt(2), r.getLong(3)} : null;
            }
        }
    }

    private void delete(String jobId) throws Exception {
        try (Connection c = dataSource.getConnection();
                PreparedStatement s = c.prepareStatement("DELETE FROM jobs WHERE id = ?")) {
            s.setString(1, jobId);
            s.executeUpdate();
        }
    }

    private List<ConsumerRecord<String, byte[]>> onTopic(String key) {
        // asks for two: only one may come, so this waits out the timeout to see that no second one does
        return TopicReader.read(broker.bootstrapServers(), TransferResultPublisher.CHANNEL, 2,
                r -> key.equals(r.key()), Duration.ofSeconds(10));
    }

    @Test
    void aResultInDoubtIsLookedUpBeforeItIsSentAgain() throws Exception {
        String arrived = "transfer-outbox-arrived";
        String lost = "transfer-outbox-lost";
        RecordMetadata first;
        // the earlier send that reached the broker, whose acknowledgement the dead replica never saw
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(), ProducerConfig.ACKS_CONFIG, "all"),
                new StringSerializer(), new StringSerializer())) {
            first = producer.send(new ProducerRecord<>(TransferResultPublisher.CHANNEL, arrived, "{\"n\":1}")).get();
        }
        try {
            diedWhileSending(arrived, "{\"n\":1}");
            diedWhileSending(lost, "{\"n\":2}");
            await().atMost(Duration.ofSeconds(60)).until(() -> published(arrived) != null && published(lost) != null);

            assertThat(published(arrived)).containsExactly(first.partition(), first.offset());
            List<ConsumerRecord<String, byte[]>> arrivedRecords = onTopic(arrived);
            assertThat(arrivedRecords).hasSize(1);
            assertThat(arrivedRecords.get(0).offset()).isEqualTo(first.offset());

            List<ConsumerRecord<String, byte[]>> lostRecords = onTopic(lost);
            assertThat(lostRecords).hasSize(1);
            assertThat(new String(lostRecords.get(0).value(), StandardCharsets.UTF_8)).isEqualTo("{\"n\":2}");
            assertThat(published(lost)).containsExactly(lostRecords.get(0).partition(), lostRecords.get(0).offset());
        } finally {
            delete(arrived);
            delete(lost);
        }
    }
}
