package io.featurerelay.learning.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Follows a base training on trainer-service and the transfer it starts on transfer-service over their REST
 * APIs, printing progress, then the comparison table: what the one-machine run command shows.
 */
final class RunFollower {

    private static final Set<String> FINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI trainer;
    private final URI transfer;
    private final PrintStream out;
    private final Duration poll;

    RunFollower(URI trainer, URI transfer, PrintStream out, Duration poll) {
        this.trainer = trainer;
        this.transfer = transfer;
        this.out = out;
        this.poll = poll;
    }

    /** @return true when both the training and its transfer succeeded */
    boolean follow(String baseId, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode base = await(trainer.resolve("/api/v1/trainings/" + baseId), "base", deadline);
        if (!"SUCCEEDED".equals(base.path("state").asText())) {
            out.println("base training " + baseId + " ended " + base.path("state").asText() + ": "
                    + base.path("error").asText(""));
            return false;
        }
        String transferId = null;
        while (transferId == null) {
            for (JsonNode t : get(transfer.resolve("/api/v1/transfers"))) {
                if (baseId.equals(t.path("baseModelId").asText())) {
                    transferId = t.path("id").asText();
                }
            }
            if (transferId == null) {
                checkDeadline(deadline, "the transfer of " + baseId + " to start");
                Thread.sleep(poll.toMillis());
            }
        }
        out.println("transfer " + transferId + " started from " + baseId);
        JsonNode done = await(transfer.resolve("/api/v1/transfers/" + transferId), "transfer", deadline);
        out.println();
        out.print(table(base, done));
        return "SUCCEEDED".equals(done.path("state").asText());
    }

    private JsonNode await(URI uri, String what, long deadline) throws IOException, InterruptedException {
        String last = "";
        long lastPrint = 0;
        while (true) {
            JsonNode s = get(uri);
            String state = s.path("state").asText();
            if (FINAL.contains(state)) {
                return s;
            }
            String line = progressLine(s, what);
            long now = System.nanoTime();
            if (!line.equals(last) && now - lastPrint > Duration.ofSeconds(5).toNanos()) {
                out.println(line);
                last = line;
                lastPrint = now;
            }
            checkDeadline(deadline, what + " " + s.path("id").asText() + " to finish");
            Thread.sleep(poll.toMillis());
        }
    }

    /**
     * One status line of a job: its role, id and state, and where it is: computing the frozen activations, starting
     * (a model whose first batch has not run yet: its progress all zeros), or its epoch, batch, speed and ETA.
     */
    static String progressLine(JsonNode status, String what) {
        JsonNode p = status.path("progress");
        String line = String.format(Locale.ROOT, "%-8s %s %s", p.path("role").asText(what),
                status.path("id").asText(), status.path("state").asText());
        if (p.isMissingNode() || p.isNull()) {
            return line;
        }
        if ("featurizing".equals(p.path("phase").asText())) {
            return line + "  computing frozen activations";
        }
        if (p.path("epochs").asInt() == 0) {
            return line + "  starting";
        }
        return line + String.format(Locale.ROOT, "  epoch %d/%d batch %d/%d  %.0f images/s  ETA %.0f s",
                p.path("epoch").asInt(), p.path("epochs").asInt(), p.path("batch").asInt(), p.path("batches").asInt(),
                p.path("imagesPerSecond").asDouble(), p.path("etaSeconds").asDouble());
    }

    private static void checkDeadline(long deadline, String what) throws IOException {
        if (System.nanoTime() > deadline) {
            throw new IOException("gave up waiting for " + what);
        }
    }

    private JsonNode get(URI uri) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(uri + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** Per-epoch accuracy of the three models, their times, and model 2's parameter summary. */
    static String table(JsonNode base, JsonNode transfer) throws IOException {
        List<EpochResult> b = epochs(base.path("history"));
        List<EpochResult> t = epochs(transfer.path("transferHistory"));
        List<EpochResult> s = epochs(transfer.path("scratchHistory"));
        // fine-tuning's epochs follow model 2's: its epoch 1 is the row after model 2's last
        List<EpochResult> f = epochs(transfer.path("fineTuneHistory"));
        boolean fineTuned = !f.isEmpty();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-6s | %-22s | %-22s | %-22s", "epoch", "base acc (time)",
                "transfer acc (time)", "scratch acc (time)"));
        sb.append(fineTuned ? String.format(Locale.ROOT, " | %-22s%n", "fine-tune acc (time)") : String.format("%n"));
        int rows = Math.max(b.size(), Math.max(t.size() + f.size(), s.size()));
        for (int i = 0; i < rows; i++) {
            sb.append(String.format(Locale.ROOT, "%-6d | %-22s | %-22s | %-22s", i + 1, cell(b, i), cell(t, i),
                    cell(s, i)));
            sb.append(fineTuned ? String.format(Locale.ROOT, " | %-22s%n", cell(f, i - t.size()))
                    : String.format("%n"));
        }
        sb.append(String.format(Locale.ROOT, "%ntraining time: base %.1f s, transfer %.1f s (featurize %.1f s), "
                + "scratch %s%s%n", base.path("trainingSeconds").asDouble(), transfer.path("transferSeconds").asDouble(),
                transfer.path("featurizeSeconds").asDouble(), transfer.path("scratchSeconds").isNumber()
                        ? String.format(Locale.ROOT, "%.1f s", transfer.path("scratchSeconds").asDouble()) : "-",
                fineTuned ? String.format(Locale.ROOT, ", fine-tune %.1f s (best model: %s)",
                        transfer.path("fineTuneSeconds").asDouble(), transfer.path("bestModel").asText()) : ""));
        String published = base.path("published").path("at").asText("");
        String started = transfer.path("startedAt").asText("");
        if (!published.isEmpty() && !started.isEmpty()) {
            // the handover across Kafka: record published and acknowledged -> model 2's job running
            sb.append(String.format(Locale.ROOT, "publish -> transfer job started: %d ms%n",
                    java.time.Duration.between(java.time.Instant.parse(published), java.time.Instant.parse(started))
                            .toMillis()));
        }
        if (transfer.hasNonNull("summary")) {
            sb.append(String.format("%nmodel 2:%n"))
                    .append(JSON.treeToValue(transfer.path("summary"), ModelSummary.class).toTable());
        }
        return sb.toString();
    }

    private static List<EpochResult> epochs(JsonNode array) throws IOException {
        List<EpochResult> out = new ArrayList<>();
        for (JsonNode n : array) {
            out.add(JSON.treeToValue(n, EpochResult.class));
        }
        return out;
    }

    private static String cell(List<EpochResult> epochs, int i) {
        if (i < 0 || i >= epochs.size()) {
            return "-";
        }
        EpochResult r = epochs.get(i);
        return String.format(Locale.ROOT, "%.4f (%.1f s)", r.validationAccuracy(), r.seconds());
    }
}
