package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** One job's mutable state; the training thread writes it, REST threads read snapshots. */
final class TrainingJob {

    private final String id;
    private final TrainingParameters parameters;
    private final Instant createdAt;
    private JobState state;
    private String error;
    private Instant startedAt;
    private Instant finishedAt;
    private TrainingStatus.Progress progress;
    private final List<EpochResult> history = new ArrayList<>();
    private ModelSummary summary;
    private Double trainingSeconds;
    private String envelopeSha256;
    private int publishAttempts;
    private TrainingStatus.Published published;
    private volatile boolean cancelRequested;

    TrainingJob(String id, TrainingParameters parameters, Instant createdAt) {
        this.id = id;
        this.parameters = parameters;
        this.createdAt = createdAt;
        this.state = JobState.QUEUED;
    }

    /** A job read back from its store. */
    static TrainingJob restore(TrainingStatus s) {
        TrainingJob job = new TrainingJob(s.id(), s.parameters(), s.createdAt());
        job.state = s.state();
        job.error = s.error();
        job.startedAt = s.startedAt();
        job.finishedAt = s.finishedAt();
        job.progress = s.progress();
        if (s.history() != null) {
            job.history.addAll(s.history());
        }
        job.summary = s.summary();
        job.trainingSeconds = s.trainingSeconds();
        job.envelopeSha256 = s.envelopeSha256();
        job.publishAttempts = s.publishAttempts();
        job.published = s.published();
        return job;
    }

    String id() {
        return id;
    }

    TrainingParameters parameters() {
        return parameters;
    }

    synchronized JobState state() {
        return state;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    /** Asks a queued or running job to stop; false when it has already finished training. */
    synchronized boolean requestCancel() {
        if (state == JobState.QUEUED || state == JobState.RUNNING) {
            cancelRequested = true;
            if (state == JobState.QUEUED) {
                finish(JobState.CANCELLED, null);
            }
            return true;
        }
        return false;
    }

    synchronized boolean start() {
        if (state != JobState.QUEUED) {
            return false;
        }
        state = JobState.RUNNING;
        startedAt = Instant.now();
        return true;
    }

    synchronized void summary(ModelSummary s) {
        summary = s;
    }

    synchronized void progress(BatchProgress p) {
        progress = new TrainingStatus.Progress(p.epoch(), p.epochs(), p.batch(), p.batches(), p.fractionDone(),
                p.imagesPerSecond(), p.etaSeconds());
    }

    synchronized void epoch(EpochResult r) {
        history.add(r);
    }

    synchronized void trained(double seconds, String sha256) {
        trainingSeconds = seconds;
        envelopeSha256 = sha256;
        state = JobState.PUBLISH_PENDING;
    }

    synchronized int publishAttempted() {
        return ++publishAttempts;
    }

    synchronized void published(TrainingStatus.Published where) {
        published = where;
        finish(JobState.SUCCEEDED, null);
    }

    synchronized void finish(JobState finalState, String reason) {
        state = finalState;
        error = reason;
        finishedAt = Instant.now();
    }

    synchronized TrainingStatus snapshot() {
        return new TrainingStatus(id, state, error, parameters, createdAt, startedAt, finishedAt, progress,
                List.copyOf(history), summary, trainingSeconds, envelopeSha256, publishAttempts, published);
    }
}
