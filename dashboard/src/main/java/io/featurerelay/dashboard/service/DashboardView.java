package io.featurerelay.dashboard.service;

import java.time.Instant;
import java.util.List;

/**
 * Everything the page draws, built from metrics only.
 *
 * @param generatedAt when it was read
 * @param source      {@code prometheus} or {@code direct}
 * @param sources     state of each service (and Prometheus)
 * @param baseRuns    base trainings, newest first
 * @param transfers   transfer runs, newest first, each naming its base run
 */
public record DashboardView(Instant generatedAt, String source, List<MetricsReader.SourceState> sources,
        List<ModelRun> baseRuns, List<TransferRun> transfers) {

    /** One trained model (base, transfer or scratch) as its metrics describe it. */
    public record ModelRun(String run, String role, String dataset, String classes, List<Epoch> epochs,
            Double trainingSeconds, Double imagesPerSecond, Progress progress, Long frozenParams,
            Long trainableParams) {
    }

    /** A transfer run: model 2 and (when trained) the baseline. */
    public record TransferRun(String run, String baseRun, String target, String dataset, String classes,
            ModelRun transfer, ModelRun scratch) {
    }

    /** One epoch's figures. */
    public record Epoch(int epoch, Double validationAccuracy, Double loss, Double seconds) {
    }

    /** Live progress of a model that is training. */
    public record Progress(double ratio, Double etaSeconds, Integer epoch, Integer batch, Double imagesPerSecond) {
    }
}
