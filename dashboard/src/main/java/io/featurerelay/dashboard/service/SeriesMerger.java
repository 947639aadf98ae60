package io.featurerelay.dashboard.service;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Merges the expositions of several replicas of one service into one value per series, as the Prometheus
 * queries do across pods: a series is its name and labels (without labels that only name the pod); counters
 * (and a histogram's or summary's counts and sums) add up over the replicas, every other series takes the
 * largest value. A per-epoch series is so one value per (run, role, epoch), whichever pod trained that epoch:
 * a job resumed on another replica continues the same curve. Gauges that every replica reads from the database
 * (jobs by state) are not counted twice.
 */
public final class SeriesMerger {

    /**
     * Labels that say which pod a series came from, not what it measures: a service's own {@code replica}, and the
     * target labels a Prometheus scrape adds (the services export none of these names).
     */
    static final Set<String> REPLICA_LABELS = Set.of("instance", "pod", "replica", "job", "namespace", "container",
            "endpoint", "service");

    private SeriesMerger() {
    }

    /** One list per replica, in any order; the result keeps the order in which series first appear. */
    public static List<MetricSample> merge(List<List<MetricSample>> replicas) {
        Map<Key, MetricSample> merged = new LinkedHashMap<>();
        for (List<MetricSample> samples : replicas) {
            for (MetricSample s : samples) {
                Map<String, String> labels = new LinkedHashMap<>(s.labels());
                labels.keySet().removeAll(REPLICA_LABELS);
                MetricSample sample = new MetricSample(s.name(), Map.copyOf(labels), s.value());
                merged.merge(new Key(sample.name(), sample.labels()), sample,
                        (a, b) -> new MetricSample(a.name(), a.labels(), combine(a.name(), a.value(), b.value())));
            }
        }
        return new ArrayList<>(merged.values());
    }

    static boolean isCounter(String name) {
        return name.endsWith("_total") || name.endsWith("_count") || name.endsWith("_sum")
                || name.endsWith("_bucket");
    }

    private static double combine(String name, double a, double b) {
        if (Double.isNaN(a)) {
            return b;
        }
        if (Double.isNaN(b)) {
            return a;
        }
        return isCounter(name) ? a + b : Math.max(a, b);
    }

    private record Key(String name, Map<String, String> labels) {
    }
}
