package io.featurerelay.system;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.testing.MetricsText;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The system on one machine: the real broker, trainer-service, transfer-service and the dashboard as
 * processes, and the page in a real browser. The page first shows its empty state; a base training publishes;
 * the transfer starts by itself and trains model 2 beside the baseline; the page's charts plot exactly the
 * runs' metrics, and the comparison view's lines each run's REST history; a transfer interrupted by stopping
 * its service completes after a restart, and meanwhile the page says that the service is down.
 */
class PipelineIT {

    static final String SAMPLE = Path.of("../learning-core/src/test/resources/fashion-mnist-sample").toAbsolutePath()
            .normalize().toString();
    /** The envelope signing key of the system tests (the services refuse fewer than 16 bytes). */
    static final String KEY = "system-test-signing-key";

    static JsonPath json(String url) {
        return given().get(url).then().statusCode(200).extract().jsonPath();
    }

    static JsonPath awaitState(String url, Duration timeout, String... states) {
        List<String> wanted = List.of(states);
        await().atMost(timeout).pollInterval(Duration.ofMillis(500))
                .until(() -> wanted.contains(json(url).getString("state")));
        return json(url);
    }

    private static double metric(ServiceProcess service, String name, String... labels) {
        return MetricsText.value(given().baseUri(service.url()).get("/q/metrics").then().statusCode(200).extract()
                .asString(), name, labels);
    }

    private static double number(Object o) {
        return ((Number) o).doubleValue();
    }

    /** The four figures plot exactly what the metrics say, and the summary table is model 2's. */
    private static void checkDashboard(DashboardPage page, ServiceProcess trainer, ServiceProcess transfer,
            String base, String run) throws Exception {
        page.awaitState("runs", Duration.ofSeconds(30));
        page.pickRun("transfer:" + run);
        page.awaitRender(Duration.ofSeconds(30));

        var baseChart = page.chart("base-accuracy");
        assertThat((java.util.List<?>) baseChart.get("labels")).hasSize(1);
        assertThat(number(DashboardPage.data(baseChart, 0).get(0))).isEqualTo(metric(trainer,
                "featurerelay_epoch_validation_accuracy", "run", base, "role", "base", "epoch", "1"));

        var comparison = page.chart("transfer-accuracy");
        assertThat(number(DashboardPage.data(comparison, 0).get(0))).isEqualTo(metric(transfer,
                "featurerelay_epoch_validation_accuracy", "run", run, "role", "transfer", "epoch", "1"));
        assertThat(number(DashboardPage.data(comparison, 1).get(0))).isEqualTo(metric(transfer,
                "featurerelay_epoch_validation_accuracy", "run", run, "role", "scratch", "epoch", "1"));

        var times = page.chart("training-time");
        assertThat(DashboardPage.data(times, 0)).extracting(PipelineIT::number).containsExactly(
                metric(trainer, "featurerelay_training_seconds", "run", base, "role", "base"),
                metric(transfer, "featurerelay_training_seconds", "run", run, "role", "transfer"),
                metric(transfer, "featurerelay_training_seconds", "run", run, "role", "scratch"));
        assertThat(times.get("labels").toString()).contains("base (").contains("images/s");

        JsonPath status = json(transfer.url() + "/api/v1/transfers/" + run);
        java.text.NumberFormat us = java.text.NumberFormat.getIntegerInstance(java.util.Locale.US);
        assertThat(page.text("#total-frozen td.num")).isEqualTo(us.format(status.getLong("summary.frozenParams")));
        assertThat(page.text("#total-trainable td.num"))
                .isEqualTo(us.format(status.getLong("summary.trainableParams")));
        assertThat(number(page.js("return document.querySelectorAll('#summary tbody tr').length")))
                .isEqualTo(status.getList("summary.layers").size());

        // no learning curve was asked for: the figure says how to start one
        assertThat(page.visible("learning-curve-empty")).isTrue();
        // the comparison view: the run and its base on one epoch axis, each line the run's REST history
        DashboardChecks.checkComparison(page, trainer.url(), transfer.url(), List.of(run));
    }

