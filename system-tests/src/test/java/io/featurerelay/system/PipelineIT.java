package io.featurerelay.system;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The pipeline on one machine: the real broker, trainer-service and transfer-service as processes. A base
 * training publishes; the transfer starts by itself and trains model 2 beside the baseline; a transfer
 * interrupted by stopping its service completes after a restart.
 */
class PipelineIT {

    static final String SAMPLE = Path.of("../learning-core/src/test/resources/fashion-mnist-sample").toAbsolutePath()
            .normalize().toString();
    static final String KEY = "system-test-key";

    static JsonPath json(String url) {
        return given().get(url).then().statusCode(200).extract().jsonPath();
    }

    static JsonPath awaitState(String url, Duration timeout, String... states) {
        List<String> wanted = List.of(states);
        await().atMost(timeout).pollInterval(Duration.ofMillis(500))
                .until(() -> wanted.contains(json(url).getString("state")));
        return json(url);
    }

    @Test
    void trainingFeedsATransferThatSurvivesARestart() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "pipeline-");
        try (KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer = new ServiceProcess("trainer-service", work)
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.store-dir", work.resolve("trainer").toString())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY).start();
                ServiceProcess transfer = new ServiceProcess("transfer-service", work)
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.store-dir", work.resolve("transfer").toString())
                        .with("transfer.signing-key", KEY)
                        .with("transfer.targets.default.data-dir", SAMPLE)
                        .with("transfer.targets.default.epochs", "1")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam").start()) {

            String base = given().baseUri(trainer.url()).contentType(ContentType.JSON)
                    .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\"}")
                    .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
            JsonPath trained = awaitState(trainer.url() + "/api/v1/trainings/" + base, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(trained.getString("state")).as(trained.prettify()).isEqualTo("SUCCEEDED");
            Instant publishedAt = Instant.parse(trained.getString("published.at"));

            // the transfer starts by itself
            await().atMost(Duration.ofSeconds(60)).until(() -> !json(transfer.url() + "/api/v1/transfers")
                    .getList("findAll { it.baseModelId == '" + base + "' }").isEmpty());
            String run = json(transfer.url() + "/api/v1/transfers")
                    .getString("find { it.baseModelId == '" + base + "' }.id");
            Instant created = Instant.parse(json(transfer.url() + "/api/v1/transfers/" + run).getString("createdAt"));
            System.out.printf("publish -> transfer job created: %d ms%n",
                    Duration.between(publishedAt, created).toMillis());

            JsonPath done = awaitState(transfer.url() + "/api/v1/transfers/" + run, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
            assertThat(done.getList("transferHistory")).hasSize(1);
            assertThat(done.getList("scratchHistory")).hasSize(1);
            assertThat(done.getString("lineage.sha256")).isEqualTo(trained.getString("envelopeSha256"));
            assertThat(done.getList("lineage.history")).hasSize(1);

            byte[] envelope = given().baseUri(trainer.url()).get("/api/v1/trainings/" + base + "/envelope").then()
                    .statusCode(200).extract().asByteArray();
            byte[] model2 = given().baseUri(transfer.url()).get("/api/v1/transfers/" + run + "/model").then()
                    .statusCode(200).extract().asByteArray();
            FeatureWeights weights = new FeatureWeightsCodec().decode(envelope);
            ModelSpec spec = weights.header().spec();
            var frozen = NetworkFactory.standard().restore(spec, Hyperparameters.defaults(),
                    new ByteArrayInputStream(model2)).parameters(spec.featureLayers());
            weights.featureParameters().forEach((layer, arrays) -> arrays.forEach((key, values) ->
                    assertThat(frozen.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));

            // a re-run is interrupted by stopping the service, and completes after the restart
            String rerun = given().baseUri(transfer.url()).contentType(ContentType.JSON)
                    .body("{\"baseModelId\":\"" + base + "\",\"featurized\":false}")
                    .post("/api/v1/transfers").then().statusCode(202).extract().path("id");
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
                JsonPath s = json(transfer.url() + "/api/v1/transfers/" + rerun);
                return "RUNNING".equals(s.getString("state")) && s.get("progress.batch") != null
                        && s.getInt("progress.batch") >= 5;
            });
            transfer.stop();
            transfer.start();
            JsonPath resumed = awaitState(transfer.url() + "/api/v1/transfers/" + rerun, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(resumed.getString("state")).as(resumed.prettify()).isEqualTo("SUCCEEDED");
            assertThat(resumed.getList("transferHistory")).hasSize(1);
            // the first run is still there, and its base model was not received twice
            assertThat(json(transfer.url() + "/api/v1/transfers/" + run).getString("state")).isEqualTo("SUCCEEDED");
            assertThat(json(transfer.url() + "/api/v1/base-models").getList("id")).containsOnlyOnce(base);
        }
    }
}
