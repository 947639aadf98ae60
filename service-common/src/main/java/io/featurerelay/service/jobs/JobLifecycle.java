package io.featurerelay.service.jobs;

import java.time.Instant;

/**
 * The states a job moves through, shared by training and transfer jobs: queued, running, then a final state;
 * cancellable while queued or running. Subclasses add what they record and synchronise on {@code this} too.
 */
public abstract class JobLifecycle {

    private final Instant createdAt;
    private JobState state = JobState.QUEUED;
    private String error;
    private Instant startedAt;
    private Instant finishedAt;
    private volatile boolean cancelRequested;

    protected JobLifecycle(Instant createdAt) {
        this.createdAt = createdAt;
    }

    /** Restores the lifecycle of a job read back from a store. */
    protected final synchronized void restore(JobState s, String e, Instant started, Instant finished) {
        state = s;
        error = e;
        startedAt = started;
        finishedAt = finished;
    }

    public synchronized JobState state() {
        return state;
    }

    /** Polled by the training loop between batches. */
    public boolean cancelRequested() {
        return cancelRequested;
    }

    /** Asks a queued or running job to stop; false when it is past training. */
    public synchronized boolean requestCancel() {
        if (state == JobState.QUEUED || state == JobState.RUNNING) {
            cancelRequested = true;
            if (state == JobState.QUEUED) {
                finish(JobState.CANCELLED, null);
            }
            return true;
        }
        return false;
    }

    /** A worker takes the job; false when it was cancelled while it waited. */
    public synchronized boolean start() {
        if (state != JobState.QUEUED) {
            return false;
        }
        state = JobState.RUNNING;
        startedAt = Instant.now();
        return true;
    }

    /** Back to the queue (after a restart): it starts afresh. */
    protected synchronized void requeueLifecycle() {
        state = JobState.QUEUED;
        startedAt = null;
        cancelRequested = false;
    }

    /** Trained, waiting for Kafka to acknowledge its result. */
    protected synchronized void publishPending() {
        state = JobState.PUBLISH_PENDING;
    }

    public synchronized void finish(JobState finalState, String reason) {
        state = finalState;
        error = reason;
        finishedAt = Instant.now();
    }

    protected Instant createdAt() {
        return createdAt;
    }

    protected synchronized String error() {
        return error;
    }

    protected synchronized Instant startedAt() {
        return startedAt;
    }

    protected synchronized Instant finishedAt() {
        return finishedAt;
    }
}
