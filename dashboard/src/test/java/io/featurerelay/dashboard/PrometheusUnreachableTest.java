package io.featurerelay.dashboard;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** With a Prometheus URL where nothing answers, the dashboard reports Prometheus as unreachable. */
@QuarkusTest
@TestProfile(PrometheusUnreachableTest.ClosedPrometheus.class)
class PrometheusUnreachableTest {

    public static class ClosedPrometheus implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("dashboard.prometheus-url", "http://127.0.0.1:9");
        }
    }

    @Test
    void prometheusIsReportedUnreachableAndNoFigureIsInvented() {
        given().when().get("/api/v1/dashboard").then().statusCode(200)
                .body("source", equalTo("prometheus"))
                .body("sources.find { it.name == 'prometheus' }.state", equalTo("UNREACHABLE"))
                .body("sources.find { it.name == 'prometheus' }.url", equalTo("http://127.0.0.1:9"))
                .body("baseRuns", empty())
                .body("transfers", empty());
    }
}
