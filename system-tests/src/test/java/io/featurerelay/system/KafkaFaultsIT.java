package io.featurerelay.system;

import static io.featurerelay.system.PipelineIT.KEY;
import static io.featurerelay.system.PipelineIT.SAMPLE;
import static io.featurerelay.system.PipelineIT.awaitState;
import static io.featurerelay.system.PipelineIT.json;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.TopicReader;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * The Kafka faults that FaultsIT cannot make with a broker that is merely stopped, with real processes and a plain
 * TCP proxy between trainer-service and the broker (nothing mocked):
 * <ol>
 * <li>the duplicate window: the broker appends the envelope, its acknowledgement is kept back by the proxy, and
 * the trainer is SIGKILLed; restarted, it finds the record on the topic instead of sending it again;</li>
 * <li>the broker SIGKILLed while the trainer publishes (appended, not acknowledged) and restarted on the same
 * data directory: the producer's retry is the same record, not a second one;</li>
 * <li>the broker SIGKILLed while transfer-service consumes (just after it created the job, before its offset
 * commit could be sure to have reached the broker) and kept down while the transfer finishes: the redelivered
 * record starts no second job, and the result reaches {@code transfer-results} once the broker is back.</li>
 * </ol>
 * Afterwards every envelope is on {@code feature-weights} exactly once (so the topic, not a consumer's
 * deduplication, is what keeps it single), every base model has exactly one transfer job, and every finished
 * transfer has exactly one record on {@code transfer-results}.
 */
class KafkaFaultsIT {

    private static final Duration JOB = Duration.ofMinutes(4);
    /** Classes 0 and 1 of the sample, one epoch: a few seconds. */
    private static final String SHORT_TRAINING =
            "{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1],\"seed\":%d}";

    private static String submit(ServiceProcess trainer, int seed) {
        return given().baseUri(trainer.url()).contentType(ContentType.JSON).body(SHORT_TRAINING.formatted(seed))
                .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
    }

    private static List<String> transfersOf(ServiceProcess transfer, String base) {
        return json(transfer.url() + "/api/v1/transfers").getList("findAll { it.baseModelId == '" + base + "' }.id");
    }

    private static List<ConsumerRecord<String, byte[]>> onTopic(KafkaBrokerProcess broker, String topic,
            List<String> keys, int atLeast, Duration timeout) {
        return TopicReader.read(broker.bootstrapServers(), topic, atLeast, r -> keys.contains(r.key()), timeout);
    }

