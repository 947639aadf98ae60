package io.featurerelay.service.jobs;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * A job claimed by this replica, as its handler sees it: its parameters and what an earlier attempt recorded,
 * whether it should stop (cancelled, lease lost, replica stopping), and every write the handler makes, fenced by
 * this replica's lease.
 */
public final class RunningJob {

    private static final Logger LOG = Logger.getLogger(RunningJob.class);
    private static final long PROGRESS_INTERVAL_NANOS = 1_000_000_000L;

    private final JobRecord record;
    private final String owner;
    private final JobStore store;
    private final ArtifactStore artifacts;
    private volatile boolean cancelRequested;
    private volatile boolean lost;
    private volatile boolean stopping;
    private volatile boolean finished;
    private volatile Object lastDetails;
    private long lastProgressWrite;

    RunningJob(JobRecord record, String owner, JobStore store, ArtifactStore artifacts) {
        this.record = record;
        this.owner = owner;
        this.store = store;
        this.artifacts = artifacts;
        this.cancelRequested = record.cancelRequested();
    }

    public String id() {
        return record.id();
    }

    /** The job as it was claimed. */
    public JobRecord record() {
        return record;
    }

    /** 1 for the first run; more when this replica resumes a job another replica (or an earlier process) ran. */
    public int attempt() {
        return record.attempts();
    }

    public String owner() {
        return owner;
    }

    public <T> T parameters(Class<T> type) {
        return store.read(record.parameters(), type);
    }

    /** What the job had recorded when it was claimed (an earlier attempt's history and timings), or null. */
    public <T> T storedDetails(Class<T> type) {
        return store.read(record.details(), type);
    }

    /** Polled between batches: the job is cancelled, its lease is lost, or the replica is stopping. */
    public boolean stopRequested() {
        return cancelRequested || lost || stopping;
    }

    boolean cancelRequested() {
        return cancelRequested;
    }

    boolean lost() {
        return lost;
    }

    boolean stopping() {
        return stopping;
    }

    boolean finished() {
        return finished;
    }

    Object lastDetails() {
        return lastDetails;
    }

    void markCancelRequested() {
        cancelRequested = true;
    }

    void markLost() {
        lost = true;
    }

    void markStopping() {
        stopping = true;
    }

    /**
     * Writes the job's details now (state changes, epoch ends). A database outage is logged, not thrown: the job
     * goes on and the next write carries the same and more.
     *
     * @throws JobLostException when another replica holds the job now
     */
    public void saveDetails(Object details) {
        lastDetails = details;
        try {
            store.database().transaction(c -> {
                store.saveDetails(c, id(), owner, details);
                return null;
            });
        } catch (JobLostException e) {
            lost = true;
            throw e;
        } catch (StoreUnavailableException e) {
            LOG.warnf("job %s: details not saved (%s); the next save carries them", id(), e.getMessage());
        }
    }

    /** {@link #saveDetails} at most once a second: progress that every replica's GET can show. */
    public void saveProgress(Object details) {
        lastDetails = details;
        long now = System.nanoTime();
        if (now - lastProgressWrite >= PROGRESS_INTERVAL_NANOS) {
            lastProgressWrite = now;
            saveDetails(details);
        }
    }

    /**
     * Replaces the artifact {@code name} and writes the details in one transaction (an epoch's checkpoint and the
     * history that goes with it). A database outage is logged: the next epoch's checkpoint replaces it.
     */
    public void checkpoint(String name, ContentWriter content, Object details) {
        lastDetails = details;
        try {
            store.database().transaction(c -> {
                artifacts.write(c, id(), name, content);
                store.saveDetails(c, id(), owner, details);
                return null;
            });
        } catch (JobLostException e) {
            lost = true;
            throw e;
        } catch (StoreUnavailableException e) {
            LOG.warnf("job %s: checkpoint %s not saved (%s); the job goes on", id(), name, e.getMessage());
        }
    }

    public <T> Optional<T> readArtifact(String name, ContentReader<T> reader) {
        return artifacts.read(id(), name, reader);
    }

    public ArtifactStore artifacts() {
        return artifacts;
    }

    /**
     * Ends the job with {@code state} (SUCCEEDED, or PUBLISH_PENDING when a record still has to reach Kafka) in
     * the caller's transaction, so that the artifacts written in it and the state change land together.
     */
    public void finish(Connection c, JobState state, String error, Object details) throws SQLException {
        lastDetails = details;
        store.finish(c, id(), owner, state, error, details);
        finished = true;
    }

    /** {@link #finish(Connection, JobState, String, Object)} in a transaction of its own. */
    public void finish(JobState state, String error, Object details) {
        store.database().transaction(c -> {
            finish(c, state, error, details);
            return null;
        });
    }
}
