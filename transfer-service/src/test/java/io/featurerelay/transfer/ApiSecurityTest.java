package io.featurerelay.transfer;

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

/**
 * The other settings of the API token: reads protected too ({@code featurerelay.protect-reads}), predictions
 * open ({@code featurerelay.protect-predictions=false}); probes and metrics stay open whatever is set.
 */
@QuarkusTest
@TestProfile(ApiSecurityTest.ReadsProtectedPredictionsOpen.class)
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class ApiSecurityTest {

    public static class ReadsProtectedPredictionsOpen implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("featurerelay.api-token", "t0ken", "featurerelay.protect-reads", "true",
                    "featurerelay.protect-predictions", "false");
        }
    }

    @Test
    void readsNeedTheTokenPredictionsDoNot() {
        given().get("/api/v1/transfers").then().statusCode(401).contentType("application/problem+json")
                .body("field", equalTo("Authorization"));
        given().header("Authorization", "Bearer t0ken").get("/api/v1/transfers").then().statusCode(200);
        given().header("X-API-Key", "t0ken").get("/api/v1/base-models").then().statusCode(200);
        // predictions are open: no 401, the unknown transfer's 404
        given().contentType("image/png").body(new byte[] {1}).post("/api/v1/transfers/transfer-none/predictions")
                .then().statusCode(404);
        // re-runs are not
        given().contentType(ContentType.JSON).body("{\"baseModelId\":\"base-none\"}").post("/api/v1/transfers")
                .then().statusCode(401);
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/metrics").then().statusCode(200);
    }
}
