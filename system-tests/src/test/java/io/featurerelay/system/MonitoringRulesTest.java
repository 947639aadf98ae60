package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The alert rules and the Grafana dashboard, checked with Debian's promtool: the rules as kustomize renders them
 * pass {@code promtool check rules} and the unit tests of deploy/monitoring/rules-test.yml (each alert fires on
 * what it is for and stays quiet otherwise), every Grafana expression parses as PromQL, and the panels' types,
 * units and formats fit what they show.
 */
class MonitoringRulesTest {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_EMPTY);
    private static Path work;

    @BeforeAll
    static void rulesAsPrometheusReadsThem() throws Exception {
        work = Files.createDirectories(Manifests.REPO.resolve("system-tests/target/alert-rules"));
        PrometheusRule rule = KubernetesManifestsTest.of(Manifests.render("overlays/production"), PrometheusRule.class)
                .get(0);
        // a PrometheusRule's spec is a Prometheus rule file
        Files.writeString(work.resolve("feature-relay.rules.yml"), YAML.writeValueAsString(rule.getSpec()));
        Files.copy(Manifests.REPO.resolve("deploy/monitoring/rules-test.yml"), work.resolve("rules-test.yml"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static String promtool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("promtool"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("promtool finished").isTrue();
        assertThat(p.exitValue()).as("promtool " + String.join(" ", args) + ":\n" + out).isZero();
        return out;
    }

    @Test
    void rulesPassPromtoolAndTheirUnitTests() throws Exception {
        assertThat(promtool("check", "rules", "feature-relay.rules.yml")).contains("SUCCESS");
        assertThat(promtool("test", "rules", "rules-test.yml")).contains("SUCCESS");
    }

    /** Every alert has a unit test that expects it to fire and one that expects it quiet. */
    @Test
    void everyAlertIsTestedFiringAndQuiet() throws Exception {
        JsonNode rules = YAML.readTree(work.resolve("feature-relay.rules.yml").toFile());
        JsonNode tests = YAML.readTree(work.resolve("rules-test.yml").toFile());
        Map<String, int[]> seen = new LinkedHashMap<>();
        rules.path("groups").forEach(g -> g.path("rules").forEach(r -> seen.put(r.path("alert").asText(), new int[2])));
        tests.path("tests").forEach(t -> t.path("alert_rule_test").forEach(a -> {
            int[] counts = seen.get(a.path("alertname").asText());
            assertThat(counts).as("alert " + a.path("alertname").asText() + " exists").isNotNull();
            counts[a.path("exp_alerts").isEmpty() ? 1 : 0]++;
        }));
        seen.forEach((alert, counts) -> {
            assertThat(counts[0]).as(alert + " tested firing").isPositive();
            assertThat(counts[1]).as(alert + " tested quiet").isPositive();
        });
        // the counters the rules read exist at 0 from start-up (PipelineIT scrapes a fresh service for that)
        assertThat(seen).containsKeys("FeatureRelayJobFailed", "FeatureRelayConsumerLagHigh",
                "FeatureRelayTrainerServiceDown", "FeatureRelayTransferServiceDown");
    }

    /** Every Grafana expression parses as PromQL: promtool checks them as recording rules. */
    @Test
    void grafanaExpressionsParse() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(KubernetesManifestsTest.GRAFANA.toFile());
        StringBuilder file = new StringBuilder("groups:\n  - name: grafana\n    rules:\n");
        int n = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                file.append("      - record: grafana:panel_").append(panel.path("id").asInt()).append('_')
                        .append(n++).append("\n        expr: ")
                        .append(new ObjectMapper().writeValueAsString(target.path("expr").asText())).append('\n');
            }
        }
        Files.writeString(work.resolve("grafana.rules.yml"), file);
        assertThat(n).isGreaterThanOrEqualTo(15);
        assertThat(promtool("check", "rules", "grafana.rules.yml")).contains(n + " rules found");
    }

    /** Panel types, units and query formats that fit what each panel shows. */
    @Test
    void grafanaPanelsHaveTheRightTypesUnitsAndFormats() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(KubernetesManifestsTest.GRAFANA.toFile());
        Set<String> types = Set.of("timeseries", "barchart", "bargauge", "stat");
        List<String> titles = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            String title = panel.path("title").asText();
            titles.add(title);
            String type = panel.path("type").asText();
            assertThat(type).as(title).isIn(types);
            String unit = panel.path("fieldConfig").path("defaults").path("unit").asText();
            String lower = title.toLowerCase(java.util.Locale.ROOT);
            if (lower.contains("accuracy") || lower.contains("progress")) {
                assertThat(unit).as(title).isEqualTo("percentunit");
            } else if (lower.contains("time") || lower.contains("uptime")) {
                assertThat(unit).as(title).isEqualTo("s");
            } else if (lower.contains("throughput")) {
                assertThat(unit).as(title).isEqualTo("suffix: images/s");
            } else {
                assertThat(unit).as(title).isNotEmpty().isNotIn("s", "percentunit");
            }
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                boolean instant = target.path("instant").asBoolean();
                // a bar chart groups rows of a table; a time series draws ranges
                if (type.equals("barchart")) {
                    assertThat(instant).as(title).isTrue();
                    assertThat(target.path("format").asText()).as(title).isEqualTo("table");
                    assertThat(panel.path("transformations").toString()).contains("groupingToMatrix");
                }
                if (type.equals("timeseries")) {
                    assertThat(instant).as(title).isFalse();
                }
                assertThat(expr).as(title).contains("namespace=~\"$namespace\"");
                // one figure per service, never every JVM nor both services summed
                if (expr.contains("up{") || expr.contains("process_uptime_seconds") || expr.contains("featurerelay_jobs")) {
                    assertThat(expr).as(title).containsPattern("(sum|min|max) by \\((service|service, \\w+)\\)");
                    assertThat(expr).as(title).contains("service");
                }
            }
        }
        // issue 16's figures: every model role per run, and the learning curves
        String all = dashboard.path("panels").toString();
        assertThat(all).contains("fine-tune").contains("featurerelay_learning_curve_accuracy")
                .contains("featurerelay_learning_curve_seconds").contains("featurerelay_learning_curve_images_per_class");
        assertThat(titles).doesNotHaveDuplicates();
    }
}
