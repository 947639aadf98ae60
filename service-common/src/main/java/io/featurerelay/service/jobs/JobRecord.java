package io.featurerelay.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One row of a service's {@code jobs} table: the lifecycle columns the machinery owns, and the two documents the
 * service owns ({@code parameters}, fixed at submission, and {@code details}, written while the job runs).
 *
 * @param owner       the replica holding the job's lease (null while queued or after it ended)
 * @param lastOwner   the replica that claimed it last (which replica ran it, also after it ended)
 * @param leaseUntil  when the lease expires unless renewed
 * @param attempts    how many times a replica has claimed it (more than one: it was taken over or resumed)
 * @param takeovers   claims after its replica died holding it (not after a clean hand-back)
 */
public record JobRecord(String id, JobState state, String error, JsonNode parameters, JsonNode details,
        Instant createdAt, Instant startedAt, Instant finishedAt, Instant updatedAt, String owner, String lastOwner, Instant leaseUntil,
        int attempts, int takeovers, boolean cancelRequested) {
}
