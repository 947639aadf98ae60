package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.List;

/**
 * A training job as the API shows it: its row in the job table with the details it recorded.
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
 * @param replica         the replica running it now, or the one that ran it last (null before any did)
 * @param attempts        claims by a replica so far: above 1, it was resumed from a checkpoint
 */
public record TrainingStatus(String id, JobState state, String error, TrainingParameters parameters,
        Instant createdAt, Instant startedAt, Instant finishedAt, Progress progress, List<EpochResult> history,
        ModelSummary summary, Double trainingSeconds, String envelopeSha256, int publishAttempts,
        Published published, String replica, int attempts) {

    /** The API's view of a job row. */
    static TrainingStatus of(JobRecord row, TrainingParameters parameters, TrainingDetails d) {
        TrainingDetails details = d == null ? TrainingDetails.empty() : d;
        return new TrainingStatus(row.id(), row.state(), row.error(), parameters, row.createdAt(), row.startedAt(),
                row.finishedAt(), details.progress(), details.history(), details.summary(), details.trainingSeconds(),
                details.envelopeSha256(), details.publishAttempts(), details.published(),
                row.owner() != null ? row.owner() : row.lastOwner(),
                row.attempts());
    }

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
