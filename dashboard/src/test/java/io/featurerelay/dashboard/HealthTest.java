package io.featurerelay.dashboard;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;

import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

/** The test profile points the dashboard at ports where nothing listens: it must say so, not fail. */
@QuarkusTest
class HealthTest {

    @Test
    void livenessAndReadinessAreUp() {
        given().when().get("/q/health/live").then().statusCode(200).body("status", equalTo("UP"));
        given().when().get("/q/health/ready").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void unreachableServicesAreReportedAsSuchWithNoRuns() {
        given().when().get("/api/v1/dashboard").then().statusCode(200)
                .body("source", equalTo("direct"))
                .body("sources.name", org.hamcrest.Matchers.contains("trainer-service", "transfer-service"))
                .body("sources.state", everyItem(equalTo("UNREACHABLE")))
                .body("baseRuns", empty())
                .body("transfers", empty());
        given().when().get("/api/v1/dashboard/transfers/transfer-x/summary").then().statusCode(502)
                .body("detail", containsString("unreachable"));
    }

    @Test
    void pageAndChartLibraryAreServed() {
        given().when().get("/").then().statusCode(200).body(containsString("id=\"base-accuracy\""));
        given().when().get("/webjars/chart.js/4.4.7/dist/chart.umd.js").then().statusCode(200);
        given().when().get("/app.js").then().statusCode(200).body(containsString("window.featureRelay"));
    }
}
