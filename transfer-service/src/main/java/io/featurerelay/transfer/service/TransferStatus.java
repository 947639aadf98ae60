package io.featurerelay.transfer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import java.util.ArrayList;
import java.time.Instant;
import java.util.List;

/**
 * A transfer job as the API shows it: its row in the job table with the details it recorded.
 *
 * @param id               transfer run id
 * @param baseModelId      the base model it starts from
 * @param state            QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED
 * @param error            why it failed
 * @param parameters       what it trains
 * @param classNames       names of the target classes
 * @param createdAt        when it was created
 * @param startedAt        when training began
 * @param finishedAt       when it ended
 * @param progress         where it stands: which model, epoch, batch, rate, ETA
 * @param transferHistory  model 2's epochs
 * @param scratchHistory   the baseline's epochs
 * @param comparison       both accuracies side by side, by epoch
 * @param featurizeSeconds time spent computing the training images' frozen activations once (the test
 *                         images', for validation, count as validation does: not at all)
 * @param transferSeconds  model 2's whole training time (featurizing the training images included)
 * @param scratchSeconds   the baseline's training time
 * @param summary          model 2's layers, frozen and trainable
 * @param lineage          the base model: id, SHA-256, source classes, its history
 * @param resultPublished  whether the result record reached transfer-results
 * @param replica          the replica running it now, or the one that ran it last (null before any did)
 * @param attempts         claims by a replica so far: above 1, it was resumed from a checkpoint
 * @param fineTuneHistory  the fine-tuning epochs (every layer trainable), numbered from 1; empty without it
 * @param fineTuneSeconds  fine-tuning's training time
 * @param bestModel        {@code transfer} or {@code fine-tune}: the higher last validation accuracy, which
 *                         predictions use unless told otherwise
 * @param trainImages      training images per epoch (with a label budget: classes x trainPerClass)
 */
public record TransferStatus(String id, String baseModelId, JobState state, String error,
        TransferParameters parameters, List<String> classNames, Instant createdAt, Instant startedAt,
        Instant finishedAt, Progress progress, List<EpochResult> transferHistory, List<EpochResult> scratchHistory,
        List<EpochComparison> comparison, Double featurizeSeconds, Double transferSeconds, Double scratchSeconds,
        ModelSummary summary, BaseModel lineage, boolean resultPublished, String replica, int attempts,
        List<EpochResult> fineTuneHistory, Double fineTuneSeconds, String bestModel, Integer trainImages) {

    /** The API's view of a job row. */
    static TransferStatus of(JobRecord row, TransferParameters parameters, TransferDetails d) {
        List<EpochComparison> comparison = new ArrayList<>();
        int epochs = Math.max(Math.max(d.transferHistory().size(), d.scratchHistory().size()),
                d.fineTuneHistory().size());
        for (int i = 0; i < epochs; i++) {
            Double transfer = accuracy(d.transferHistory(), i);
            Double fineTune = accuracy(d.fineTuneHistory(), i);
            comparison.add(new EpochComparison(i + 1, transfer, accuracy(d.scratchHistory(), i), fineTune,
                    transfer == null || fineTune == null ? null
                            : fineTune > transfer ? TransferJobHandler.FINE_TUNE : TransferJobHandler.TRANSFER));
        }
        return new TransferStatus(row.id(), d.lineage() == null ? null : d.lineage().id(), row.state(), row.error(),
                parameters, d.classNames(), row.createdAt(), row.startedAt(), row.finishedAt(), d.progress(),
                d.transferHistory(), d.scratchHistory(), comparison, d.featurizeSeconds(), d.transferSeconds(),
                d.scratchSeconds(), d.summary(), d.lineage(), d.resultPublished(),
                row.owner() != null ? row.owner() : row.lastOwner(), row.attempts(), d.fineTuneHistory(),
                d.fineTuneSeconds(), d.bestModel(), d.trainImages());
    }

    private static Double accuracy(List<EpochResult> history, int i) {
        return i < history.size() ? history.get(i).validationAccuracy() : null;
    }

    /**
     * Progress of the model that is training now ({@code role} transfer, fine-tune or scratch; featurizing:
     * batch 0).
     */
    public record Progress(String role, String phase, int epoch, int epochs, int batch, int batches,
            double fractionDone, double imagesPerSecond, double etaSeconds) {
    }

    /**
     * Validation accuracy of the models after the same epoch (of each one's own training: fine-tuning's epoch 1 is
     * its first after model 2's last), and which of model 2 and the fine-tuned model was ahead there.
     */
    public record EpochComparison(int epoch, Double transferAccuracy, Double scratchAccuracy,
            Double fineTuneAccuracy, String bestModel) {
    }
}
