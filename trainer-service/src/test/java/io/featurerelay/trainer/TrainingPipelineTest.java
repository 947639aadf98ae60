package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.testing.MetricsText;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** With the real broker: a short job trains, stores its model and publishes a verifiable envelope. */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class TrainingPipelineTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @Test
    void jobTrainsPublishesAndExposesItsMetrics() throws Exception {
        String location = given().contentType(ContentType.JSON)
                .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1,2,3,4]}")
                .when().post("/api/v1/trainings").then().statusCode(202)
                .header("Location", containsString("/api/v1/trainings/base-"))
                .extract().header("Location");
        String id = location.substring(location.lastIndexOf('/') + 1);

        JsonPath status = TrainingApi.awaitState(id, Duration.ofMinutes(4), "SUCCEEDED", "FAILED");
        assertThat(status.getString("state")).as(status.prettify()).isEqualTo("SUCCEEDED");
        List<Map<String, Object>> history = status.getList("history");
        assertThat(history).hasSize(1);
        double accuracy = status.getDouble("history[0].validationAccuracy");
        assertThat(accuracy).isGreaterThan(0.5);
        assertThat(status.getInt("progress.batch")).isEqualTo(status.getInt("progress.batches"));
        assertThat(status.getDouble("progress.etaSeconds")).isZero();
        assertThat(status.getLong("summary.totalParams")).isEqualTo(600_165L);
        assertThat(status.getString("published.topic")).isEqualTo(FeatureWeightsTopic.NAME);
        long offset = status.getLong("published.offset");

        List<ConsumerRecord<String, byte[]>> records = TopicReader.read(broker.bootstrapServers(),
                FeatureWeightsTopic.NAME, 1, r -> id.equals(r.key()), Duration.ofSeconds(30));
        assertThat(records).hasSize(1);
        ConsumerRecord<String, byte[]> record = records.get(0);
        assertThat(record.offset()).isEqualTo(offset);
        assertThat(TopicReader.header(record, FeatureWeightsTopic.SCHEMA_HEADER))
                .isEqualTo(FeatureWeightsCodec.SCHEMA_NAME);
        FeatureWeightsCodec.verifySignature(record.value(),
                TopicReader.header(record, FeatureWeightsTopic.SIGNATURE_HEADER),
                "test-signing-key".getBytes(StandardCharsets.UTF_8));
        FeatureWeights weights = new FeatureWeightsCodec().decode(record.value());
        assertThat(weights.header().baseModelId()).isEqualTo(id);
        assertThat(weights.header().dataset().classes()).containsExactly(0, 1, 2, 3, 4);
        assertThat(weights.header().dataset().classNames()).containsExactly("T-shirt/top", "Trouser", "Pullover",
                "Dress", "Coat");
        assertThat(weights.header().history().get(0).validationAccuracy()).isEqualTo(accuracy);
        assertThat(FeatureWeightsCodec.sha256(record.value())).isEqualTo(status.getString("envelopeSha256"));

        byte[] envelopeDownload = given().when().get("/api/v1/trainings/" + id + "/envelope").then().statusCode(200)
                .extract().asByteArray();
        assertThat(envelopeDownload).isEqualTo(record.value());

        byte[] model = given().when().get("/api/v1/trainings/" + id + "/model").then().statusCode(200)
                .contentType("application/zip").extract().asByteArray();
        ModelSpec spec = weights.header().spec();
        Network saved = NetworkFactory.standard().restore(spec, Hyperparameters.defaults(),
                new ByteArrayInputStream(model));
        var savedFeatures = saved.parameters(spec.featureLayers());
        weights.featureParameters().forEach((layer, arrays) -> arrays.forEach((key, values) ->
                assertThat(savedFeatures.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));

        String metrics = given().when().get("/q/metrics").then().statusCode(200).extract().asString();
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_validation_accuracy", "run", id, "role", "base",
                "epoch", "1")).isEqualTo(accuracy);
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_loss", "run", id, "epoch", "1"))
                .isEqualTo(status.getDouble("history[0].loss"));
        assertThat(MetricsText.value(metrics, "featurerelay_epoch_seconds", "run", id, "epoch", "1"))
                .isEqualTo(status.getDouble("history[0].seconds"));
        assertThat(MetricsText.value(metrics, "featurerelay_training_seconds", "run", id, "role", "base"))
                .isEqualTo(status.getDouble("trainingSeconds"));
        assertThat(MetricsText.value(metrics, "featurerelay_model_parameters", "run", id, "kind", "trainable"))
                .isEqualTo(600_165.0);
        assertThat(MetricsText.value(metrics, "featurerelay_model_parameters", "run", id, "kind", "frozen"))
                .isZero();
        assertThat(MetricsText.value(metrics, "featurerelay_training_images_per_second", "run", id)).isPositive();
        assertThat(MetricsText.value(metrics, "featurerelay_envelopes_published_total")).isGreaterThanOrEqualTo(1);
        assertThat(MetricsText.value(metrics, "featurerelay_jobs", "state", "SUCCEEDED")).isGreaterThanOrEqualTo(1);
    }
}
