package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.service.testing.MetricsText;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Fine-tuning and label budgets through the API: a re-run with {@code fineTuneEpochs} and {@code trainPerClass}
 * reports the fine-tune role in its status, metrics and result record, stores the fine-tuned model (its features
 * moved, model 2's still the envelope's) and lets predictions choose; bad values get 400s naming the field.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class FineTuneTransferTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @Test
    void fineTuningIsItsOwnRoleEverywhere() throws Exception {
        byte[] envelope = TestEnvelopes.envelope("base-fine-tune-1");
        TestEnvelopes.send(broker.bootstrapServers(), "base-fine-tune-1", envelope, TestEnvelopes.sign(envelope));
        // the configured target's job: fine-tuning is off by default
        String plain = TransferJobTest.awaitJobOf("base-fine-tune-1");
        String tuned = given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-fine-tune-1\","
                + "\"fineTuneEpochs\":1,\"trainPerClass\":40}").when().post("/api/v1/transfers").then()
                .statusCode(202).extract().path("id");
        JsonPath s = TransferJobTest.awaitFinal(tuned);
        assertThat(s.getString("state")).as(s.prettify()).isEqualTo("SUCCEEDED");
        assertThat(s.getInt("parameters.fineTuneEpochs")).isEqualTo(1);
        // Adam at 1e-3 in the test profile: a tenth
        assertThat(s.getDouble("parameters.fineTuneLearningRate")).isEqualTo(1e-4);
        assertThat(s.getInt("parameters.trainPerClass")).isEqualTo(40);
        assertThat(s.getInt("trainImages")).isEqualTo(200);
        assertThat(s.getList("transferHistory")).hasSize(1);
        assertThat(s.getList("scratchHistory")).hasSize(1);
        assertThat(s.getList("fineTuneHistory")).hasSize(1);
        double transferAccuracy = s.getDouble("transferHistory[0].validationAccuracy");
        double fineTuneAccuracy = s.getDouble("fineTuneHistory[0].validationAccuracy");
        assertThat(s.getDouble("comparison[0].fineTuneAccuracy")).isEqualTo(fineTuneAccuracy);
        String best = fineTuneAccuracy > transferAccuracy ? "fine-tune" : "transfer";
        assertThat(s.getString("bestModel")).isEqualTo(best);
        assertThat(s.getString("comparison[0].bestModel")).isEqualTo(best);
        assertThat(s.getDouble("fineTuneSeconds")).isPositive();
        // the images per epoch: 200 a model, so model 2's rate and the others' count the budget's images only
        assertThat(s.getDouble("fineTuneHistory[0].imagesPerSecond") * s.getDouble("fineTuneHistory[0].seconds"))
                .isCloseTo(200.0, org.assertj.core.api.Assertions.within(1.0));

        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_validation_accuracy", "run", tuned, "role",
                "fine-tune", "epoch", "1")).isEqualTo(fineTuneAccuracy);
        assertThat(MetricsText.value(metrics, "featurerelay_training_seconds", "run", tuned, "role", "fine-tune"))
                .isEqualTo(s.getDouble("fineTuneSeconds"));
        assertThat(MetricsText.value(metrics, "featurerelay_model_parameters", "run", tuned, "role", "fine-tune",
                "kind", "trainable")).isEqualTo(600_165.0);
        assertThat(MetricsText.value(metrics, "featurerelay_model_parameters", "run", tuned, "role", "fine-tune",
                "kind", "frozen")).isEqualTo(0.0);
        assertThat(MetricsText.value(metrics, "featurerelay_run_info", "run", tuned, "fine_tune_epochs", "1",
                "train_per_class", "40", "epochs", "1", "optimizer", "adam", "head", "fresh")).isEqualTo(1.0);

        var results = TopicReader.read(broker.bootstrapServers(), TransferResultPublisher.CHANNEL, 1,
                r -> tuned.equals(r.key()), Duration.ofSeconds(30));
        JsonPath result = JsonPath.from(new String(results.get(0).value()));
        assertThat(result.getList("fineTuneHistory")).hasSize(1);
        assertThat(result.getString("bestModel")).isEqualTo(best);
        assertThat(result.getInt("trainPerClass")).isEqualTo(40);

        // model 2 keeps the envelope's features bit for bit; the fine-tuned model moved them
        FeatureWeights weights = new FeatureWeightsCodec().decode(envelope);
        ModelSpec spec = weights.header().spec();
        Network model2 = download(tuned, "", spec);
        Network fineTuned = download(tuned, "?role=fine-tune", spec);
        for (Map.Entry<String, Map<String, float[]>> layer : weights.featureParameters().entrySet()) {
            assertThat(model2.parameters(List.of(layer.getKey())).get(layer.getKey()).get("W"))
                    .isEqualTo(layer.getValue().get("W"));
            assertThat(fineTuned.parameters(List.of(layer.getKey())).get(layer.getKey()).get("W"))
                    .isNotEqualTo(layer.getValue().get("W"));
        }
        given().get("/api/v1/transfers/" + tuned + "/model?role=base").then().statusCode(400)
                .contentType("application/problem+json").body("field", equalTo("role"));

        // predictions: the best model unless told otherwise, and the one asked for
        ImageDataset test = DatasetKind.FASHION_MNIST.load(TestEnvelopes.SAMPLE).test().subset(List.of(5, 6, 7, 8, 9));
        byte[] image = TransferJobTest.png(test, 3);
        given().contentType("image/png").body(image).post("/api/v1/transfers/" + tuned + "/predictions").then()
                .statusCode(200).body("model", equalTo(best));
        for (String model : List.of("transfer", "fine-tune")) {
            given().contentType("image/png").body(image)
                    .post("/api/v1/transfers/" + tuned + "/predictions?model=" + model).then().statusCode(200)
                    .body("model", equalTo(model)).body("predictions.size()", equalTo(5));
        }
        given().contentType("image/png").body(image).post("/api/v1/transfers/" + tuned + "/predictions?model=base")
                .then().statusCode(400).body("field", equalTo("model"));

        // the configured target's job: no fine-tune role, all images
        JsonPath p = TransferJobTest.awaitFinal(plain);
        assertThat(p.getString("state")).isEqualTo("SUCCEEDED");
        assertThat(p.getList("fineTuneHistory")).isEmpty();
        assertThat(p.getString("bestModel")).isEqualTo("transfer");
        assertThat(p.getInt("trainImages")).isEqualTo(2000);
        String after = given().get("/q/metrics").then().extract().asString();
        assertThat(MetricsText.value(after, "featurerelay_run_info", "run", plain, "fine_tune_epochs", "0",
                "train_per_class", "all")).isEqualTo(1.0);
        given().get("/api/v1/transfers/" + plain + "/model?role=fine-tune").then().statusCode(404);
        given().contentType("image/png").body(image).post("/api/v1/transfers/" + plain + "/predictions?model=fine-tune")
                .then().statusCode(400).body("field", equalTo("model"))
                .body("detail", containsString("without fine-tuning"));
    }

    private static Network download(String id, String query, ModelSpec spec) throws Exception {
        byte[] zip = given().get("/api/v1/transfers/" + id + "/model" + query).then().statusCode(200).extract()
                .asByteArray();
        return NetworkFactory.standard().restore(spec, Hyperparameters.defaults(), new ByteArrayInputStream(zip));
    }

    @Test
    void badFineTuneAndBudgetFieldsAreNamed() throws Exception {
        // a stored base model: an unknown one would be the field at fault
        TestEnvelopes.ensureStored(broker.bootstrapServers(), "base-fine-tune-2");
        for (String[] bad : new String[][] {
                {"\"trainPerClass\":-1", "trainPerClass"},
                // the sample holds 400 training images of each class
                {"\"trainPerClass\":401", "trainPerClass"},
                {"\"fineTuneEpochs\":-1", "fineTuneEpochs"},
                {"\"fineTuneEpochs\":9", "fineTuneEpochs"},
                {"\"fineTuneLearningRate\":0.01", "fineTuneLearningRate"},
                {"\"fineTuneEpochs\":1,\"fineTuneLearningRate\":0", "fineTuneLearningRate"},
                {"\"fineTuneEpochs\":\"many\"", null}}) {
            var response = given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-fine-tune-2\"," + bad[0] + "}")
                    .when().post("/api/v1/transfers").then().statusCode(400).contentType("application/problem+json");
            if (bad[1] != null) {
                response.body("field", equalTo(bad[1]));
            }
        }
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-fine-tune-2\",\"trainPerClass\":401}").when()
                .post("/api/v1/transfers").then().body("detail", containsString("has 400 training images"));
    }
}
