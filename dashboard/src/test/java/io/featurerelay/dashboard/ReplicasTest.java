package io.featurerelay.dashboard;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;

import com.sun.net.httpserver.HttpServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Direct scraping of a service with three replicas: two answer (pod A trained epochs 1-2 of a run, pod B took it
 * over and trained epoch 3), the third is down. The page gets one curve of three epochs and names the replica
 * that is down.
 */
@QuarkusTest
@QuarkusTestResource(value = ReplicasTest.TwoReplicas.class, restrictToAnnotatedClass = true)
class ReplicasTest {

    static final String DOWN = "http://127.0.0.1:9";

    /** Two fake trainer replicas on free ports: readiness UP, and their expositions. */
    public static class TwoReplicas implements QuarkusTestResourceLifecycleManager {
        private final List<HttpServer> servers = new java.util.ArrayList<>();

        @Override
        public Map<String, String> start() {
            String a = serve(SeriesMergerTest.POD_A);
            String b = serve(SeriesMergerTest.POD_B);
            return Map.of("dashboard.trainer-url", a + "," + b + "," + DOWN, "dashboard.transfer-url", DOWN);
        }

        private String serve(String exposition) {
            try {
                HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
                server.createContext("/q/health/ready", x -> reply(x, "{\"status\":\"UP\",\"checks\":[]}"));
                server.createContext("/q/metrics", x -> reply(x, exposition));
                server.start();
                servers.add(server);
                return "http://127.0.0.1:" + server.getAddress().getPort();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static void reply(com.sun.net.httpserver.HttpExchange exchange, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            try (var out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }

        @Override
        public void stop() {
            servers.forEach(s -> s.stop(0));
        }
    }

    @Test
    void replicasAreMergedAndTheOneDownIsNamed() {
        given().when().get("/api/v1/dashboard").then().statusCode(200)
                .body("source", equalTo("direct"))
                .body("sources.findAll { it.name == 'trainer-service' }", hasSize(3))
                .body("sources.findAll { it.name == 'trainer-service' }.state",
                        contains("UP", "UP", "UNREACHABLE"))
                .body("sources.find { it.state == 'UNREACHABLE' && it.name == 'trainer-service' }.url", equalTo(DOWN))
                .body("baseRuns", hasSize(1))
                .body("baseRuns[0].run", equalTo("base-a"))
                .body("baseRuns[0].epochs.epoch", contains(1, 2, 3))
                .body("baseRuns[0].epochs.validationAccuracy", contains(0.80f, 0.85f, 0.88f));
        given().when().get("/api/v1/dashboard/settings").then().statusCode(200)
                .body("trainerUrls", hasSize(3))
                .body("trainerUrls[2]", equalTo(DOWN));
    }
}