    @Test
    void lostAcknowledgementsAndBrokerCrashesNeitherLoseNorRepeatARecord() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "kafka-faults-");
        try (KafkaResponseProxy proxy = KafkaResponseProxy.open();
                SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().withProxiedListener(proxy.port());
                // the trainer reaches the broker only through the proxy; everyone else directly
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", "127.0.0.1:" + proxy.port())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY)
                        .with("trainer.publish.max-backoff", "2s");
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.targets.default.data-dir", SAMPLE)
                        .with("transfer.targets.default.classes", "5,6")
                        .with("transfer.targets.default.epochs", "1")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam")) {
            proxy.forwardTo(broker.proxiedListenerPort());
            broker.start();
            ScaleOutIT.startAll(trainer, transfer);
            List<String> bases = new ArrayList<>();

            // 1. the duplicate window: appended, acknowledgement lost, trainer SIGKILLed before it hears of it
            proxy.holdProduceResponses();
            String lostAck = submit(trainer, 1);
            bases.add(lostAck);
            await().atMost(JOB).pollInterval(Duration.ofMillis(100)).until(() -> proxy.heldProduceResponses() >= 1);
            // the broker has it (read past the proxy), the trainer does not know
            assertThat(onTopic(broker, "feature-weights", List.of(lostAck), 1, Duration.ofSeconds(20))).hasSize(1);
            JsonPath unacknowledged = json(trainer.url() + "/api/v1/trainings/" + lostAck);
            assertThat(unacknowledged.getString("state")).as(unacknowledged.prettify()).isEqualTo("PUBLISH_PENDING");
            trainer.kill();
            proxy.passThrough();
            trainer.start();
            JsonPath found = awaitState(trainer.url() + "/api/v1/trainings/" + lostAck, Duration.ofSeconds(90),
                    "SUCCEEDED");
            long lostAckOffset = onTopic(broker, "feature-weights", List.of(lostAck), 1, Duration.ofSeconds(20))
                    .get(0).offset();
            // the status points at the one record the killed process sent
            assertThat(found.getLong("published.offset")).isEqualTo(lostAckOffset);

            // 2. the broker SIGKILLed with an envelope appended and unacknowledged, restarted on the same data
            proxy.holdProduceResponses();
            int heldBefore = proxy.heldProduceResponses();
            String brokerCrash = submit(trainer, 2);
            bases.add(brokerCrash);
            await().atMost(JOB).pollInterval(Duration.ofMillis(100))
                    .until(() -> proxy.heldProduceResponses() > heldBefore);
            broker.kill();
            proxy.passThrough();
            broker.start();
            awaitState(trainer.url() + "/api/v1/trainings/" + brokerCrash, Duration.ofSeconds(120), "SUCCEEDED");

            // 3. the broker SIGKILLed while transfer-service consumes: just after the job for the envelope exists
            String consumed = submit(trainer, 3);
            bases.add(consumed);
            await().atMost(JOB).pollInterval(Duration.ofMillis(20))
                    .until(() -> !transfersOf(transfer, consumed).isEmpty());
            broker.kill();
            String consumedJob = transfersOf(transfer, consumed).get(0);
            // the transfer finishes while the broker is away: its result waits in the outbox
            JsonPath finishedAlone = awaitState(transfer.url() + "/api/v1/transfers/" + consumedJob, JOB, "SUCCEEDED",
                    "FAILED");
            assertThat(finishedAlone.getString("state")).as(finishedAlone.prettify()).isEqualTo("SUCCEEDED");
            assertThat(finishedAlone.getBoolean("resultPublished")).isFalse();
            broker.start();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                    .until(() -> json(transfer.url() + "/api/v1/transfers/" + consumedJob).getBoolean("resultPublished"));

            // every transfer done, exactly one per base model
            List<String> transferIds = new ArrayList<>();
            for (String base : bases) {
                await().atMost(Duration.ofSeconds(60)).until(() -> !transfersOf(transfer, base).isEmpty());
                String id = transfersOf(transfer, base).get(0);
                transferIds.add(id);
                JsonPath done = awaitState(transfer.url() + "/api/v1/transfers/" + id, JOB, "SUCCEEDED", "FAILED");
                assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> json(transfer.url() + "/api/v1/transfers/" + id).getBoolean("resultPublished"));
            }
            // the redelivered record (if the kill beat the offset commit) is recognised: no second job, ever
            Thread.sleep(3000);
            Map<Object, Long> jobsPerBase = json(transfer.url() + "/api/v1/transfers").getList("baseModelId")
                    .stream().collect(Collectors.groupingBy(b -> b, Collectors.counting()));
            assertThat(jobsPerBase).containsOnlyKeys(bases.toArray()).allSatisfy((b, n) -> assertThat(n).isEqualTo(1L));

            // the topics: one more than expected is asked for, so that each reader reads its whole timeout and
            // would see a duplicate
            assertThat(onTopic(broker, "feature-weights", bases, bases.size() + 1, Duration.ofSeconds(10)))
                    .extracting(ConsumerRecord::key).containsExactlyInAnyOrderElementsOf(bases);
            assertThat(onTopic(broker, "transfer-results", transferIds, transferIds.size() + 1,
                    Duration.ofSeconds(10))).extracting(ConsumerRecord::key)
                    .containsExactlyInAnyOrderElementsOf(transferIds);
        }
    }
}
