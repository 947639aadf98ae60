package io.featurerelay.transfer.service;

import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A learning-curve job as the API shows it.
 *
 * @param points    every point trained so far, by budget then role
 * @param crossover the smallest budget at which the baseline reaches or passes model 2, or null
 */
public record LearningCurveStatus(String id, String baseModelId, JobState state, String error,
        LearningCurveParameters parameters, BaseModel lineage, List<String> classNames, Instant createdAt,
        Instant startedAt, Instant finishedAt, Progress progress, List<Point> points, Crossover crossover,
        String replica, int attempts) {

    static LearningCurveStatus of(JobRecord row, LearningCurveParameters p, LearningCurveDetails d) {
        return new LearningCurveStatus(row.id(), p.baseModelId(), row.state(), row.error(), p, d.lineage(),
                d.classNames(), row.createdAt(), row.startedAt(), row.finishedAt(), d.progress(), d.points(),
                crossover(d.points()).orElse(null), row.owner() != null ? row.owner() : row.lastOwner(),
                row.attempts());
    }

    /** The first budget, by images per class, whose scratch point is at least as accurate as its model 2 point. */
    static Optional<Crossover> crossover(List<Point> points) {
        return points.stream().filter(s -> s.role().equals(TransferJobHandler.SCRATCH))
                .sorted(Comparator.comparingInt(Point::imagesPerClass))
                .filter(s -> points.stream().anyMatch(t -> t.role().equals(TransferJobHandler.TRANSFER)
                        && t.budget().equals(s.budget()) && s.finalAccuracy() >= t.finalAccuracy()))
                .findFirst().map(s -> new Crossover(TransferJobHandler.SCRATCH, s.budget(), s.imagesPerClass()));
    }

    /**
     * One model trained with one label budget.
     *
     * @param budget         {@code "10"} or {@code "all"}
     * @param imagesPerClass images per class actually used (for {@code all}: training images / classes)
     * @param role           transfer, fine-tune or scratch
     * @param finalAccuracy  validation accuracy after the last epoch
     * @param seconds        training time (model 2: featurizing the training images included)
     * @param history        every epoch
     */
    public record Point(String budget, int imagesPerClass, String role, double finalAccuracy, double seconds,
            List<EpochResult> history) {
    }

    /** Where the lines meet: from this budget on, {@code role} (the baseline) is as good as model 2. */
    public record Crossover(String role, String budget, int imagesPerClass) {
    }

    /**
     * Where the sweep stands.
     *
     * @param budget       the budget training now
     * @param role         the model training now
     * @param pointsDone   points finished, of {@code points}
     * @param fractionDone of the whole sweep, weighted by the work of each point (images x epochs, a full network
     *                     counted as five of model 2's featurized epochs)
     * @param etaSeconds   until the sweep ends, from this attempt's rate
     */
    public record Progress(String budget, String role, String phase, int epoch, int epochs, int batch, int batches,
            int pointsDone, int points, double fractionDone, double imagesPerSecond, double etaSeconds) {
    }
}
