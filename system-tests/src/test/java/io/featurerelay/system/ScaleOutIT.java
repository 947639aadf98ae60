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
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of trainer-service and two of transfer-service as processes, on one real PostgreSQL and one real
 * Kafka broker: they behave as one service each (jobs spread over both, every answer the same from both), a
 * replica killed with SIGKILL in the middle of a job loses nothing (another takes the job over and resumes it
 * from its last checkpoint: the epochs before the kill are not trained again), and a PostgreSQL restart during
 * a training costs nothing but 503s while it is away.
 */
class ScaleOutIT {

    private static final Duration JOB = Duration.ofMinutes(4);
    /** Classes 0 and 1 of the sample: 800 training images, a few seconds an epoch. */
    private static final String SHORT_TRAINING =
            "{\"epochs\":%d,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1],\"seed\":%d}";

    private static String submit(ServiceProcess trainer, int epochs, int seed) {
        return given().baseUri(trainer.url()).contentType(ContentType.JSON)
                .body(SHORT_TRAINING.formatted(epochs, seed))
                .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
    }

    private static List<Map<String, Object>> transfersOf(ServiceProcess transfer, String base) {
        return json(transfer.url() + "/api/v1/transfers").getList("findAll { it.baseModelId == '" + base + "' }");
    }

    private static String transferOf(ServiceProcess transfer, String base) {
        await().atMost(Duration.ofSeconds(60)).until(() -> transfersOf(transfer, base).size() == 1);
        return (String) transfersOf(transfer, base).get(0).get("id");
    }

    private static byte[] download(ServiceProcess service, String path) {
        return given().baseUri(service.url()).get(path).then().statusCode(200).extract().asByteArray();
    }

    private static byte[] png() throws Exception {
        BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        Random random = new Random(7);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v = (x > 6 && x < 21 && y > 3 && y < 25) ? 150 + random.nextInt(100) : random.nextInt(20);
                image.getRaster().setSample(x, y, 0, v);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    /** Starts the services side by side: four JVMs one after the other would take minutes on two cores. */
    static void startAll(ServiceProcess... services) {
        List<CompletableFuture<ServiceProcess>> starting = new ArrayList<>();
        for (ServiceProcess s : services) {
            starting.add(CompletableFuture.supplyAsync(s::start));
        }
        starting.forEach(CompletableFuture::join);
    }

    @Test
    void twoReplicasOfEachServiceActAsOneAndLoseNothing() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "scale-out-");
        try (SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer0 = trainer(database, broker, work, 0);
                ServiceProcess trainer1 = trainer(database, broker, work, 1);
                ServiceProcess transfer0 = transfer(database, broker, work, 0);
                ServiceProcess transfer1 = transfer(database, broker, work, 1)) {
            startAll(trainer0, trainer1, transfer0, transfer1);
            List<ServiceProcess> trainers = List.of(trainer0, trainer1);
            List<ServiceProcess> transfers = List.of(transfer0, transfer1);

            // 1. four trainings submitted alternately to both trainers run on both; their transfers on both
            List<String> bases = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                bases.add(submit(trainers.get(i % 2), 1, 100 + i));
            }
            Set<String> ranOn = new HashSet<>();
            for (String base : bases) {
                JsonPath done = awaitState(trainer1.url() + "/api/v1/trainings/" + base, JOB, "SUCCEEDED", "FAILED");
                assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
                ranOn.add(done.getString("replica"));
            }
            assertThat(ranOn).as("replicas that ran the four trainings")
                    .containsExactlyInAnyOrder(trainer0.replicaId(), trainer1.replicaId());
            Set<String> transferredOn = new HashSet<>();
            List<String> transferIds = new ArrayList<>();
            for (String base : bases) {
                String id = transferOf(transfer0, base);
                transferIds.add(id);
                JsonPath done = awaitState(transfer1.url() + "/api/v1/transfers/" + id, JOB, "SUCCEEDED", "FAILED");
                assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
                transferredOn.add(done.getString("replica"));
            }
            assertThat(transferredOn).as("replicas that ran the four transfers")
                    .containsExactlyInAnyOrder(transfer0.replicaId(), transfer1.replicaId());

