package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;

import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class HealthTest {

    @Test
    void livenessAndReadinessAreUpAndReadinessLeavesKafkaOut() {
        given().when().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        // the database is what the trainer needs to serve; envelopes wait in the outbox while Kafka is away
        given().when().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"))
                .body("checks.name", hasItem(containsString("Database connections")))
                .body(not(containsString("Kafka"))).body(not(containsString("feature-weights")));
    }

    @Test
    void openApiDescribesTheTrainingsApi() {
        given().when().get("/q/openapi").then().statusCode(200).body(containsString("/api/v1/trainings/{id}/model"));
    }
}
