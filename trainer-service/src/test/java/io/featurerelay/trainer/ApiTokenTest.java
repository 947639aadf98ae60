package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;

import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With an API token configured, POST and DELETE need it (as a bearer token or an API key); reads stay open. */
@QuarkusTest
@TestProfile(ApiTokenTest.WithToken.class)
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class ApiTokenTest {

    public static class WithToken implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("featurerelay.api-token", "s3cret-token");
        }
    }

    @Test
    void mutatingRequestsNeedTheToken() {
        given().contentType(ContentType.JSON).body("{\"epochs\":0}").when().post("/api/v1/trainings").then()
                .statusCode(401).contentType("application/problem+json").header("WWW-Authenticate", "Bearer")
                .body("field", equalTo("Authorization"));
        given().header("Authorization", "Bearer wrong").contentType(ContentType.JSON).body("{\"epochs\":0}")
                .when().post("/api/v1/trainings").then().statusCode(401)
                .body("detail", equalTo("the API token is not valid"));
        given().when().delete("/api/v1/trainings/base-x").then().statusCode(401);
        // with the token the request reaches validation
        given().header("Authorization", "Bearer s3cret-token").contentType(ContentType.JSON).body("{\"epochs\":0}")
                .when().post("/api/v1/trainings").then().statusCode(400).body("field", equalTo("epochs"));
        // or as an API key
        given().header("X-API-Key", "s3cret-token").contentType(ContentType.JSON).body("{\"epochs\":0}")
                .when().post("/api/v1/trainings").then().statusCode(400).body("field", equalTo("epochs"));
        given().header("X-API-Key", "s3cret-tokeN").contentType(ContentType.JSON).body("{\"epochs\":0}")
                .when().post("/api/v1/trainings").then().statusCode(401).body("field", equalTo("X-API-Key"));
        // reads, health and metrics stay open (featurerelay.protect-reads is false by default)
        given().when().get("/api/v1/trainings").then().statusCode(200);
        given().when().get("/q/health/live").then().statusCode(200);
        given().when().get("/q/metrics").then().statusCode(200);
    }
}
