package io.featurerelay.dashboard.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.dashboard.config.DashboardConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the figures come from: a Prometheus server's HTTP API when one is configured, otherwise the /q/metrics
 * of every replica of each service, merged ({@link SeriesMerger}). Also asks every replica for its readiness,
 * so that the page can say which is down.
 */
@ApplicationScoped
public class MetricsReader {

    /**
     * The instant queries for the series the page draws, aggregated across pods as {@link SeriesMerger} merges
     * replicas: one value per (run, role, epoch), per (run, role) and so on, whichever pod exported it.
     */
    static final List<String> QUERIES = List.of(
            "max by (__name__, run, role, epoch) ({__name__=~\"featurerelay_epoch_.+\"})",
            "max by (__name__, run, role) ({__name__=~\"featurerelay_training_.+\"})",
            "max by (__name__, run, role, kind) (featurerelay_model_parameters)",
            "max by (__name__, curve, base_run, role, budget) ({__name__=~\"featurerelay_learning_curve_.+\"})");
    /**
     * Read as it is, not aggregated: its labels are the run's settings, and a list of them in {@code by (...)} would
     * drop every setting a service adds later. The pods' copies are merged by {@link SeriesMerger}, which drops the
     * labels the scraper added.
     */
    static final String RUN_INFO_QUERY = "featurerelay_run_info";
    static final String TRAINER = "trainer-service";
    static final String TRANSFER = "transfer-service";

    /** Whether a service (or Prometheus) answered, and what it said when it did not. */
    public record SourceState(String name, String url, String state, String detail) {
        public static final String UP = "UP";
        public static final String NOT_READY = "NOT_READY";
        public static final String UNREACHABLE = "UNREACHABLE";
    }

    /** What one read found. */
    public record Reading(String source, List<MetricSample> samples, List<SourceState> sources) {
    }

    private final DashboardConfig config;
    private final ObjectMapper json;
    private final HttpClient http;

    public MetricsReader(DashboardConfig config, ObjectMapper json) {
        this.config = config;
        this.json = json;
        this.http = HttpClient.newBuilder().connectTimeout(config.timeout()).build();
    }

    public Reading read() {
        Map<String, List<URI>> services = new LinkedHashMap<>();
        services.put(TRAINER, config.trainerUrl());
        services.put(TRANSFER, config.transferUrl());
        List<SourceState> states = new ArrayList<>();
        services.forEach((name, urls) -> urls.forEach(url -> states.add(health(name, url))));
        List<MetricSample> samples = new ArrayList<>();
        if (config.prometheusUrl().isPresent()) {
            URI prometheus = config.prometheusUrl().get();
            try {
                for (String query : QUERIES) {
                    samples.addAll(queryPrometheus(prometheus, query));
                }
                samples.addAll(SeriesMerger.merge(List.of(queryPrometheus(prometheus, RUN_INFO_QUERY))));
                states.add(new SourceState("prometheus", prometheus.toString(), SourceState.UP, null));
            } catch (IOException | RuntimeException e) {
                samples.clear();
                states.add(new SourceState("prometheus", prometheus.toString(), SourceState.UNREACHABLE,
                        describe(e)));
            }
            return new Reading("prometheus", samples, states);
        }
        // every replica that answers, merged per service (a replica that is down leaves the others' figures)
        for (var service : services.entrySet()) {
            List<List<MetricSample>> replicas = new ArrayList<>();
            for (URI url : service.getValue()) {
                int at = indexOf(states, service.getKey(), url);
                if (SourceState.UNREACHABLE.equals(states.get(at).state())) {
                    continue;
                }
                try {
                    replicas.add(ExpositionParser.parse(get(url.resolve("/q/metrics"))));
                } catch (IOException | RuntimeException e) {
                    states.set(at, new SourceState(service.getKey(), url.toString(), SourceState.UNREACHABLE,
                            "metrics: " + describe(e)));
                }
            }
            samples.addAll(SeriesMerger.merge(replicas));
        }
        return new Reading("direct", samples, states);
    }

    private static int indexOf(List<SourceState> states, String name, URI url) {
        for (int i = 0; i < states.size(); i++) {
            if (states.get(i).name().equals(name) && states.get(i).url().equals(url.toString())) {
                return i;
            }
        }
        throw new IllegalStateException("no state of " + name + " at " + url);
    }

    private SourceState health(String name, URI base) {
        try {
            HttpResponse<String> r = http.send(request(base.resolve("/q/health/ready")),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return new SourceState(name, base.toString(), SourceState.UP, null);
            }
            return new SourceState(name, base.toString(), SourceState.NOT_READY, "readiness answered "
                    + r.statusCode() + down(r.body()));
        } catch (IOException | RuntimeException e) {
            return new SourceState(name, base.toString(), SourceState.UNREACHABLE, describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new SourceState(name, base.toString(), SourceState.UNREACHABLE, "interrupted");
        }
    }

    /**
     * transfer-service's status of one transfer (model 2's per-layer summary is in it), as the first replica that
     * answers said it (every replica answers every GET alike).
     */
    public HttpResponse<String> transferStatus(String id) throws IOException, InterruptedException {
        IOException failure = null;
        for (URI base : config.transferUrl()) {
            URI uri = base.resolve("/api/v1/transfers/" + URLEncoder.encode(id, StandardCharsets.UTF_8));
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(config.timeout()).GET();
            // only the service's API gets the token (metrics and health are open; Prometheus is another party)
            config.apiToken().ifPresent(token -> request.header("Authorization", "Bearer " + token));
            try {
                return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                if (failure != null) {
                    e.addSuppressed(failure);
                }
                failure = e;
            }
        }
        throw failure != null ? failure : new IOException("no transfer-service URL is configured");
    }

    /** Names of the checks that are down, from a health body. */
    private String down(String body) {
        try {
            List<String> names = new ArrayList<>();
            for (JsonNode check : json.readTree(body).path("checks")) {
                if (!"UP".equals(check.path("status").asText())) {
                    names.add(check.path("name").asText());
                }
            }
            return names.isEmpty() ? "" : ": " + String.join(", ", names) + " down";
        } catch (IOException e) {
            return "";
        }
    }

    private List<MetricSample> queryPrometheus(URI base, String query) throws IOException {
        String body = get(base.resolve("/api/v1/query?query=" + URLEncoder.encode(query, StandardCharsets.UTF_8)));
        JsonNode root = json.readTree(body);
        if (!"success".equals(root.path("status").asText())) {
            throw new IOException("Prometheus answered " + root.path("error").asText(body));
        }
        List<MetricSample> samples = new ArrayList<>();
        for (JsonNode result : root.path("data").path("result")) {
            Map<String, String> labels = new HashMap<>();
            result.path("metric").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
            String name = labels.remove("__name__");
            double value = Double.parseDouble(result.path("value").path(1).asText("NaN"));
            samples.add(new MetricSample(name, Map.copyOf(labels), value));
        }
        return samples;
    }

    private String get(URI uri) throws IOException {
        try {
            HttpResponse<String> r = http.send(request(uri), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException(uri + " answered " + r.statusCode());
            }
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private HttpRequest request(URI uri) {
        return HttpRequest.newBuilder(uri).timeout(config.timeout()).GET().build();
    }

    private static String describe(Exception e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }
}
