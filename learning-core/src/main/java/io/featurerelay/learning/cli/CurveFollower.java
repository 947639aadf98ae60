package io.featurerelay.learning.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Submits a learning curve for a stored base model to transfer-service, follows it over the REST API and prints
 * it: final validation accuracy (and training time) of each model at each label budget, and where the baseline
 * catches up with model 2. What {@code deploy/local/run.sh --learning-curve} shows after the experiment.
 */
final class CurveFollower {

    private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");
    private static final List<String> ROLES = List.of("transfer", "fine-tune", "scratch");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI transfer;
    private final PrintStream out;
    private final Duration poll;

    CurveFollower(URI transfer, PrintStream out, Duration poll) {
        this.transfer = transfer;
        this.out = out;
        this.poll = poll;
    }

    /**
     * @param budgets        images per class, 0 for all
     * @param fineTuneEpochs 0: no fine-tune line
     * @return true when the curve succeeded
     */
    boolean follow(String baseId, List<Integer> budgets, int fineTuneEpochs, Duration timeout)
            throws IOException, InterruptedException {
        ObjectNode request = JSON.createObjectNode().put("baseModelId", baseId).put("fineTuneEpochs", fineTuneEpochs);
        budgets.forEach(request.putArray("budgets")::add);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(transfer.resolve("/api/v1/learning-curves"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(request))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 202) {
            throw new IOException("transfer-service refused the learning curve (" + r.statusCode() + "): " + r.body());
        }
        String id = JSON.readTree(r.body()).path("id").asText();
        out.println();
        out.println("learning curve " + id + " from " + baseId + ": budgets " + budgets + " (0 = all)");
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        long lastPrint = 0;
        JsonNode s;
        while (true) {
            s = get(transfer.resolve("/api/v1/learning-curves/" + id));
            if (FINAL.contains(s.path("state").asText())) {
                break;
            }
            JsonNode p = s.path("progress");
            if (p.isObject()) {
                String line = String.format(Locale.ROOT, "curve    %s at %s per class (point %d/%d)  epoch %d/%d"
                        + " batch %d/%d  %.0f images/s  sweep %.0f%%  ETA %.0f s", p.path("role").asText(),
                        p.path("budget").asText(), p.path("pointsDone").asInt() + 1, p.path("points").asInt(),
                        p.path("epoch").asInt(), p.path("epochs").asInt(), p.path("batch").asInt(),
                        p.path("batches").asInt(), p.path("imagesPerSecond").asDouble(),
                        100 * p.path("fractionDone").asDouble(), p.path("etaSeconds").asDouble());
                long now = System.nanoTime();
                if (!line.equals(last) && now - lastPrint > Duration.ofSeconds(5).toNanos()) {
                    out.println(line);
                    last = line;
                    lastPrint = now;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("gave up waiting for learning curve " + id + " to finish");
            }
            Thread.sleep(poll.toMillis());
        }
        out.println();
        out.print(table(s));
        if (!"SUCCEEDED".equals(s.path("state").asText())) {
            out.println("learning curve " + id + " ended " + s.path("state").asText() + ": "
                    + s.path("error").asText(""));
            return false;
        }
        return true;
    }

    /** One row per budget, one column per model: final validation accuracy (training time); then the crossover. */
    static String table(JsonNode curve) {
        Map<String, Map<String, JsonNode>> byBudget = new LinkedHashMap<>();
        Map<String, Integer> images = new LinkedHashMap<>();
        for (JsonNode p : curve.path("points")) {
            byBudget.computeIfAbsent(p.path("budget").asText(), b -> new LinkedHashMap<>())
                    .put(p.path("role").asText(), p);
            images.put(p.path("budget").asText(), p.path("imagesPerClass").asInt());
        }
        List<String> roles = ROLES.stream().filter(role -> byBudget.values().stream().anyMatch(m -> m.containsKey(role)))
                .toList();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-16s", "images per class"));
        roles.forEach(role -> sb.append(String.format(Locale.ROOT, " | %-22s", role + " acc (time)")));
        sb.append(System.lineSeparator());
        byBudget.forEach((budget, points) -> {
            sb.append(String.format(Locale.ROOT, "%-16s", budget.equals("all") ? "all (" + images.get(budget) + ")"
                    : budget));
            for (String role : roles) {
                JsonNode p = points.get(role);
                sb.append(String.format(Locale.ROOT, " | %-22s", p == null ? "-" : String.format(Locale.ROOT,
                        "%.4f (%.1f s)", p.path("finalAccuracy").asDouble(), p.path("seconds").asDouble())));
            }
            sb.append(System.lineSeparator());
        });
        JsonNode crossover = curve.path("crossover");
        sb.append(crossover.isObject()
                ? String.format(Locale.ROOT, "the baseline reaches model 2 at %s images per class%n",
                        crossover.path("budget").asText())
                : String.format(Locale.ROOT, "the baseline stays below model 2 at every budget%n"));
        return sb.toString();
    }

    private JsonNode get(URI uri) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(uri + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }
}