            // every status, list, download and prediction is the same from both replicas of a service
            assertThat(json(trainer0.url() + "/api/v1/trainings").getList("$"))
                    .isEqualTo(json(trainer1.url() + "/api/v1/trainings").getList("$")).hasSize(4);
            for (String base : bases) {
                assertThat(json(trainer0.url() + "/api/v1/trainings/" + base).getMap("$"))
                        .isEqualTo(json(trainer1.url() + "/api/v1/trainings/" + base).getMap("$"));
                String path = "/api/v1/trainings/" + base;
                assertThat(download(trainer0, path + "/model")).isEqualTo(download(trainer1, path + "/model"));
                byte[] envelope = download(trainer1, path + "/envelope");
                assertThat(envelope).isEqualTo(download(trainer0, path + "/envelope"));
                assertThat(FeatureWeightsCodec.sha256(envelope))
                        .isEqualTo(json(trainer0.url() + path).getString("envelopeSha256"));
            }
            assertThat(json(transfer0.url() + "/api/v1/transfers").getList("$"))
                    .isEqualTo(json(transfer1.url() + "/api/v1/transfers").getList("$")).hasSize(4);
            assertThat(json(transfer0.url() + "/api/v1/base-models").getList("$"))
                    .isEqualTo(json(transfer1.url() + "/api/v1/base-models").getList("$")).hasSize(4);
            byte[] image = png();
            for (String id : transferIds) {
                String path = "/api/v1/transfers/" + id;
                assertThat(json(transfer0.url() + path).getMap("$")).isEqualTo(json(transfer1.url() + path).getMap("$"));
                assertThat(download(transfer0, path + "/model")).isEqualTo(download(transfer1, path + "/model"));
                List<Object> predictions = new ArrayList<>();
                for (ServiceProcess t : transfers) {
                    predictions.add(given().baseUri(t.url()).contentType("image/png").body(image)
                            .post(path + "/predictions").then().statusCode(200).extract().jsonPath().getList(
                                    "classes"));
                }
                assertThat(predictions.get(0)).isEqualTo(predictions.get(1));
            }

            // 2. a trainer replica killed in the middle of its second epoch: the other resumes it after epoch 1
            String killedBase = submit(trainer0, 3, 7);
            JsonPath beforeKill = awaitRunningAfterEpochs(trainer0.url() + "/api/v1/trainings/" + killedBase, 1,
                    "history");
            ServiceProcess victim = trainers.stream().filter(t -> t.replicaId().equals(beforeKill.getString("replica")))
                    .findFirst().orElseThrow();
            ServiceProcess survivor = victim == trainer0 ? trainer1 : trainer0;
            Map<String, Object> firstEpoch = beforeKill.getMap("history[0]");
            victim.kill();
            JsonPath resumed = awaitState(survivor.url() + "/api/v1/trainings/" + killedBase, JOB, "SUCCEEDED",
                    "FAILED");
            assertThat(resumed.getString("state")).as(resumed.prettify()).isEqualTo("SUCCEEDED");
            assertThat(resumed.getString("replica")).isEqualTo(survivor.replicaId());
            assertThat(resumed.getInt("attempts")).isEqualTo(2);
            assertThat(resumed.getList("history.epoch", Integer.class)).containsExactly(1, 2, 3);
            // epoch 1 was not trained again: its record is the one the killed replica wrote
            assertThat(resumed.getMap("history[0]")).isEqualTo(firstEpoch);

            // 3. a transfer replica killed in the middle of model 2's second epoch: the other resumes it
            String killedTransfer = transferOf(transfer0, killedBase);
            JsonPath transferBeforeKill = awaitRunningAfterEpochs(transfer0.url() + "/api/v1/transfers/"
                    + killedTransfer, 1, "transferHistory");
            ServiceProcess transferVictim = transfers.stream()
                    .filter(t -> t.replicaId().equals(transferBeforeKill.getString("replica"))).findFirst()
                    .orElseThrow();
            ServiceProcess transferSurvivor = transferVictim == transfer0 ? transfer1 : transfer0;
            Map<String, Object> firstTransferEpoch = transferBeforeKill.getMap("transferHistory[0]");
            transferVictim.kill();
            JsonPath transferResumed = awaitState(transferSurvivor.url() + "/api/v1/transfers/" + killedTransfer,
                    JOB, "SUCCEEDED", "FAILED");
            assertThat(transferResumed.getString("state")).as(transferResumed.prettify()).isEqualTo("SUCCEEDED");
            assertThat(transferResumed.getInt("attempts")).isEqualTo(2);
            assertThat(transferResumed.getList("transferHistory.epoch", Integer.class)).containsExactly(1, 2);
            assertThat(transferResumed.getMap("transferHistory[0]")).isEqualTo(firstTransferEpoch);
            assertThat(transferResumed.getList("scratchHistory")).hasSize(2);

