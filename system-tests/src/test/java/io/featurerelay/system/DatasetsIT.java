package io.featurerelay.system;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.service.testing.SyntheticImages;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every dataset through the services by their default configuration (no target task configured): a CIFAR-10 base
 * and an image-folder base each train, publish, and feed the target derived from their envelope, which trains
 * model 2 and the baseline to SUCCEEDED. CIFAR-10 cannot be downloaded here, so the test writes CIFAR-10 binary
 * batches (1 label byte + 3072 pixel bytes per record) of learnable synthetic images, and an image folder of PNGs.
 */
class DatasetsIT {

    static final String KEY = "datasets-test-key";

    @Test
    void cifar10AndImageFolderBasesTransferByDefault() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "datasets-").toAbsolutePath();
        Path cifar = Files.createDirectories(work.resolve("cifar-10"));
        for (int b = 1; b <= 5; b++) {
            Files.write(cifar.resolve("data_batch_" + b + ".bin"), SyntheticImages.cifarRecords(16, b));
        }
        Files.write(cifar.resolve("test_batch.bin"), SyntheticImages.cifarRecords(10, 99));
        // six classes of 24x24 colour images: the base trains on the first three folders, the target is the rest
        Path folder = work.resolve("images");
        List<String> classes = List.of("circle", "cross", "dot", "ring", "square", "wave");
        for (String split : List.of("train", "test")) {
            for (int c = 0; c < classes.size(); c++) {
                Path dir = Files.createDirectories(folder.resolve(split).resolve(classes.get(c)));
                for (int i = 0; i < (split.equals("train") ? 24 : 8); i++) {
                    SyntheticImages.writePng(dir.resolve(String.format("%03d.png", i)),
                            SyntheticImages.shape(c, 24, 24, 3, i + (split.equals("train") ? 0 : 500)));
                }
            }
        }

        try (SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.signing-key", KEY).start();
                // nothing about targets: each base model's target is derived from its envelope
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.derived-target.epochs", "1")
                        .with("transfer.derived-target.batch-size", "32").start()) {

            String cifarBase = train(trainer, "{\"dataset\": \"cifar-10\", \"dataDir\": \"" + cifar + "\","
                    + " \"classes\": [0, 1, 2, 3, 4], \"epochs\": 1, \"batchSize\": 32, \"optimizer\": \"adam\"}");
            String folderBase = train(trainer, "{\"dataset\": \"image-folder\", \"dataDir\": \"" + folder + "\","
                    + " \"classes\": [0, 1, 2], \"epochs\": 1, \"batchSize\": 16, \"optimizer\": \"adam\"}");

            JsonPath cifarRun = awaitTransfer(trainer, transfer, cifarBase);
            assertThat(cifarRun.getString("parameters.dataset")).isEqualTo("cifar-10");
            assertThat(cifarRun.getString("parameters.dataDir")).isEqualTo(cifar.toString());
            assertThat(cifarRun.getList("parameters.classes", Integer.class)).containsExactly(5, 6, 7, 8, 9);
            assertThat(cifarRun.getList("classNames")).containsExactly("dog", "frog", "horse", "ship", "truck");

            JsonPath folderRun = awaitTransfer(trainer, transfer, folderBase);
            assertThat(folderRun.getString("parameters.dataset")).isEqualTo("image-folder");
            assertThat(folderRun.getList("parameters.classes", Integer.class)).containsExactly(3, 4, 5);
            assertThat(folderRun.getList("classNames")).containsExactly("ring", "square", "wave");
            assertThat(folderRun.getList("lineage.inputShape", Integer.class)).containsExactly(3, 24, 24);

            JsonPath registry = given().baseUri(transfer.url()).get("/api/v1/base-models").then().statusCode(200)
                    .extract().jsonPath();
            for (String base : List.of(cifarBase, folderBase)) {
                assertThat(registry.getList("find { it.id == '" + base + "' }.jobs")).hasSize(1);
                assertThat(registry.getString("find { it.id == '" + base + "' }.noJobReason")).isNull();
            }
        }
    }

    private static String train(ServiceProcess trainer, String body) {
        return given().baseUri(trainer.url()).contentType(ContentType.JSON).body(body).post("/api/v1/trainings")
                .then().statusCode(202).extract().path("id");
    }

    /** The base trains and publishes; its derived transfer starts by itself and succeeds with both histories. */
    private static JsonPath awaitTransfer(ServiceProcess trainer, ServiceProcess transfer, String base) {
        JsonPath trained = PipelineIT.awaitState(trainer.url() + "/api/v1/trainings/" + base, Duration.ofMinutes(5),
                "SUCCEEDED", "FAILED", "CANCELLED");
        assertThat(trained.getString("state")).as(trained.prettify()).isEqualTo("SUCCEEDED");
        await().atMost(Duration.ofSeconds(60)).until(() -> !PipelineIT.json(transfer.url() + "/api/v1/transfers")
                .getList("findAll { it.baseModelId == '" + base + "' }").isEmpty());
        String run = PipelineIT.json(transfer.url() + "/api/v1/transfers")
                .getString("find { it.baseModelId == '" + base + "' }.id");
        assertThat(run).endsWith("-derived");
        JsonPath done = PipelineIT.awaitState(transfer.url() + "/api/v1/transfers/" + run, Duration.ofMinutes(5),
                "SUCCEEDED", "FAILED", "CANCELLED");
        assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
        assertThat(done.getList("transferHistory")).hasSize(1);
        assertThat(done.getList("scratchHistory")).hasSize(1);
        return done;
    }
}
