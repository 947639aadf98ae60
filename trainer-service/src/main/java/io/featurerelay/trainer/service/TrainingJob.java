package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobLifecycle;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** One job's mutable state; the training thread writes it, REST threads read snapshots. */
final class TrainingJob extends JobLifecycle {

    private final String id;
    private final TrainingParameters parameters;
    private TrainingStatus.Progress progress;
    private final List<EpochResult> history = new ArrayList<>();
    private ModelSummary summary;
    private Double trainingSeconds;
    private String envelopeSha256;
    private int publishAttempts;
    private TrainingStatus.Published published;

    TrainingJob(String id, TrainingParameters parameters, Instant createdAt) {
        super(createdAt);
        this.id = id;
        this.parameters = parameters;
    }

    /** A job read back from its store. */
    static TrainingJob restore(TrainingStatus s) {
        TrainingJob job = new TrainingJob(s.id(), s.parameters(), s.createdAt());
        job.restore(s.state(), s.error(), s.startedAt(), s.finishedAt());
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
        publishPending();
    }

    synchronized int publishAttempted() {
        return ++publishAttempts;
    }

    synchronized void published(TrainingStatus.Published where) {
        published = where;
        finish(JobState.SUCCEEDED, null);
    }

    synchronized TrainingStatus snapshot() {
        return new TrainingStatus(id, state(), error(), parameters, createdAt(), startedAt(), finishedAt(), progress,
                List.copyOf(history), summary, trainingSeconds, envelopeSha256, publishAttempts, published);
    }
}
