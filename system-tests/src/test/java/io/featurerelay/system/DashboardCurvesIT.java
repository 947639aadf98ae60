package io.featurerelay.system;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.service.testing.MetricsText;
import io.restassured.http.ContentType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Issue 16's figures in the real browser, against the real services (and once more through a real Prometheus): a
 * base model feeds a transfer that is fine-tuned (by the target's configuration), a second transfer from it with a
 * label budget, and a learning curve over three budgets. The learning-curve chart's plotted points equal the job's
 * REST result, with the point where the lines meet labelled as the job says; the comparison view's curves equal
 * each run's REST history and its settings table each run's run_info; the run's own figures draw the fine-tune.
 */
class DashboardCurvesIT {

    static final String SAMPLE = PipelineIT.SAMPLE;
    static final String KEY = PipelineIT.KEY;
    static final List<String> ROLES = List.of("transfer", "scratch", "fine-tune");

    private static JsonNode awaitDone(String url, Duration timeout) {
        await().atMost(timeout).pollInterval(Duration.ofMillis(500)).until(() -> List.of("SUCCEEDED", "FAILED",
                "CANCELLED").contains(DashboardChecks.get(url).path("state").asText()));
        JsonNode status = DashboardChecks.get(url);
        assertThat(status.path("state").asText()).as(status.toPrettyString()).isEqualTo("SUCCEEDED");
        return status;
    }

    private static double metric(ServiceProcess service, String name, String... labels) {
        return MetricsText.value(given().baseUri(service.url()).get("/q/metrics").then().statusCode(200).extract()
                .asString(), name, labels);
    }

    /** (budget, images per class, accuracy) of each role's plotted line; the crossover marker apart. */
    @SuppressWarnings("unchecked")
    private static Map<String, Set<List<Object>>> plotted(Map<String, Object> chart) {
        Map<String, Set<List<Object>>> lines = new java.util.HashMap<>();
        for (Map<String, Object> d : (List<Map<String, Object>>) chart.get("datasets")) {
            Set<List<Object>> points = new HashSet<>();
            for (Map<String, Object> p : (List<Map<String, Object>>) d.get("data")) {
                points.add(List.of(p.get("budget"), ((Number) p.get("x")).doubleValue(),
                        ((Number) p.get("y")).doubleValue()));
            }
            lines.put((String) d.get("role"), points);
        }
        return lines;
    }

    /** The learning-curve chart plots exactly the job's points, and labels the crossover the job reports. */
    private static void checkLearningCurve(DashboardPage page, JsonNode curve) {
        String id = curve.path("id").asText();
        page.awaitState("runs", Duration.ofSeconds(30));
        page.pickCurve(id);
        page.awaitRender(Duration.ofSeconds(30));
        Map<String, Set<List<Object>>> expected = new java.util.HashMap<>();
        Set<String> budgets = new java.util.LinkedHashSet<>();
        curve.path("points").forEach(p -> {
            budgets.add(p.path("budget").asText());
            expected.computeIfAbsent(p.path("role").asText(), r -> new HashSet<>()).add(List.of(
                    p.path("budget").asText(), p.path("imagesPerClass").asDouble(), p.path("finalAccuracy").asDouble()));
        });
        assertThat(expected).containsKeys("transfer", "scratch", "fine-tune");
        JsonNode crossover = curve.path("crossover");
        Map<String, Set<List<Object>>> lines = plotted(page.chart("learning-curve"));
        Set<List<Object>> marker = lines.remove("crossover");
        assertThat(lines).isEqualTo(expected);
        assertThat(page.js("return document.querySelectorAll('#learning-curve-table tbody tr').length"))
                .isEqualTo((long) budgets.size());
        String label = "#learning-curve-crossover";
        if (crossover.isNull() || crossover.isMissingNode()) {
            assertThat(marker).isNull();
            assertThat(page.js("return document.querySelector(arguments[0]).dataset.budget ?? null", label)).isNull();
            assertThat(page.text(label)).contains("does not reach model 2");
        } else {
            String budget = crossover.path("budget").asText();
            double perClass = crossover.path("imagesPerClass").asDouble();
            assertThat(crossover.path("role").asText()).isEqualTo("scratch");
            assertThat(page.js("return document.querySelector(arguments[0]).dataset.budget", label)).isEqualTo(budget);
            assertThat(Double.parseDouble((String) page.js(
                    "return document.querySelector(arguments[0]).dataset.imagesPerClass", label))).isEqualTo(perClass);
            assertThat(page.text(label)).contains("The lines meet");
            // the marker sits on the baseline's point at that budget
            assertThat(marker).singleElement().satisfies(m -> {
                assertThat(m.get(0)).isEqualTo(budget);
                assertThat(m.get(1)).isEqualTo(perClass);
                assertThat(expected.get("scratch")).contains(m);
            });
        }
    }

    /** The run's own figures draw the fine-tune: its curve, its time bar, its parameter counts. */
    private static void checkFineTunedRun(DashboardPage page, ServiceProcess transfer, String run) {
        page.pickRun("transfer:" + run);
        page.awaitRender(Duration.ofSeconds(30));
        JsonNode status = DashboardChecks.get(transfer.url() + "/api/v1/transfers/" + run);
        assertThat(DashboardPage.epochPoints(page.chart("transfer-accuracy"), run, "fine-tune"))
                .isEqualTo(DashboardChecks.history(status, "fineTuneHistory")).isNotEmpty();
        assertThat(DashboardPage.data(page.chart("training-time"), 0)).extracting(o -> ((Number) o).doubleValue())
                .contains(metric(transfer, "featurerelay_training_seconds", "run", run, "role", "fine-tune"));
        java.text.NumberFormat us = java.text.NumberFormat.getIntegerInstance(java.util.Locale.US);
        assertThat(page.text("#params-by-model tr[data-role='fine-tune'] td:nth-child(2)")).isEqualTo("0");
        assertThat(page.text("#params-by-model tr[data-role='fine-tune'] td:nth-child(3)")).isEqualTo(us.format(
                (long) metric(transfer, "featurerelay_model_parameters", "run", run, "role", "fine-tune", "kind",
                        "trainable")));
    }

    private static void checkAll(DashboardPage page, ServiceProcess trainer, ServiceProcess transfer,
            JsonNode curve, String fineTuned, String budgeted) {
        checkLearningCurve(page, curve);
        DashboardChecks.checkComparison(page, trainer.url(), transfer.url(), List.of(fineTuned, budgeted));
        String setting = "#compare-settings tr[data-key='%s'] td[data-run='%s']";
        assertThat(page.text(setting.formatted("train_per_class", fineTuned))).isEqualTo("all");
        assertThat(page.text(setting.formatted("train_per_class", budgeted))).isEqualTo("50");
        assertThat(page.text(setting.formatted("fine_tune_epochs", fineTuned))).isEqualTo("1");
        assertThat(page.text(setting.formatted("fine_tune_epochs", budgeted))).isEqualTo("0");
        checkFineTunedRun(page, transfer, fineTuned);
    }

    @Test
    void learningCurveAndComparisonPlotWhatTheServicesReport() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "curves-");
        try (SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY).start();
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.targets.default.data-dir", SAMPLE)
                        .with("transfer.targets.default.epochs", "1")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam")
                        .with("transfer.targets.default.fine-tune-epochs", "1").start();
                ServiceProcess dashboard = new ServiceProcess("dashboard", work)
                        .with("dashboard.trainer-url", trainer.url())
                        .with("dashboard.transfer-url", transfer.url())
                        .with("dashboard.refresh-interval", "1s").start();
                PrometheusProcess prometheus = new PrometheusProcess().start(work,
                        List.of(trainer.url(), transfer.url()));
                ServiceProcess promDashboard = new ServiceProcess("dashboard", work.resolve("prometheus-dashboard"))
                        .with("dashboard.trainer-url", trainer.url())
                        .with("dashboard.transfer-url", transfer.url())
                        .with("dashboard.prometheus-url", prometheus.url())
                        .with("dashboard.refresh-interval", "1s").start();
                DashboardPage page = new DashboardPage(dashboard.url(), work.resolve("chromium"))) {

            String base = given().baseUri(trainer.url()).contentType(ContentType.JSON)
                    .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\"}")
                    .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
            awaitDone(trainer.url() + "/api/v1/trainings/" + base, Duration.ofMinutes(4));

            // the configured target fine-tunes: model 2, the baseline and the fine-tune, on every image
            await().atMost(Duration.ofSeconds(60)).until(() -> !given().get(transfer.url() + "/api/v1/transfers")
                    .then().extract().jsonPath().getList("findAll { it.baseModelId == '" + base + "' }").isEmpty());
            String fineTuned = given().get(transfer.url() + "/api/v1/transfers").then().extract().jsonPath()
                    .getString("find { it.baseModelId == '" + base + "' }.id");
            JsonNode first = awaitDone(transfer.url() + "/api/v1/transfers/" + fineTuned, Duration.ofMinutes(5));
            assertThat(first.path("fineTuneHistory").size()).isEqualTo(1);

            // a second run from the same base: 50 labelled images per class, no fine-tune (a re-run's defaults are
            // its base model's target's, which fine-tunes: so it is said)
            String budgeted = given().baseUri(transfer.url()).contentType(ContentType.JSON)
                    .body("{\"baseModelId\":\"" + base + "\",\"dataDir\":\"" + SAMPLE + "\",\"epochs\":1,"
                            + "\"batchSize\":32,\"optimizer\":\"adam\",\"trainPerClass\":50,\"fineTuneEpochs\":0}")
                    .post("/api/v1/transfers").then().statusCode(202).extract().path("id");
            awaitDone(transfer.url() + "/api/v1/transfers/" + budgeted, Duration.ofMinutes(4));

            // a learning curve over 10, 50 and all images per class, fine-tune included
            String curveId = given().baseUri(transfer.url()).contentType(ContentType.JSON)
                    .body("{\"baseModelId\":\"" + base + "\",\"dataDir\":\"" + SAMPLE + "\",\"budgets\":[10,50,0],"
                            + "\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"seed\":42,\"fineTuneEpochs\":1}")
                    .post("/api/v1/learning-curves").then().statusCode(202).extract().path("id");
            JsonNode curve = awaitDone(transfer.url() + "/api/v1/learning-curves/" + curveId, Duration.ofMinutes(8));
            assertThat(curve.path("points").size()).isEqualTo(9);
            List<String> allBudgets = new ArrayList<>();
            curve.path("points").forEach(p -> allBudgets.add(p.path("budget").asText()));
            assertThat(allBudgets).containsOnly("10", "50", "all");

            checkAll(page.open(), trainer, transfer, curve, fineTuned, budgeted);
            page.screenshot(Path.of("target", "dashboard-curves.png"));
            // the same through a Prometheus server's HTTP API (once it has scraped everything)
            // opened once: the page refreshes itself every second, while a reload in each try could read the footer
            // before the page's first (slower: Prometheus queries) answer has arrived, every time
            page.openAt(promDashboard.url());
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
                assertThat(page.text("footer")).contains("Prometheus");
                checkAll(page, trainer, transfer, curve, fineTuned, budgeted);
            });
            page.screenshot(Path.of("target", "dashboard-curves-prometheus.png"));
        }
    }
}
