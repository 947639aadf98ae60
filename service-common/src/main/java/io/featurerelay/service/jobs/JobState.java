package io.featurerelay.service.jobs;

/** Where a training or transfer job stands. */
public enum JobState {
    QUEUED,
    RUNNING,
    /** Trained and stored; its result waits for Kafka (retried with back-off until it is acknowledged). */
    PUBLISH_PENDING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    public boolean isFinal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
