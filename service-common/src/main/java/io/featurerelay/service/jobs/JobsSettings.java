package io.featurerelay.service.jobs;

import java.time.Duration;

/**
 * How a replica takes part in the shared job table.
 *
 * @param replicaId    unique among the replicas that are up (the pod name on Kubernetes)
 * @param lease        how long a claimed job stays this replica's without a renewal (renewed every quarter of it)
 * @param pollInterval how often an idle replica looks for waiting jobs
 * @param maxAttempts  takeovers of one job (its replica died holding it) before it fails: a job that kills every
 *                     replica that runs it is not run forever
 * @param diskReserveMib MiB of the database's disk held back for recording the failure of a job that filled it
 */
public record JobsSettings(String replicaId, Duration lease, Duration pollInterval, int maxAttempts,
        int diskReserveMib) {

    public JobsSettings {
        if (diskReserveMib < 0) {
            throw new IllegalArgumentException("featurerelay.jobs.disk-reserve-mib must be 0 or more, not "
                    + diskReserveMib);
        }
    }

    /** Settings with the default disk reserve. */
    public JobsSettings(String replicaId, Duration lease, Duration pollInterval, int maxAttempts) {
        this(replicaId, lease, pollInterval, maxAttempts, 4);
    }
}
