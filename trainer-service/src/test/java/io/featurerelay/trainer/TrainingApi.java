package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.path.json.config.JsonPathConfig;
import java.time.Duration;
import java.util.Set;

/** Small helpers over the REST API for the tests. */
final class TrainingApi {

    private TrainingApi() {
    }

    static String submit(String json) {
        return given().contentType(ContentType.JSON).body(json).when().post("/api/v1/trainings").then()
                .statusCode(202).extract().path("id");
    }

    /** The status with numbers as doubles, as the service wrote them (JsonPath reads floats by default). */
    static JsonPath status(String id) {
        String body = given().when().get("/api/v1/trainings/" + id).then().statusCode(200).extract().asString();
        return JsonPath.from(body).using(JsonPathConfig.jsonPathConfig()
                .numberReturnType(JsonPathConfig.NumberReturnType.DOUBLE));
    }

    static JsonPath awaitState(String id, Duration timeout, String... states) {
        Set<String> wanted = Set.of(states);
        await().atMost(timeout).pollInterval(Duration.ofMillis(250))
                .until(() -> wanted.contains(status(id).getString("state")));
        return status(id);
    }
}
