package io.featurerelay.dashboard.service;

import java.util.Map;

/** One sample of a Prometheus series: metric name, labels, value. */
public record MetricSample(String name, Map<String, String> labels, double value) {

    public String label(String key) {
        return labels.get(key);
    }
}
