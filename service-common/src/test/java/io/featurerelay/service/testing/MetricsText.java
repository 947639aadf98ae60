package io.featurerelay.service.testing;

import java.util.HashMap;
import java.util.Map;

/** Reads one sample out of the Prometheus text exposition format. */
public final class MetricsText {

    private MetricsText() {
    }

    /**
     * The value of the first sample of {@code name} whose labels include the given name/value pairs.
     *
     * @throws AssertionError when there is none
     */
    public static double value(String exposition, String name, String... labelPairs) {
        Map<String, String> wanted = new HashMap<>();
        for (int i = 0; i < labelPairs.length; i += 2) {
            wanted.put(labelPairs[i], labelPairs[i + 1]);
        }
        for (String line : exposition.split("\n")) {
            if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
                continue;
            }
            Map<String, String> labels = new HashMap<>();
            int open = line.indexOf('{');
            int close = line.lastIndexOf('}');
            if (open > 0 && close > open) {
                for (String pair : line.substring(open + 1, close).split(",")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0) {
                        labels.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim().replace("\"", ""));
                    }
                }
            }
            if (labels.entrySet().containsAll(wanted.entrySet())) {
                String[] parts = line.substring(close > 0 ? close + 1 : name.length()).trim().split("\\s+");
                return Double.parseDouble(parts[0]);
            }
        }
        throw new AssertionError("no sample " + name + " " + wanted + " in /q/metrics");
    }
}
