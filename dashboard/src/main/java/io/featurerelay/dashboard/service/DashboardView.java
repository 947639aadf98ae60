package io.featurerelay.dashboard.service;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything the page draws, built from metrics only.
 *
 * @param generatedAt    when it was read
 * @param source         {@code prometheus} or {@code direct}
 * @param sources        state of each service (and Prometheus)
 * @param baseRuns       base trainings, newest first
 * @param transfers      transfer runs, newest first, each naming its base run
 * @param learningCurves learning-curve jobs, newest first, each naming its base run
 */
public record DashboardView(Instant generatedAt, String source, List<MetricsReader.SourceState> sources,
        List<ModelRun> baseRuns, List<TransferRun> transfers, List<LearningCurve> learningCurves) {

    /** One trained model (base, transfer, scratch or fine-tune) as its metrics describe it. */
    public record ModelRun(String run, String role, String dataset, String classes, List<Epoch> epochs,
            Double trainingSeconds, Double imagesPerSecond, Progress progress, Long frozenParams,
            Long trainableParams) {
    }

    /**
     * A transfer run: model 2 and, when trained, the baseline and the fine-tuned model.
     *
     * @param settings the labels of its {@code featurerelay_run_info} but {@code run} and {@code kind} (and those
     *                 a scraper adds), e.g. {@code epochs}, {@code head}, {@code train_per_class}
     */
    public record TransferRun(String run, String baseRun, String target, String dataset, String classes,
            Map<String, String> settings, ModelRun transfer, ModelRun scratch, ModelRun fineTune) {
    }

    /** One epoch's figures. */
    public record Epoch(int epoch, Double validationAccuracy, Double loss, Double seconds) {
    }

    /** Live progress of a model that is training. */
    public record Progress(double ratio, Double etaSeconds, Integer epoch, Integer batch, Double imagesPerSecond) {
    }

    /**
     * A learning-curve job: each model's final validation accuracy when trained with a budget of labelled images
     * per class.
     *
     * @param points    every finished (budget, role), by images per class, then role
     * @param crossover the smallest budget at which the baseline reaches or passes model 2; null while none does
     */
    public record LearningCurve(String curve, String baseRun, List<CurvePoint> points, Crossover crossover) {
    }

    /**
     * One model trained with one budget.
     *
     * @param budget         the budget as requested: a number of images per class, or {@code all}
     * @param imagesPerClass images per class actually used (for {@code all}, the real count); null while unknown
     * @param accuracy       final validation accuracy
     * @param seconds        training seconds
     */
    public record CurvePoint(String budget, Double imagesPerClass, String role, Double accuracy, Double seconds) {
    }

    /**
     * Where the lines meet: the smallest budget at which {@code role} (the baseline) reaches or passes model 2.
     *
     * @param accuracy         the baseline's accuracy there
     * @param transferAccuracy model 2's accuracy there
     */
    public record Crossover(String role, String budget, Double imagesPerClass, Double accuracy,
            Double transferAccuracy) {
    }
}
