package io.featurerelay.service.metrics;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The series a dashboard draws, tagged {@code run} and {@code role} (base, transfer, scratch):
 * <ul>
 * <li>{@code featurerelay_epoch_validation_accuracy}, {@code featurerelay_epoch_loss},
 * {@code featurerelay_epoch_seconds}, also tagged {@code epoch};</li>
 * <li>{@code featurerelay_training_seconds}, {@code featurerelay_training_images_per_second} when a run ends;</li>
 * <li>{@code featurerelay_training_progress_ratio}, {@code featurerelay_training_eta_seconds},
 * {@code featurerelay_training_epoch}, {@code featurerelay_training_batch} while it runs;</li>
 * <li>{@code featurerelay_model_parameters}, also tagged {@code kind} (frozen, trainable);</li>
 * <li>learning curves, tagged {@code curve}, {@code base_run}, {@code budget} ({@code <n>} or {@code all}) and,
 * but for the images, {@code role}: {@code featurerelay_learning_curve_accuracy} (final validation accuracy),
 * {@code featurerelay_learning_curve_seconds} (training time), {@code featurerelay_learning_curve_images_per_class}
 * (images per class used, for {@code all} the real count).</li>
 * </ul>
 * Roles: base, transfer (model 2), fine-tune, scratch. Only the last {@code keptRuns} runs (a learning curve counts
 * as one) keep their series, so that the number of series stays bounded.
 */
public class RunMetrics {

    public static final String EPOCH_ACCURACY = "featurerelay.epoch.validation.accuracy";
    public static final String EPOCH_LOSS = "featurerelay.epoch.loss";
    public static final String EPOCH_SECONDS = "featurerelay.epoch.seconds";
    public static final String TRAINING_SECONDS = "featurerelay.training.seconds";
    public static final String IMAGES_PER_SECOND = "featurerelay.training.images.per.second";
    public static final String PROGRESS = "featurerelay.training.progress.ratio";
    public static final String ETA = "featurerelay.training.eta.seconds";
    public static final String CURRENT_EPOCH = "featurerelay.training.epoch";
    public static final String CURRENT_BATCH = "featurerelay.training.batch";
    public static final String PARAMETERS = "featurerelay.model.parameters";
    public static final String RUN_INFO = "featurerelay.run.info";
    public static final String CURVE_ACCURACY = "featurerelay.learning.curve.accuracy";
    public static final String CURVE_SECONDS = "featurerelay.learning.curve.seconds";
    public static final String CURVE_IMAGES = "featurerelay.learning.curve.images.per.class";

    private final MeterRegistry registry;
    private final int keptRuns;
    /** Values behind the gauges, by run, then by series key; insertion order is run age. */
    private final Map<String, Map<String, SeriesValue>> runs = new LinkedHashMap<>();

    public RunMetrics(MeterRegistry registry, int keptRuns) {
        this.registry = registry;
        this.keptRuns = Math.max(1, keptRuns);
    }

    /** A training run (or one model of a transfer run) reports a finished epoch. */
    public synchronized void epoch(String run, String role, EpochResult r) {
        Tags tags = Tags.of("run", run, "role", role, "epoch", Integer.toString(r.epoch()));
        set(run, EPOCH_ACCURACY, tags, r.validationAccuracy());
        set(run, EPOCH_LOSS, tags, r.loss());
        set(run, EPOCH_SECONDS, tags, r.seconds());
    }

    public synchronized void progress(String run, String role, BatchProgress p) {
        Tags tags = Tags.of("run", run, "role", role);
        set(run, PROGRESS, tags, p.fractionDone());
        set(run, ETA, tags, p.etaSeconds());
        set(run, CURRENT_EPOCH, tags, p.epoch());
        set(run, CURRENT_BATCH, tags, p.batch());
        set(run, IMAGES_PER_SECOND, tags, p.imagesPerSecond());
    }

    /**
     * Progress of a run made of several trainings (a learning curve's sweep): the fraction of the whole run done,
     * its ETA and the current training's rate, under one {@code role}.
     */
    public synchronized void progress(String run, String role, double fractionDone, double etaSeconds,
            double imagesPerSecond) {
        Tags tags = Tags.of("run", run, "role", role);
        set(run, PROGRESS, tags, fractionDone);
        set(run, ETA, tags, etaSeconds);
        set(run, IMAGES_PER_SECOND, tags, imagesPerSecond);
    }

    /** One finished point of learning curve {@code curve}: model {@code role} trained with that label budget. */
    public synchronized void curvePoint(String curve, String baseRun, String role, String budget,
            int imagesPerClass, double finalAccuracy, double seconds) {
        Tags tags = Tags.of("curve", curve, "base_run", baseRun, "role", role, "budget", budget);
        set(curve, CURVE_ACCURACY, tags, finalAccuracy);
        set(curve, CURVE_SECONDS, tags, seconds);
        set(curve, CURVE_IMAGES, Tags.of("curve", curve, "base_run", baseRun, "budget", budget), imagesPerClass);
    }

    /** Final figures of one model's training: its time (for a transfer, featurizing included) and rate. */
    public synchronized void finished(String run, String role, double trainingSeconds, double imagesPerSecond) {
        Tags tags = Tags.of("run", run, "role", role);
        set(run, TRAINING_SECONDS, tags, trainingSeconds);
        set(run, IMAGES_PER_SECOND, tags, imagesPerSecond);
        set(run, PROGRESS, tags, 1.0);
        set(run, ETA, tags, 0.0);
    }

    public synchronized void parameters(String run, String role, ModelSummary summary) {
        set(run, PARAMETERS, Tags.of("run", run, "role", role, "kind", "frozen"), summary.frozenParams());
        set(run, PARAMETERS, Tags.of("run", run, "role", role, "kind", "trainable"), summary.trainableParams());
    }

    /**
     * Describes a run (always 1): what it is and where it came from, e.g. {@code kind=transfer,
     * base_run=base-..., target=default}, so that a dashboard can link runs without another source.
     */
    public synchronized void info(String run, String... labelPairs) {
        set(run, RUN_INFO, Tags.of("run", run).and(labelPairs), 1.0);
    }

    /** Runs that currently have series, oldest first. */
    public synchronized List<String> runs() {
        return new ArrayList<>(runs.keySet());
    }

    private void set(String run, String name, Tags tags, double value) {
        Map<String, SeriesValue> series = runs.get(run);
        if (series == null) {
            series = new LinkedHashMap<>();
            runs.put(run, series);
            evictOldRuns();
        }
        String key = name + tags;
        SeriesValue holder = series.get(key);
        if (holder == null) {
            holder = new SeriesValue();
            SeriesValue ref = holder;
            holder.gauge = Gauge.builder(name, ref, SeriesValue::get).tags(tags).strongReference(true)
                    .register(registry);
            series.put(key, holder);
        }
        holder.set(value);
    }

    private void evictOldRuns() {
        while (runs.size() > keptRuns) {
            String oldest = runs.keySet().iterator().next();
            for (SeriesValue v : runs.remove(oldest).values()) {
                registry.remove(v.gauge);
            }
        }
    }

    private static final class SeriesValue {
        private final AtomicLong bits = new AtomicLong(Double.doubleToLongBits(Double.NaN));
        private Gauge gauge;

        double get() {
            return Double.longBitsToDouble(bits.get());
        }

        void set(double v) {
            bits.set(Double.doubleToLongBits(v));
        }
    }
}