    /** Metric names in a Prometheus exposition (the first token of every sample line). */
    private static java.util.Set<String> exportedNames(ServiceProcess... services) {
        java.util.Set<String> names = new java.util.HashSet<>();
        for (ServiceProcess s : services) {
            for (String line : given().baseUri(s.url()).get("/q/metrics").then().statusCode(200).extract().asString()
                    .split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    names.add(line.split("[{ ]", 2)[0]);
                }
            }
        }
        return names;
    }

    /** Series the queries name that this pipeline does not make: Kafka Exporter's, the learning curves'. */
    private static final java.util.Set<String> NOT_FROM_THIS_PIPELINE = java.util.Set.of("kafka_consumergroup_lag",
            "kafka_brokers", "featurerelay_learning_curve_accuracy", "featurerelay_learning_curve_seconds",
            "featurerelay_learning_curve_images_per_class");

    /** Every metric the Grafana dashboard and the alert rules query is one the services export. */
    private static void checkMonitoringQueries(ServiceProcess trainer, ServiceProcess transfer) throws Exception {
        java.util.Set<String> exported = exportedNames(trainer, transfer);
        List<String> queries = new java.util.ArrayList<>();
        var grafana = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                KubernetesManifestsTest.GRAFANA.toFile());
        assertThat(grafana.path("panels").size()).isGreaterThanOrEqualTo(8);
        grafana.path("panels").forEach(p -> p.path("targets").forEach(t -> queries.add(t.path("expr").asText())));
        grafana.path("templating").path("list").forEach(v -> queries.add(v.path("query").path("query").asText("")));
        Manifests.render("overlays/production").stream()
                .filter(io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule.class::isInstance)
                .map(io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule.class::cast)
                .flatMap(r -> r.getSpec().getGroups().stream()).flatMap(g -> g.getRules().stream())
                .forEach(rule -> queries.add(rule.getExpr().getStrVal()));
        java.util.regex.Pattern metric = java.util.regex.Pattern.compile(
                "\\b((?:featurerelay|kafka|process|jvm|http)_[a-z0-9_]+)\\b");
        int named = 0;
        for (String query : queries) {
            var m = metric.matcher(query);
            while (m.find()) {
                named++;
                if (m.group(1).startsWith("kafka_consumergroup_") || m.group(1).equals("kafka_brokers")
                        || m.group(1).startsWith("featurerelay_learning_curve_")) {
                    // Kafka Exporter's (not a service's), and the learning curves' series, which appear as a curve's
                    // points finish (this pipeline runs none): named as that exporter and the metric contract do
                    assertThat(m.group(1)).isIn(NOT_FROM_THIS_PIPELINE);
                    continue;
                }
                assertThat(exported).as("metric " + m.group(1) + " of query " + query).contains(m.group(1));
            }
        }
        assertThat(named).isGreaterThan(10);
    }

    @Test
    void trainingFeedsATransferThatSurvivesARestart() throws Exception {
        Path work = Files.createTempDirectory(Path.of("target"), "pipeline-");
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
                        .with("transfer.targets.default.optimizer", "adam").start();
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

            page.open().awaitState("empty", Duration.ofSeconds(30));
            assertThat(page.visible("empty")).isTrue();
            assertThat(page.text("#sources li[data-name='trainer-service']")).contains("up");
            assertThat(page.text("#sources li[data-name='transfer-service']")).contains("up");
            page.screenshot(Path.of("target", "dashboard-empty.png"));

            String base = given().baseUri(trainer.url()).contentType(ContentType.JSON)
                    .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\"}")
                    .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
            JsonPath trained = awaitState(trainer.url() + "/api/v1/trainings/" + base, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(trained.getString("state")).as(trained.prettify()).isEqualTo("SUCCEEDED");
            Instant publishedAt = Instant.parse(trained.getString("published.at"));

            // the transfer starts by itself
            await().atMost(Duration.ofSeconds(60)).until(() -> !json(transfer.url() + "/api/v1/transfers")
                    .getList("findAll { it.baseModelId == '" + base + "' }").isEmpty());
            String run = json(transfer.url() + "/api/v1/transfers")
                    .getString("find { it.baseModelId == '" + base + "' }.id");
            Instant created = Instant.parse(json(transfer.url() + "/api/v1/transfers/" + run).getString("createdAt"));
            System.out.printf("publish -> transfer job created: %d ms%n",
                    Duration.between(publishedAt, created).toMillis());

            JsonPath done = awaitState(transfer.url() + "/api/v1/transfers/" + run, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
            assertThat(done.getList("transferHistory")).hasSize(1);
            assertThat(done.getList("scratchHistory")).hasSize(1);
            assertThat(done.getString("lineage.sha256")).isEqualTo(trained.getString("envelopeSha256"));
            assertThat(done.getList("lineage.history")).hasSize(1);

            byte[] envelope = given().baseUri(trainer.url()).get("/api/v1/trainings/" + base + "/envelope").then()
                    .statusCode(200).extract().asByteArray();
            byte[] model2 = given().baseUri(transfer.url()).get("/api/v1/transfers/" + run + "/model").then()
                    .statusCode(200).extract().asByteArray();
            FeatureWeights weights = new FeatureWeightsCodec().decode(envelope);
            ModelSpec spec = weights.header().spec();
            var frozen = NetworkFactory.standard().restore(spec, Hyperparameters.defaults(),
                    new ByteArrayInputStream(model2)).parameters(spec.featureLayers());
            weights.featureParameters().forEach((layer, arrays) -> arrays.forEach((key, values) ->
                    assertThat(frozen.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));

            checkDashboard(page.open(), trainer, transfer, base, run);
            page.screenshot(Path.of("target", "dashboard.png"));
            checkMonitoringQueries(trainer, transfer);
            // the same figures through a Prometheus server's HTTP API
            // opened once: the page refreshes itself every second, while a reload in each try could read the footer
            // before the page's first (slower: Prometheus queries) answer has arrived, every time
            page.openAt(promDashboard.url());
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
                assertThat(page.text("footer")).contains("Prometheus");
                checkDashboard(page, trainer, transfer, base, run);
            });
            page.screenshot(Path.of("target", "dashboard-prometheus.png"));

            // a re-run is interrupted by stopping the service, and completes after the restart
            String rerun = given().baseUri(transfer.url()).contentType(ContentType.JSON)
                    .body("{\"baseModelId\":\"" + base + "\",\"featurized\":false}")
                    .post("/api/v1/transfers").then().statusCode(202).extract().path("id");
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(250)).until(() -> {
                JsonPath s = json(transfer.url() + "/api/v1/transfers/" + rerun);
                return "RUNNING".equals(s.getString("state")) && s.get("progress.batch") != null
                        && s.getInt("progress.batch") >= 5;
            });
            // while it trains, the page shows its progress bar with ETA
            page.open().awaitState("runs", Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(30)).until(() -> page.text("#progress .job[data-run='" + rerun + "']")
                    != null);
            assertThat(page.text("#progress .job[data-run='" + rerun + "']")).contains("images/s").contains("ETA");
            page.screenshot(Path.of("target", "dashboard-progress.png"));
            transfer.stop();
            page.open().awaitState("runs", Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(30)).until(() -> "UNREACHABLE".equals(
                    page.js("const li = document.querySelector(\"#sources li[data-name='transfer-service']\");"
                            + "return li && li.className;")));
            assertThat(page.text(".problem[data-name='transfer-service']")).contains("unreachable");
            page.screenshot(Path.of("target", "dashboard-service-down.png"));
            transfer.start();
            JsonPath resumed = awaitState(transfer.url() + "/api/v1/transfers/" + rerun, Duration.ofMinutes(4),
                    "SUCCEEDED", "FAILED");
            assertThat(resumed.getString("state")).as(resumed.prettify()).isEqualTo("SUCCEEDED");
            assertThat(resumed.getList("transferHistory")).hasSize(1);
            // the first run is still there, and its base model was not received twice
            assertThat(json(transfer.url() + "/api/v1/transfers/" + run).getString("state")).isEqualTo("SUCCEEDED");
            assertThat(json(transfer.url() + "/api/v1/base-models").getList("id")).containsOnlyOnce(base);
        }
    }
}
