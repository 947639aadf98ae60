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
import io.featurerelay.service.testing.MetricsText;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.path.json.config.JsonPathConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A learning curve end to end through the API, on the committed sample with small budgets and one epoch: every
 * point of model 2, the fine-tuned model and the baseline at each budget, in REST and in the metrics; listed apart
 * from transfers; cancelled; and every bad field named.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class LearningCurveTest {

    static final String BASE = "base-curve-1";

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    static JsonPath curve(String id) {
        String body = given().get("/api/v1/learning-curves/" + id).then().statusCode(200).extract().asString();
        return JsonPath.from(body).using(JsonPathConfig.jsonPathConfig()
                .numberReturnType(JsonPathConfig.NumberReturnType.DOUBLE));
    }

    static JsonPath awaitFinal(String id) {
        await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(500))
                .until(() -> List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(curve(id).getString("state")));
        return curve(id);
    }

    /** The base model stored, and its configured target's job cancelled: the curves need the worker. */
    void storeBase() throws Exception {
        TestEnvelopes.ensureStored(broker.bootstrapServers(), BASE);
    }

    @Test
    void aCurveTrainsEveryRoleAtEveryBudget() throws Exception {
        storeBase();
        var response = given().contentType(ContentType.JSON).body("{\"baseModelId\":\"" + BASE + "\","
                + "\"budgets\":[20,5],\"epochs\":1,\"batchSize\":16,\"fineTuneEpochs\":1}").when()
                .post("/api/v1/learning-curves").then().statusCode(202).contentType(ContentType.JSON).extract();
        String id = response.path("id");
        assertThat(id).startsWith("curve-");
        assertThat(response.header("Location")).endsWith("/api/v1/learning-curves/" + id);
        JsonPath s = awaitFinal(id);
        assertThat(s.getString("state")).as(s.prettify()).isEqualTo("SUCCEEDED");
        // smallest budget first
        assertThat(s.getList("parameters.budgets", Integer.class)).containsExactly(5, 20);
        assertThat(s.getString("lineage.id")).isEqualTo(BASE);
        List<Map<String, Object>> points = s.getList("points");
        assertThat(points).hasSize(6);
        assertThat(points).extracting(p -> p.get("budget") + "/" + p.get("role")).containsExactly("5/transfer",
                "5/fine-tune", "5/scratch", "20/transfer", "20/fine-tune", "20/scratch");
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (int i = 0; i < points.size(); i++) {
            String budget = s.getString("points[" + i + "].budget");
            String role = s.getString("points[" + i + "].role");
            assertThat(s.getDouble("points[" + i + "].imagesPerClass")).isEqualTo(Double.parseDouble(budget));
            assertThat(s.getList("points[" + i + "].history")).hasSize(1);
            double accuracy = s.getDouble("points[" + i + "].finalAccuracy");
            assertThat(accuracy).isEqualTo(s.getDouble("points[" + i + "].history[0].validationAccuracy"))
                    .isBetween(0.0, 1.0);
            assertThat(s.getDouble("points[" + i + "].seconds")).isPositive();
            assertThat(MetricsText.value(metrics, "featurerelay_learning_curve_accuracy", "curve", id, "base_run",
                    BASE, "role", role, "budget", budget)).isEqualTo(accuracy);
            assertThat(MetricsText.value(metrics, "featurerelay_learning_curve_seconds", "curve", id, "role", role,
                    "budget", budget)).isEqualTo(s.getDouble("points[" + i + "].seconds"));
            assertThat(MetricsText.value(metrics, "featurerelay_learning_curve_images_per_class", "curve", id,
                    "budget", budget)).isEqualTo(Double.parseDouble(budget));
        }
        assertThat(MetricsText.value(metrics, "featurerelay_training_progress_ratio", "run", id, "role", "curve"))
                .isEqualTo(1.0);
        // the crossover: the first budget where scratch reaches model 2, as the points say
        Double crossover = null;
        for (String budget : List.of("5", "20")) {
            double transfer = s.getDouble("points.find { it.budget == '" + budget + "' && it.role == 'transfer' }"
                    + ".finalAccuracy");
            double scratch = s.getDouble("points.find { it.budget == '" + budget + "' && it.role == 'scratch' }"
                    + ".finalAccuracy");
            if (crossover == null && scratch >= transfer) {
                crossover = Double.parseDouble(budget);
            }
        }
        if (crossover == null) {
            assertThat(s.getString("crossover")).isNull();
        } else {
            assertThat(s.getDouble("crossover.imagesPerClass")).isEqualTo(crossover);
            assertThat(s.getString("crossover.role")).isEqualTo("scratch");
        }

        // listed with the curves, not with the transfers
        assertThat(given().get("/api/v1/learning-curves").then().statusCode(200).extract().jsonPath()
                .getList("id")).contains(id);
        assertThat(given().get("/api/v1/transfers").then().statusCode(200).extract().jsonPath().getList("id"))
                .doesNotContain(id);
        given().get("/api/v1/transfers/" + id).then().statusCode(404);
        given().delete("/api/v1/learning-curves/" + id).then().statusCode(409);
    }

    @Test
    void aCurveIsCancelled() throws Exception {
        storeBase();
        String id = given().contentType(ContentType.JSON).body("{\"baseModelId\":\"" + BASE + "\","
                + "\"budgets\":[0,10],\"epochs\":2,\"batchSize\":16}").when().post("/api/v1/learning-curves").then()
                .statusCode(202).extract().path("id");
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
                .until(() -> curve(id).getString("progress.role") != null);
        JsonPath running = curve(id);
        assertThat(running.getDouble("progress.points")).isEqualTo(4.0);
        assertThat(running.getDouble("progress.fractionDone")).isBetween(0.0, 1.0);
        given().delete("/api/v1/learning-curves/" + id).then().statusCode(200).body("id", equalTo(id));
        assertThat(awaitFinal(id).getString("state")).isEqualTo("CANCELLED");
    }

    @Test
    void badCurveRequestsNameTheField() throws Exception {
        storeBase();
        String base = "\"baseModelId\":\"" + BASE + "\"";
        for (String[] bad : new String[][] {
                {"{}", "baseModelId"},
                {"{" + base + "}", "budgets"},
                {"{" + base + ",\"budgets\":[]}", "budgets"},
                {"{" + base + ",\"budgets\":[1,2,3,4,5,6,7,8,9,10,11]}", "budgets"},
                {"{" + base + ",\"budgets\":[-5]}", "budgets"},
                {"{" + base + ",\"budgets\":[10,10]}", "budgets"},
                // the sample holds 400 training images of each class
                {"{" + base + ",\"budgets\":[10,401]}", "budgets"},
                {"{" + base + ",\"budgets\":[10],\"epochs\":9}", "epochs"},
                {"{" + base + ",\"budgets\":[10],\"fineTuneEpochs\":-1}", "fineTuneEpochs"},
                {"{" + base + ",\"budgets\":[10],\"classes\":[5]}", "classes"},
                {"{\"baseModelId\":\"base-unknown\",\"budgets\":[10]}", "baseModelId"}}) {
            given().contentType(ContentType.JSON).body(bad[0]).when().post("/api/v1/learning-curves").then()
                    .statusCode(400).contentType("application/problem+json").body("field", equalTo(bad[1]));
        }
        given().contentType(ContentType.JSON).body("{" + base + ",\"budgets\":[10,401]}").when()
                .post("/api/v1/learning-curves").then().body("detail", containsString("has 400 training images"));
        given().get("/api/v1/learning-curves/curve-nope").then().statusCode(404)
                .contentType("application/problem+json");
        given().get("/api/v1/learning-curves/transfer-nope").then().statusCode(404);
        given().delete("/api/v1/learning-curves/curve-nope").then().statusCode(404);
    }
}
