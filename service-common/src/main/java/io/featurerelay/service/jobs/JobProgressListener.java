package io.featurerelay.service.jobs;

import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.service.metrics.RunMetrics;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * Feeds one model's training to its job: progress to the job row (at most once a second, so that every replica's
 * GET shows it), the run metrics, the log (every 10 s), and a checkpoint with the history at every epoch end.
 * Each service says how its details document takes a batch's progress and an epoch's result.
 *
 * @param <D> the service's details document (immutable; each update makes a new one)
 */
public abstract class JobProgressListener<D> implements TrainingListener {

    private static final Logger LOG = Logger.getLogger(JobProgressListener.class);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final RunningJob job;
    private final RunMetrics metrics;
    private final String role;
    private final String checkpoint;
    private final String label;
    private D details;
    private long lastLog = System.nanoTime();

    /**
     * @param role       the model's role in the run metrics (base, transfer, scratch)
     * @param checkpoint the artifact the epoch checkpoints go to
     * @param label      how the log names it, e.g. "training base-..." or "transfer ... scratch"
     */
    protected JobProgressListener(RunningJob job, RunMetrics metrics, String role, String checkpoint, String label,
            D details) {
        this.job = job;
        this.metrics = metrics;
        this.role = role;
        this.checkpoint = checkpoint;
        this.label = label;
        this.details = details;
    }

    /** The details with this batch's progress. */
    protected abstract D withProgress(D current, BatchProgress progress);

    /** The details with this epoch's result in the model's history. */
    protected abstract D withEpoch(D current, EpochResult result);

    public D details() {
        return details;
    }

    /** Replaces the details and saves them now (a phase change). */
    public void update(D changed) {
        details = changed;
        job.saveDetails(details);
    }

    @Override
    public void onBatch(BatchProgress p) {
        details = withProgress(details, p);
        job.saveProgress(details);
        metrics.progress(job.id(), role, p);
        long now = System.nanoTime();
        if (now - lastLog > LOG_INTERVAL_NANOS) {
            lastLog = now;
            LOG.infof("%s: epoch %d/%d batch %d/%d, %.0f images/s, ETA %.0f s", label, p.epoch(), p.epochs(),
                    p.batch(), p.batches(), p.imagesPerSecond(), p.etaSeconds());
        }
    }

    @Override
    public void onEpoch(EpochResult result) {
        details = withEpoch(details, result);
        metrics.epoch(job.id(), role, result);
    }

    @Override
    public void onCheckpoint(Checkpoint state) {
        job.checkpoint(checkpoint, state::writeTo, details);
    }
}
