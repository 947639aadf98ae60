package io.featurerelay.system;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Checks of the dashboard's figures against the services' own answers, shared by the browser tests. */
final class DashboardChecks {

    static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    private DashboardChecks() {
    }

    /** A service's JSON answer, read with Jackson so that every double is the one the service wrote. */
    static JsonNode get(String url) {
        try {
            return JSON.readTree(given().get(url).then().statusCode(200).extract().asString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A history list of a status ({@code history}, {@code transferHistory}, ...): epoch to validation accuracy. */
    static Map<Integer, Double> history(JsonNode status, String field) {
        Map<Integer, Double> epochs = new TreeMap<>();
        status.path(field).forEach(e -> epochs.put(e.path("epoch").asInt(), e.path("validationAccuracy").asDouble()));
        return epochs;
    }

    /** The labels of a run's {@code featurerelay_run_info} in a service's exposition. */
    static Map<String, String> runInfo(String serviceUrl, String run) {
        String exposition = given().baseUri(serviceUrl).get("/q/metrics").then().statusCode(200).extract().asString();
        for (String line : exposition.split("\n")) {
            if (!line.startsWith("featurerelay_run_info{")) {
                continue;
            }
            Map<String, String> labels = new LinkedHashMap<>();
            Matcher m = LABEL.matcher(line.substring(0, line.lastIndexOf('}') + 1));
            while (m.find()) {
                labels.put(m.group(1), m.group(2).replace("\\\"", "\"").replace("\\\\", "\\"));
            }
            if (run.equals(labels.get("run"))) {
                return labels;
            }
        }
        throw new AssertionError("no featurerelay_run_info of run " + run + " at " + serviceUrl);
    }

    /**
     * Ticks {@code runs} in the comparison view (with their base models) and checks that every line is the run's
     * REST history (model 2, the baseline, the fine-tune when it has one, the base model's from trainer-service),
     * and that the settings table shows each run's run_info labels in the run's column.
     */
    static void checkComparison(DashboardPage page, String trainerUrl, String transferUrl, List<String> runs) {
        page.pickComparison(runs, true);
        page.awaitRender(Duration.ofSeconds(30));
        var chart = page.chart("compare-accuracy");
        for (String run : runs) {
            JsonNode status = get(transferUrl + "/api/v1/transfers/" + run);
            assertThat(DashboardPage.epochPoints(chart, run, "transfer")).as("model 2 of " + run)
                    .isEqualTo(history(status, "transferHistory")).isNotEmpty();
            Map<Integer, Double> scratch = history(status, "scratchHistory");
            assertThat(DashboardPage.epochPoints(chart, run, "scratch")).as("baseline of " + run)
                    .isEqualTo(scratch.isEmpty() ? null : scratch);
            Map<Integer, Double> fineTune = history(status, "fineTuneHistory");
            assertThat(DashboardPage.epochPoints(chart, run, "fine-tune")).as("fine-tune of " + run)
                    .isEqualTo(fineTune.isEmpty() ? null : fineTune);
            String base = status.path("baseModelId").asText();
            assertThat(DashboardPage.epochPoints(chart, base, "base")).as("base model " + base)
                    .isEqualTo(history(get(trainerUrl + "/api/v1/trainings/" + base), "history")).isNotEmpty();

            assertThat(page.text("#compare-settings th[data-run='" + run + "']")).isEqualTo(run);
            Map<String, String> info = runInfo(transferUrl, run);
            info.remove("run");
            info.remove("kind");
            assertThat(info).isNotEmpty();
            info.forEach((key, value) -> assertThat(page.text("#compare-settings tr[data-key='" + key
                    + "'] td[data-run='" + run + "']")).as(key + " of " + run).isEqualTo(value));
        }
        // one line per model of each run, and each base model once
        long bases = runs.stream().map(run -> get(transferUrl + "/api/v1/transfers/" + run).path("baseModelId")
                .asText()).distinct().count();
        long models = runs.stream().mapToLong(run -> {
            JsonNode s = get(transferUrl + "/api/v1/transfers/" + run);
            return 1 + (s.path("scratchHistory").size() > 0 ? 1 : 0) + (s.path("fineTuneHistory").size() > 0 ? 1 : 0);
        }).sum();
        assertThat((List<?>) chart.get("datasets")).hasSize((int) (models + bases));
    }
}
