package io.featurerelay.dashboard.service;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** Turns metric samples into the figures' data; nothing is computed but what the metrics say. */
public final class DashboardAssembler {

    static final String PREFIX = "featurerelay_";
    static final String TRANSFER = "transfer";
    static final String SCRATCH = "scratch";
    static final String FINE_TUNE = "fine-tune";
    /** The models of a transfer run: model 2, the from-scratch baseline, model 2 fine-tuned. */
    static final List<String> TRANSFER_ROLES = List.of(TRANSFER, SCRATCH, FINE_TUNE);
    /** run_info labels that are not settings: the run's identity, and what a scraper adds. */
    static final Set<String> NOT_SETTINGS = Set.of("run", "kind", "job", "instance", "pod", "replica", "namespace",
            "container", "endpoint", "service");

    private DashboardAssembler() {
    }

    public static DashboardView assemble(MetricsReader.Reading reading) {
        Map<String, List<MetricSample>> byRun = reading.samples().stream()
                .filter(s -> s.name() != null && s.name().startsWith(PREFIX) && s.label("run") != null)
                .collect(Collectors.groupingBy(s -> s.label("run")));
        List<DashboardView.ModelRun> bases = new ArrayList<>();
        List<DashboardView.TransferRun> transfers = new ArrayList<>();
        for (var entry : byRun.entrySet()) {
            String run = entry.getKey();
            List<MetricSample> samples = entry.getValue();
            MetricSample info = find(samples, "run_info", null);
            String kind = info != null ? info.label("kind") : roleOf(samples);
            if (TRANSFER.equals(kind)) {
                transfers.add(new DashboardView.TransferRun(run, info == null ? null : info.label("base_run"),
                        info == null ? null : info.label("target"), info == null ? null : info.label("dataset"),
                        info == null ? null : info.label("classes"), settings(info),
                        model(run, TRANSFER, samples, info),
                        hasRole(samples, SCRATCH) ? model(run, SCRATCH, samples, info) : null,
                        hasRole(samples, FINE_TUNE) ? model(run, FINE_TUNE, samples, info) : null));
            } else if ("base".equals(kind)) {
                bases.add(model(run, "base", samples, info));
            }
        }
        bases.sort(Comparator.comparing(DashboardView.ModelRun::run).reversed());
        transfers.sort(Comparator.comparing(DashboardView.TransferRun::run).reversed());
        return new DashboardView(Instant.now(), reading.source(), reading.sources(), bases, transfers,
                LearningCurveAssembler.assemble(reading.samples()));
    }

    private static String roleOf(List<MetricSample> samples) {
        return samples.stream().map(s -> s.label("role")).filter(Objects::nonNull)
                .anyMatch(TRANSFER_ROLES::contains) ? TRANSFER : "base";
    }

    /** The run's settings, sorted by name (the page orders its rows itself). */
    private static Map<String, String> settings(MetricSample info) {
        Map<String, String> settings = new TreeMap<>();
        if (info != null) {
            info.labels().forEach((k, v) -> {
                if (!NOT_SETTINGS.contains(k)) {
                    settings.put(k, v);
                }
            });
        }
        return settings;
    }

    private static boolean hasRole(List<MetricSample> samples, String role) {
        return samples.stream().anyMatch(s -> role.equals(s.label("role")));
    }

    private static DashboardView.ModelRun model(String run, String role, List<MetricSample> samples,
            MetricSample info) {
        Map<Integer, double[]> epochs = new TreeMap<>();
        for (MetricSample s : samples) {
            if (!role.equals(s.label("role")) || s.label("epoch") == null) {
                continue;
            }
            int epoch = Integer.parseInt(s.label("epoch"));
            double[] v = epochs.computeIfAbsent(epoch, e -> new double[] {Double.NaN, Double.NaN, Double.NaN});
            switch (s.name()) {
                case PREFIX + "epoch_validation_accuracy" -> v[0] = s.value();
                case PREFIX + "epoch_loss" -> v[1] = s.value();
                case PREFIX + "epoch_seconds" -> v[2] = s.value();
                default -> {
                }
            }
        }
        List<DashboardView.Epoch> list = new ArrayList<>();
        epochs.forEach((e, v) -> list.add(new DashboardView.Epoch(e, nan(v[0]), nan(v[1]), nan(v[2]))));
        Double seconds = value(samples, "training_seconds", role);
        Double ratio = value(samples, "training_progress_ratio", role);
        DashboardView.Progress progress = ratio == null || seconds != null ? null
                : new DashboardView.Progress(ratio, value(samples, "training_eta_seconds", role),
                        toInt(value(samples, "training_epoch", role)), toInt(value(samples, "training_batch", role)),
                        value(samples, "training_images_per_second", role));
        return new DashboardView.ModelRun(run, role, info == null ? null : info.label("dataset"),
                info == null ? null : info.label("classes"), list, seconds,
                seconds == null ? null : value(samples, "training_images_per_second", role), progress,
                toLong(parameters(samples, role, "frozen")), toLong(parameters(samples, role, "trainable")));
    }

    private static MetricSample find(List<MetricSample> samples, String name, String role) {
        return samples.stream().filter(s -> s.name().equals(PREFIX + name))
                .filter(s -> role == null || role.equals(s.label("role"))).findFirst().orElse(null);
    }

    private static Double value(List<MetricSample> samples, String name, String role) {
        MetricSample s = find(samples, name, role);
        return s == null ? null : nan(s.value());
    }

    private static Double parameters(List<MetricSample> samples, String role, String kind) {
        return samples.stream().filter(s -> s.name().equals(PREFIX + "model_parameters"))
                .filter(s -> role.equals(s.label("role")) && kind.equals(s.label("kind"))).map(MetricSample::value)
                .findFirst().orElse(null);
    }

    private static Double nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    private static Integer toInt(Double v) {
        return v == null ? null : (int) Math.round(v);
    }

    private static Long toLong(Double v) {
        return v == null ? null : Math.round(v);
    }
}
