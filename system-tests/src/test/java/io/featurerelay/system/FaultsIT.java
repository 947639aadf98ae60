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
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Faults with real processes and nothing mocked: a broker that is not there when the services start, a broker
 * that goes away while an envelope is being published (with the trainer alive, and with the trainer killed
 * by SIGKILL before Kafka acknowledged it), and transfer-service killed by SIGKILL in the middle of a transfer.
 * Nothing is lost and nothing is done twice: every envelope reaches the topic exactly once, every base model
 * gets exactly one transfer job per target, and every job completes.
 */
class FaultsIT {

    private static final Duration TRAINING = Duration.ofMinutes(3);

    private static String train(ServiceProcess trainer, int seed) {
        return given().baseUri(trainer.url()).contentType(ContentType.JSON)
                .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"seed\":" + seed + "}")
                .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
    }

    private static String training(ServiceProcess trainer, String id) {
        return trainer.url() + "/api/v1/trainings/" + id;
    }

    /** The transfer jobs of one base model (one per target task is right). */
    private static List<String> transfersOf(ServiceProcess transfer, String base) {
        return json(transfer.url() + "/api/v1/transfers").getList("findAll { it.baseModelId == '" + base + "' }.id");
    }

    @Test
    void brokerOutagesAndKilledServicesLoseNothingAndRepeatNothing() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "faults-");
        try (SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts();
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY)
                        .with("trainer.publish.max-backoff", "2s");
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.targets.default.data-dir", SAMPLE)
                        // the plain path and three epochs: a job long enough to be killed in the middle
                        .with("transfer.targets.default.featurized", "false")
                        .with("transfer.targets.default.epochs", "3")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam")) {

            // 1. no broker yet: both services start and are alive; the trainer is ready (its envelopes wait in the
            // outbox, so it keeps serving), the transfer service, which consumes, is not
            trainer.startAlive();
            transfer.startAlive();
            await().atMost(Duration.ofSeconds(30)).until(() -> trainer.readiness() == 200);
            assertThat(transfer.readiness()).as("transfer ready without Kafka").isEqualTo(503);
            JsonPath health = given().baseUri(transfer.url()).get("/q/health/ready").then().extract().jsonPath();
            assertThat(health.getString("status")).isEqualTo("DOWN");
            // the broker comes: both become ready by themselves
            broker.start();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500))
                    .until(() -> trainer.readiness() == 200 && transfer.readiness() == 200);

            // 2. the broker goes away while an envelope is published, and comes back: the trainer's retries
            // deliver it
            broker.stop();
            String retried = train(trainer, 1);
            JsonPath pending = awaitState(training(trainer, retried), TRAINING, "PUBLISH_PENDING", "SUCCEEDED",
                    "FAILED");
            assertThat(pending.getString("state")).as(pending.prettify()).isEqualTo("PUBLISH_PENDING");
            await().atMost(Duration.ofSeconds(60)).until(() -> json(training(trainer, retried))
                    .getInt("publishAttempts") >= 2);
            broker.start();
            assertThat(awaitState(training(trainer, retried), Duration.ofSeconds(90), "SUCCEEDED").getLong(
                    "published.offset")).isNotNegative();

            // 3. transfer-service is killed in the middle of the transfer of that base model; it stays down
            // while the next one is published
            await().atMost(Duration.ofSeconds(60)).until(() -> transfersOf(transfer, retried).size() == 1);
            String interrupted = transfersOf(transfer, retried).get(0);
            await().atMost(TRAINING).pollInterval(Duration.ofMillis(50)).until(() -> {
                JsonPath s = json(transfer.url() + "/api/v1/transfers/" + interrupted);
                assertThat(s.getString("state")).as("transfer %s finished before it could be killed", interrupted)
                        .isIn("QUEUED", "RUNNING");
                return "RUNNING".equals(s.getString("state")) && s.get("progress") != null;
            });
            transfer.kill();

            // 4. the broker goes away again, and the trainer is killed before Kafka acknowledged the envelope:
            // the stored envelope is published when the trainer starts again
            broker.stop();
            String killed = train(trainer, 2);
            JsonPath unacknowledged = awaitState(training(trainer, killed), TRAINING, "PUBLISH_PENDING", "SUCCEEDED",
                    "FAILED");
            assertThat(unacknowledged.getString("state")).as(unacknowledged.prettify()).isEqualTo("PUBLISH_PENDING");
            String sha = unacknowledged.getString("envelopeSha256");
            trainer.kill();
            broker.start();
            trainer.start();
            JsonPath republished = awaitState(training(trainer, killed), Duration.ofSeconds(90), "SUCCEEDED");
            assertThat(republished.getString("envelopeSha256")).isEqualTo(sha);

            // each envelope is on the topic exactly once, as the trainer signed it
            var records = TopicReader.read(broker.bootstrapServers(), "feature-weights", 3,
                    r -> Set.of(retried, killed).contains(r.key()), Duration.ofSeconds(20));
            assertThat(records).extracting(r -> r.key()).containsExactlyInAnyOrder(retried, killed);
            assertThat(records).filteredOn(r -> r.key().equals(killed)).singleElement()
                    .satisfies(r -> assertThat(FeatureWeightsCodec.sha256(r.value())).isEqualTo(sha));

            // 5. transfer-service comes back: the interrupted job runs again from the envelope it had stored
            // before acknowledging the record, and the envelope published while it was down is consumed
            transfer.start();
            for (String base : List.of(retried, killed)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> transfersOf(transfer, base).size() == 1);
                String id = transfersOf(transfer, base).get(0);
                JsonPath done = awaitState(transfer.url() + "/api/v1/transfers/" + id, TRAINING, "SUCCEEDED",
                        "FAILED");
                assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
                assertThat(done.getList("transferHistory")).hasSize(3);
                assertThat(done.getList("scratchHistory")).hasSize(3);
            }
            assertThat(transfersOf(transfer, retried)).containsExactly(interrupted);
            // one job per base model, each base model stored once
            List<String> bases = json(transfer.url() + "/api/v1/base-models").getList("id");
            assertThat(bases).containsOnlyOnce(retried, killed);
            Set<String> shas = json(transfer.url() + "/api/v1/base-models").getList("sha256", String.class).stream()
                    .collect(Collectors.toSet());
            assertThat(shas).contains(sha);
        }
    }
}
