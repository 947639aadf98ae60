package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.List;

/**
 * A training job as the API shows it and as its store keeps it.
 *
 * @param id              base model id
 * @param state           QUEUED, RUNNING, PUBLISH_PENDING, SUCCEEDED, FAILED or CANCELLED
 * @param error           why it failed
 * @param parameters      what was asked for, defaults filled in
 * @param createdAt       when it was accepted
 * @param startedAt       when training began
 * @param finishedAt      when it reached a final state
 * @param progress        where training stands (null before it starts)
 * @param history         one entry per finished epoch
 * @param summary         the network's layers and parameter counts
 * @param trainingSeconds training time of all epochs
 * @param envelopeSha256  SHA-256 of the published envelope
 * @param publishAttempts sends to Kafka so far
 * @param published       where the envelope landed
 */
public record TrainingStatus(String id, JobState state, String error, TrainingParameters parameters,
        Instant createdAt, Instant startedAt, Instant finishedAt, Progress progress, List<EpochResult> history,
        ModelSummary summary, Double trainingSeconds, String envelopeSha256, int publishAttempts,
        Published published) {

    /**
     * @param epoch           current epoch, 1-based
     * @param epochs          epochs in the run
     * @param batch           batches done in this epoch
     * @param batches         batches per epoch
     * @param fractionDone    0..1 of the whole run
     * @param imagesPerSecond training rate so far
     * @param etaSeconds      estimated seconds to the end of training
     */
    public record Progress(int epoch, int epochs, int batch, int batches, double fractionDone, double imagesPerSecond,
            double etaSeconds) {
    }

    /** Kafka coordinates of the published envelope. */
    public record Published(String topic, int partition, long offset, Instant at) {
    }
}
