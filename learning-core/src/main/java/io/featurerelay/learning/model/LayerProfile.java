package io.featurerelay.learning.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where a network's time goes, section by section (a layer's forward pass, its backward pass, the updater), for
 * {@code bench/profile.sh}. A network keeps {@link #OFF} unless a profile is attached, and then pays one
 * {@link System#nanoTime()} per section; the sections follow one another on the calling thread, so that their
 * times add up to the batch's.
 */
public final class LayerProfile {

    /** Records nothing. */
    static final LayerProfile OFF = new LayerProfile(false);

    private final boolean on;
    private final Map<String, long[]> sections = new LinkedHashMap<>();

    private LayerProfile(boolean on) {
        this.on = on;
    }

    public static LayerProfile recording() {
        return new LayerProfile(true);
    }

    /** A section starts now: pass what this returns to {@link #end}. */
    long start() {
        return on ? System.nanoTime() : 0;
    }

    /** Ends {@code section}, started at {@code start}; returns now, the start of the next section. */
    long end(String section, long start) {
        if (!on) {
            return 0;
        }
        long now = System.nanoTime();
        long[] t = sections.computeIfAbsent(section, s -> new long[2]);
        t[0] += now - start;
        t[1]++;
        return now;
    }

    /** Forgets what was recorded (after the warm-up batches). */
    public void clear() {
        sections.clear();
    }

    /** Each section's total milliseconds, in the order the sections first ran. */
    public Map<String, Double> totalMillis() {
        Map<String, Double> out = new LinkedHashMap<>();
        sections.forEach((name, t) -> out.put(name, t[0] / 1e6));
        return out;
    }
}
