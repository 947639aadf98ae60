package io.featurerelay.service.jobs;

/**
 * This replica no longer holds the job's lease (it expired while the replica was cut off, and another replica
 * took the job over): whatever the job was doing here must stop without writing anything more.
 */
public class JobLostException extends RuntimeException {

    public JobLostException(String jobId) {
        super("the lease of " + jobId + " is held by another replica now");
    }
}
