package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.testing.MetricsText;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.path.json.config.JsonPathConfig;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** A received base model starts a transfer by itself; model 2 and the baseline train; model 2 predicts. */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class TransferJobTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    static JsonPath status(String id) {
        String body = given().get("/api/v1/transfers/" + id).then().statusCode(200).extract().asString();
        return JsonPath.from(body).using(JsonPathConfig.jsonPathConfig()
                .numberReturnType(JsonPathConfig.NumberReturnType.DOUBLE));
    }

    static String awaitJobOf(String baseModelId) {
        await().atMost(Duration.ofSeconds(90)).until(() -> !given().get("/api/v1/transfers").then().extract()
                .jsonPath().getList("findAll { it.baseModelId == '" + baseModelId + "' }").isEmpty());
        return given().get("/api/v1/transfers").then().extract().jsonPath()
                .getString("find { it.baseModelId == '" + baseModelId + "' }.id");
    }

    static JsonPath awaitFinal(String id) {
        await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofMillis(500))
                .until(() -> List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(status(id).getString("state")));
        return status(id);
    }

    static byte[] png(ImageDataset data, int index) throws IOException {
        BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                int v = data.pixels()[index * 784 + y * 28 + x] & 0xFF;
                image.getRaster().setSample(x, y, 0, v);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    @Test
    void transferTrainsBesideTheBaselineAndPredicts() throws Exception {
        byte[] envelope = TestEnvelopes.envelope("base-transfer-1");
        TestEnvelopes.send(broker.bootstrapServers(), "base-transfer-1", envelope, TestEnvelopes.sign(envelope));
        String id = awaitJobOf("base-transfer-1");
        JsonPath s = awaitFinal(id);

        assertThat(s.getString("state")).as(s.prettify()).isEqualTo("SUCCEEDED");
        assertThat(s.getList("transferHistory")).hasSize(1);
        assertThat(s.getList("scratchHistory")).hasSize(1);
        assertThat(s.getDouble("transferHistory[0].validationAccuracy")).isGreaterThan(0.6);
        assertThat(s.getDouble("comparison[0].transferAccuracy"))
                .isEqualTo(s.getDouble("transferHistory[0].validationAccuracy"));
        assertThat(s.getDouble("comparison[0].scratchAccuracy"))
                .isEqualTo(s.getDouble("scratchHistory[0].validationAccuracy"));
        assertThat(s.getDouble("featurizeSeconds")).isPositive();
        assertThat(s.getDouble("transferSeconds")).isGreaterThan(s.getDouble("featurizeSeconds"));
        assertThat(s.getLong("summary.frozenParams")).isEqualTo(9_568L);
        assertThat(s.getLong("summary.trainableParams")).isEqualTo(590_597L);
        assertThat(s.getList("classNames")).containsExactly("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
        assertThat(s.getString("lineage.id")).isEqualTo("base-transfer-1");
        assertThat(s.getString("lineage.sha256")).isEqualTo(FeatureWeightsCodec.sha256(envelope));
        assertThat(s.getList("lineage.sourceClasses")).hasSize(5);
        assertThat(s.getList("lineage.history")).hasSize(1);

        // frozen parameters of the trained model 2 are the envelope's, bit for bit
        byte[] model = given().get("/api/v1/transfers/" + id + "/model").then().statusCode(200).extract()
                .asByteArray();
        var weights = new FeatureWeightsCodec().decode(envelope);
        ModelSpec spec = weights.header().spec();
        Network model2 = NetworkFactory.standard().restore(spec, Hyperparameters.defaults(),
                new ByteArrayInputStream(model));
        var frozen = model2.parameters(spec.featureLayers());
        weights.featureParameters().forEach((layer, arrays) -> arrays.forEach((key, values) ->
                assertThat(frozen.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));

        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_validation_accuracy", "run", id, "role", "transfer",
                "epoch", "1")).isEqualTo(s.getDouble("transferHistory[0].validationAccuracy"));
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_validation_accuracy", "run", id, "role", "scratch",
                "epoch", "1")).isEqualTo(s.getDouble("scratchHistory[0].validationAccuracy"));
        assertThat(MetricsText.value(metrics, "featurerelay_model_parameters", "run", id, "role", "transfer", "kind",
                "frozen")).isEqualTo(9_568.0);
        assertThat(MetricsText.value(metrics, "featurerelay_training_seconds", "run", id, "role", "scratch"))
                .isEqualTo(s.getDouble("scratchSeconds"));
        assertThat(MetricsText.value(metrics, "featurerelay_run_info", "run", id, "base_run", "base-transfer-1"))
                .isEqualTo(1.0);

        var results = TopicReader.read(broker.bootstrapServers(), TransferResultPublisher.CHANNEL, 1,
                r -> id.equals(r.key()), Duration.ofSeconds(30));
        assertThat(results).hasSize(1);
        JsonPath result = JsonPath.from(new String(results.get(0).value()));
        assertThat(result.getString("baseModelId")).isEqualTo("base-transfer-1");
        assertThat(result.getList("transferHistory")).hasSize(1);
        assertThat(result.getList("scratchHistory")).hasSize(1);

        // predictions on real images of the target classes: right well above chance (0.2)
        ImageDataset test = DatasetKind.FASHION_MNIST.load(TestEnvelopes.SAMPLE).test()
                .subset(List.of(5, 6, 7, 8, 9));
        int correct = 0;
        int tried = 60;
        for (int i = 0; i < tried; i++) {
            int index = i * (test.size() / tried);
            JsonPath p = given().contentType("image/png").body(png(test, index)).when()
                    .post("/api/v1/transfers/" + id + "/predictions").then().statusCode(200).extract().jsonPath();
            assertThat(p.getList("predictions")).hasSize(5);
            if (p.getString("predictions[0].className").equals(test.classNames().get(test.labels()[index]))) {
                correct++;
            }
        }
        assertThat(correct / (double) tried).isGreaterThan(0.6);
    }

    @Test
    void predictionsRejectWhatIsNoImage() throws Exception {
        byte[] envelope = TestEnvelopes.envelope("base-transfer-2");
        TestEnvelopes.send(broker.bootstrapServers(), "base-transfer-2", envelope, TestEnvelopes.sign(envelope));
        String id = awaitJobOf("base-transfer-2");
        given().contentType("image/png").body(new byte[] {1, 2, 3}).when()
                .post("/api/v1/transfers/" + id + "/predictions").then().statusCode(org.hamcrest.Matchers.anyOf(
                        equalTo(400), equalTo(409)));
        given().contentType("image/png").body(new byte[] {1, 2, 3}).when()
                .post("/api/v1/transfers/transfer-nope/predictions").then().statusCode(404)
                .contentType("application/problem+json");
        assertThat(awaitFinal(id).getString("state")).isEqualTo("SUCCEEDED");

        given().contentType("image/png").body("not an image".getBytes()).when()
                .post("/api/v1/transfers/" + id + "/predictions").then().statusCode(400)
                .contentType("application/problem+json").body("field", equalTo("image"))
                .body("detail", containsString("not a PNG or JPEG"));
        given().contentType("image/png").body(new byte[6 << 20]).when()
                .post("/api/v1/transfers/" + id + "/predictions").then().statusCode(413)
                .contentType("application/problem+json");
        // a colour JPEG of another size is converted to the model's 28x28 gray input
        BufferedImage big = new BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(big, "jpg", jpeg);
        given().contentType("image/jpeg").body(jpeg.toByteArray()).when()
                .post("/api/v1/transfers/" + id + "/predictions").then().statusCode(200)
                .body("predictions.size()", equalTo(5));

        // a re-run whose batches would not fit the memory budget (1 GiB in tests) with the base's spec: 400, before
        // anything is queued, naming the field and what would fit
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-transfer-2\",\"batchSize\":2048}")
                .when().post("/api/v1/transfers").then().statusCode(400).contentType("application/problem+json")
                .body("field", equalTo("batchSize"))
                .body("detail", containsString("more than the 1024 MiB this process may use"))
                .body("detail", containsString("a batch size of at most"));

        // a re-run from the stored base: reused head, no baseline
        String rerun = given().contentType(ContentType.JSON)
                .body("{\"baseModelId\":\"base-transfer-2\",\"head\":\"reuse\",\"baseline\":false}")
                .when().post("/api/v1/transfers").then().statusCode(202).extract().path("id");
        JsonPath r = awaitFinal(rerun);
        assertThat(r.getString("state")).isEqualTo("SUCCEEDED");
        assertThat(r.getString("parameters.head")).isEqualTo("reuse");
        assertThat(r.getList("scratchHistory")).isEmpty();
    }

    @Test
    void badRerunRequestsNameTheField() throws Exception {
        // a stored base model (a re-run's defaults come from it); its own job is not this test's subject
        byte[] envelope = TestEnvelopes.envelope("base-rerun-checks");
        TestEnvelopes.send(broker.bootstrapServers(), "base-rerun-checks", envelope, TestEnvelopes.sign(envelope));
        given().delete("/api/v1/transfers/" + awaitJobOf("base-rerun-checks"));
        given().contentType(ContentType.JSON).body("{}").when().post("/api/v1/transfers").then().statusCode(400)
                .contentType("application/problem+json").body("field", equalTo("baseModelId"));
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-unknown\"}").when()
                .post("/api/v1/transfers").then().statusCode(400).body("field", equalTo("baseModelId"));
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-rerun-checks\",\"classes\":[5,5]}").when()
                .post("/api/v1/transfers").then().statusCode(400).body("field", equalTo("classes"));
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-rerun-checks\",\"head\":\"half\"}").when()
                .post("/api/v1/transfers").then().statusCode(400).body("field", equalTo("head"));
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-rerun-checks\",\"epochs\":9}").when()
                .post("/api/v1/transfers").then().statusCode(400).body("field", equalTo("epochs"));
        given().contentType(ContentType.JSON).body("{\"baseModelId\":").when()
                .post("/api/v1/transfers").then().statusCode(400).contentType("application/problem+json");
        given().get("/api/v1/transfers/transfer-nope").then().statusCode(404);
        given().delete("/api/v1/transfers/transfer-nope").then().statusCode(404);
        given().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
    }
}
