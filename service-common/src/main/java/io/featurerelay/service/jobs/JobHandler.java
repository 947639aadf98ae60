package io.featurerelay.service.jobs;

/**
 * What one kind of job does (a base training, a transfer). The job machinery claims the job, keeps its lease,
 * and ends it when the handler throws; the handler ends a successful job itself, with
 * {@link RunningJob#finish}, in the transaction that stores its artifacts.
 */
@FunctionalInterface
public interface JobHandler {

    /**
     * Runs (or resumes: {@link RunningJob#attempt()} above 1) the job. Polls {@link RunningJob#stopRequested()}
     * between steps and stops with {@code TrainingCancelledException} when it says so.
     */
    void run(RunningJob job) throws Exception;
}
