package io.featurerelay.dashboard;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.aMapWithSize;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.hasKey;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The page's figures through a Prometheus server's query API (a stand-in on a free port that answers as Prometheus
 * does): the run's settings come from {@code featurerelay_run_info} read as it is, its two pods' copies (which differ
 * only in the labels the scrape added) merged into one, and learning curves from their own query.
 */
@QuarkusTest
@QuarkusTestResource(value = PrometheusQueriesTest.FakePrometheus.class, restrictToAnnotatedClass = true)
class PrometheusQueriesTest {

    static final List<String> QUERIES = new CopyOnWriteArrayList<>();

    /** Answers the queries the dashboard sends with what a Prometheus scraping two transfer pods would hold. */
    public static class FakePrometheus implements QuarkusTestResourceLifecycleManager {
        private HttpServer server;

        @Override
        public Map<String, String> start() {
            try {
                server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
                server.createContext("/api/v1/query", FakePrometheus::query);
                server.start();
                return Map.of("dashboard.prometheus-url", "http://127.0.0.1:" + server.getAddress().getPort());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void query(HttpExchange x) throws IOException {
            String query = URLDecoder.decode(x.getRequestURI().getRawQuery().substring("query=".length()),
                    StandardCharsets.UTF_8);
            QUERIES.add(query);
            String result;
            if (query.equals("featurerelay_run_info")) {
                String labels = "\"__name__\":\"featurerelay_run_info\",\"run\":\"t-1\",\"kind\":\"transfer\","
                        + "\"base_run\":\"base-a\",\"train_per_class\":\"50\",\"fine_tune_epochs\":\"2\"";
                result = series("{" + labels + ",\"job\":\"transfer-0\",\"instance\":\"10.0.0.1:8082\","
                        + "\"pod\":\"transfer-0\",\"namespace\":\"relay\"}", "1") + ","
                        + series("{" + labels + ",\"job\":\"transfer-1\",\"instance\":\"10.0.0.2:8082\","
                                + "\"pod\":\"transfer-1\",\"namespace\":\"relay\"}", "1");
            } else if (query.contains("featurerelay_learning_curve_")) {
                result = series("{\"__name__\":\"featurerelay_learning_curve_accuracy\",\"curve\":\"lc-1\","
                        + "\"base_run\":\"base-a\",\"role\":\"transfer\",\"budget\":\"all\"}", "0.9") + ","
                        + series("{\"__name__\":\"featurerelay_learning_curve_accuracy\",\"curve\":\"lc-1\","
                                + "\"base_run\":\"base-a\",\"role\":\"scratch\",\"budget\":\"all\"}", "0.9") + ","
                        + series("{\"__name__\":\"featurerelay_learning_curve_images_per_class\",\"curve\":\"lc-1\","
                                + "\"base_run\":\"base-a\",\"budget\":\"all\"}", "400");
            } else if (query.contains("featurerelay_epoch_")) {
                result = series("{\"__name__\":\"featurerelay_epoch_validation_accuracy\",\"run\":\"t-1\","
                        + "\"role\":\"fine-tune\",\"epoch\":\"1\"}", "0.95");
            } else {
                result = "";
            }
            byte[] body = ("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[" + result + "]}}")
                    .getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().add("Content-Type", "application/json");
            x.sendResponseHeaders(200, body.length);
            try (var out = x.getResponseBody()) {
                out.write(body);
            }
        }

        private static String series(String metric, String value) {
            return "{\"metric\":" + metric + ",\"value\":[1700000000.0,\"" + value + "\"]}";
        }

        @Override
        public void stop() {
            server.stop(0);
        }
    }

    @Test
    void settingsAndLearningCurvesComeThroughPrometheus() {
        given().when().get("/api/v1/dashboard").then().statusCode(200)
                .body("source", equalTo("prometheus"))
                .body("transfers", hasSize(1))
                .body("transfers[0].run", equalTo("t-1"))
                .body("transfers[0].baseRun", equalTo("base-a"))
                .body("transfers[0].settings", aMapWithSize(3))
                .body("transfers[0].settings.train_per_class", equalTo("50"))
                .body("transfers[0].settings.fine_tune_epochs", equalTo("2"))
                .body("transfers[0].settings", not(hasKey("job")))
                .body("transfers[0].fineTune.epochs.validationAccuracy", contains(0.95f))
                .body("learningCurves", hasSize(1))
                .body("learningCurves[0].curve", equalTo("lc-1"))
                .body("learningCurves[0].points.imagesPerClass", contains(400.0f, 400.0f))
                .body("learningCurves[0].crossover.budget", equalTo("all"))
                .body("learningCurves[0].crossover.imagesPerClass", equalTo(400.0f));
        // learning curves are aggregated across pods by their own labels
        org.assertj.core.api.Assertions.assertThat(QUERIES).contains(
                "max by (__name__, curve, base_run, role, budget) ({__name__=~\"featurerelay_learning_curve_.+\"})");
    }
}