            // 4. PostgreSQL stops during a training and comes back: 503 meanwhile, nothing lost afterwards
            String outage = submit(survivor, 3, 11);
            awaitRunningAfterEpochs(survivor.url() + "/api/v1/trainings/" + outage, 0, "history");
            database.process().stop();
            try {
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    var response = given().baseUri(survivor.url()).get("/api/v1/trainings/" + outage);
                    assertThat(response.statusCode()).isEqualTo(503);
                    assertThat(response.contentType()).startsWith("application/problem+json");
                });
                assertThat(survivor.readiness()).isEqualTo(503);
                given().baseUri(survivor.url()).contentType(ContentType.JSON).body(SHORT_TRAINING.formatted(1, 12))
                        .post("/api/v1/trainings").then().statusCode(503);
                Thread.sleep(3000);
            } finally {
                database.process().start();
            }
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500))
                    .until(() -> survivor.readiness() == 200 && transferSurvivor.readiness() == 200);
            JsonPath afterOutage = awaitState(survivor.url() + "/api/v1/trainings/" + outage, JOB, "SUCCEEDED",
                    "FAILED");
            assertThat(afterOutage.getString("state")).as(afterOutage.prettify()).isEqualTo("SUCCEEDED");
            assertThat(afterOutage.getList("history.epoch", Integer.class)).containsExactly(1, 2, 3);
            String outageTransfer = transferOf(transferSurvivor, outage);
            assertThat(awaitState(transferSurvivor.url() + "/api/v1/transfers/" + outageTransfer, JOB, "SUCCEEDED",
                    "FAILED").getString("state")).isEqualTo("SUCCEEDED");

            // every envelope exactly once on the topic; exactly one transfer job per base model and target
            List<String> all = new ArrayList<>(bases);
            all.add(killedBase);
            all.add(outage);
            // one more than expected: the reader reads the whole timeout, so that a duplicate would be seen
            var records = TopicReader.read(broker.bootstrapServers(), "feature-weights", all.size() + 1,
                    r -> all.contains(r.key()), Duration.ofSeconds(10));
            assertThat(records.stream().map(r -> r.key()).collect(Collectors.toList()))
                    .containsExactlyInAnyOrderElementsOf(all);
            Map<Object, Long> jobsPerBase = json(transferSurvivor.url() + "/api/v1/transfers").getList("baseModelId")
                    .stream().collect(Collectors.groupingBy(b -> b, Collectors.counting()));
            assertThat(jobsPerBase).hasSize(all.size()).allSatisfy((base, n) -> assertThat(n).isEqualTo(1L));
        }
    }

    /** Waits until the job runs with at least {@code epochs} finished epochs (in {@code historyField}). */
    private static JsonPath awaitRunningAfterEpochs(String url, int epochs, String historyField) {
        JsonPath[] seen = new JsonPath[1];
        await().atMost(JOB).pollInterval(Duration.ofMillis(100)).until(() -> {
            JsonPath s = json(url);
            assertThat(s.getString("state")).as("%s finished before it could be interrupted", url)
                    .isIn("QUEUED", "RUNNING");
            seen[0] = s;
            return "RUNNING".equals(s.getString("state")) && s.getList(historyField).size() >= epochs
                    && s.get("progress") != null;
        });
        return seen[0];
    }

    private static ServiceProcess trainer(SystemDatabase database, KafkaBrokerProcess broker, Path work, int i) {
        return database.trainer(new ServiceProcess("trainer-service", work, i))
                .with("kafka.bootstrap.servers", broker.bootstrapServers())
                .with("trainer.data-dir", SAMPLE)
                .with("trainer.signing-key", KEY)
                .with("trainer.publish.max-backoff", "2s");
    }

    private static ServiceProcess transfer(SystemDatabase database, KafkaBrokerProcess broker, Path work, int i) {
        return database.transfer(new ServiceProcess("transfer-service", work, i))
                .with("kafka.bootstrap.servers", broker.bootstrapServers())
                .with("transfer.signing-keys", KEY)
                .with("transfer.targets.default.data-dir", SAMPLE)
                // classes 5 and 6, the plain path and two epochs: short, with an epoch boundary to be killed after
                .with("transfer.targets.default.classes", "5,6")
                .with("transfer.targets.default.featurized", "false")
                .with("transfer.targets.default.epochs", "2")
                .with("transfer.targets.default.batch-size", "32")
                .with("transfer.targets.default.optimizer", "adam");
    }
}
