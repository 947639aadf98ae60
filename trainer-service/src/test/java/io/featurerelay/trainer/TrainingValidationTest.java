package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;

import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Bad input gets a 400 problem body naming the field; unknown ids 404; a full queue 429. */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class TrainingValidationTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{\"epochs\":0}|epochs|epochs must be between 1 and 3",
        "{\"epochs\":4}|epochs|epochs must be between 1 and 3",
        "{\"batchSize\":0}|batchSize|batchSize must be between 1",
        "{\"batchSize\":-5}|batchSize|batchSize must be between 1",
        "{\"dataset\":\"imagenet\"}|dataset|unknown dataset 'imagenet'",
        "{\"classes\":[]}|classes|classes must not be empty",
        "{\"classes\":[1,2,1]}|classes[2]|class 1 is listed twice",
        "{\"classes\":[0,10]}|classes[1]|class 10 is out of range 0..9",
        "{\"dataDir\":\"/nonexistent/feature-relay\"}|dataDir|does not exist or is not readable",
        "{\"dataDir\":\"../learning-core/../../etc\"}|dataDir|dataDir contains a '..' segment",
        "{\"dataDir\":\"data\\u0000x\"}|dataDir|dataDir contains a NUL character at 4",
        "{\"dataDir\":\"donn\u00e9es\"}|dataDir|dataDir contains a non-ASCII character at 4",
        "{\"optimizer\":\"sgd\"}|optimizer|optimizer must be adadelta or adam",
        "{\"learningRate\":0}|learningRate|learningRate must be in (0, 10]",
        "{\"epochs\":\"many\"}|epochs|field epochs is invalid",
        "{\"classes\":[0,\"x\"]}|classes[1]|field classes[1] is invalid",
        "{\"epoch\":2}|epoch|unknown field epoch",
        "{\"spec\":{\"inputShape\":[1,28,28],\"convFilters\":[8],\"kernel\":0,\"pool\":2,\"convDropout\":0,\"denseUnits\":8,\"denseDropout\":0,\"numClasses\":5}}|spec|kernel must be in 1..11",
        "{\"batchSize\":2048}|batchSize|more than the 1024 MiB this process may use; a batch size of at most",
        "{\"spec\":{\"inputShape\":[1,28,28],\"convFilters\":[1024,1024],\"kernel\":3,\"pool\":1,\"convDropout\":0,\"denseUnits\":2048,\"denseDropout\":0,\"numClasses\":5}}|spec|not even a batch of 1 fits",
        "{\"spec\":{\"inputShape\":[3,32,32],\"convFilters\":[8],\"kernel\":3,\"pool\":2,\"convDropout\":0,\"denseUnits\":8,\"denseDropout\":0,\"numClasses\":5}}|spec.inputShape|spec reads 3x32x32 images",
    })
    void badRequestsNameTheField(String body, String field, String detail) {
        given().contentType(ContentType.JSON).body(body).when().post("/api/v1/trainings").then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("status", equalTo(400))
                .body("field", equalTo(field))
                .body("detail", containsString(detail))
                .body("instance", equalTo("/api/v1/trainings"));
    }

    @Test
    void malformedJsonIsA400NotA500() {
        given().contentType(ContentType.JSON).body("{\"epochs\": 1,").when().post("/api/v1/trainings").then()
                .statusCode(400).contentType("application/problem+json")
                .body("title", equalTo("Malformed JSON"));
        given().contentType(ContentType.JSON).body("[1,2]").when().post("/api/v1/trainings").then()
                .statusCode(400).contentType("application/problem+json");
    }

    /**
     * A path segment that cannot be a job id (uppercase, a dot, NUL, a backslash, non-ASCII, too long) is a 400
     * naming {@code id}, on every resource that takes one, before it reaches a statement or a response header.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "Base-1|must start with a lowercase letter or a digit",
        "base.1|may hold only lowercase letters, digits and dashes",
        "a%00b|contains a NUL character at 1",
        "a%5Cb|contains a path separator at 1",
        "caf%C3%A9|contains a non-ASCII character at 3",
        "a%0Ab|contains a control character at 1",
    })
    void idsThatCannotNameAJobAre400NamingTheField(String segment, String detail) {
        for (String path : new String[] {"/api/v1/trainings/" + segment, "/api/v1/trainings/" + segment + "/model",
                "/api/v1/trainings/" + segment + "/envelope"}) {
            given().urlEncodingEnabled(false).when().get(path).then().statusCode(400)
                    .contentType("application/problem+json")
                    .body("field", equalTo("id")).body("detail", containsString(detail));
        }
        given().urlEncodingEnabled(false).when().delete("/api/v1/trainings/" + segment).then().statusCode(400)
                .body("field", equalTo("id"));
    }

    @Test
    void anOverLongIdIsA400() {
        given().when().get("/api/v1/trainings/" + "x".repeat(128)).then().statusCode(400)
                .body("field", equalTo("id")).body("detail", containsString("is longer than 127 characters"));
        given().when().get("/api/v1/trainings/" + "x".repeat(127)).then().statusCode(404);
    }

    @Test
    void unknownIdsAre404() {
        given().when().get("/api/v1/trainings/base-nope").then().statusCode(404)
                .contentType("application/problem+json").body("detail", containsString("base-nope"))
                .body("field", nullValue());
        given().when().delete("/api/v1/trainings/base-nope").then().statusCode(404);
        given().when().get("/api/v1/trainings/base-nope/model").then().statusCode(404);
    }

    @Test
    void fullQueueAnswers429AndCancelStopsQueuedAndRunningJobs() {
        // one worker, two places in the queue (test profile): the fourth job does not fit
        String running = TrainingApi.submit("{\"epochs\":3,\"batchSize\":8}");
        TrainingApi.awaitState(running, Duration.ofSeconds(60), "RUNNING");
        String queued1 = TrainingApi.submit("{\"epochs\":1}");
        String queued2 = TrainingApi.submit("{\"epochs\":1}");
        given().contentType(ContentType.JSON).body("{\"epochs\":1}").when().post("/api/v1/trainings").then()
                .statusCode(429).contentType("application/problem+json")
                .body("detail", containsString("queue is full"));
        given().when().get("/api/v1/trainings").then().statusCode(200)
                .body("find { it.id == '" + queued1 + "' }.state", equalTo("QUEUED"));

        given().when().delete("/api/v1/trainings/" + queued2).then().statusCode(200).body("state",
                equalTo("CANCELLED"));
        given().when().delete("/api/v1/trainings/" + queued1).then().statusCode(200);
        given().when().delete("/api/v1/trainings/" + running).then().statusCode(200);
        TrainingApi.awaitState(running, Duration.ofSeconds(60), "CANCELLED");
        TrainingApi.awaitState(queued1, Duration.ofSeconds(10), "CANCELLED");
        given().when().delete("/api/v1/trainings/" + running).then().statusCode(409);
        given().when().get("/api/v1/trainings/" + running + "/model").then().statusCode(404);
    }
}
