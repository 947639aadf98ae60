package io.featurerelay.transfer.service;

import io.featurerelay.learning.training.EpochResult;
import java.time.Instant;
import java.util.List;

/**
 * A base model as {@code GET /api/v1/base-models} lists it: what was received, which jobs start from it, and why
 * none did when none did.
 *
 * @param jobs        ids of the transfer jobs that start from this envelope (its target tasks and re-runs)
 * @param noJobReason why no target job started when it arrived (no target fits, its data is not readable here,
 *                    no classes left), or null when jobs started
 * @see BaseModel the other fields
 */
public record RegisteredBaseModel(String id, String sha256, String dataset, String location,
        List<Integer> sourceClasses, List<String> classNames, List<Integer> inputShape, List<EpochResult> history,
        double trainingSeconds, Instant receivedAt, long envelopeBytes, List<String> jobs, String noJobReason) {

    static RegisteredBaseModel of(BaseModel m, List<String> jobs, String noJobReason) {
        return new RegisteredBaseModel(m.id(), m.sha256(), m.dataset(), m.location(), m.sourceClasses(),
                m.classNames(), m.inputShape(), m.history(), m.trainingSeconds(), m.receivedAt(), m.envelopeBytes(),
                List.copyOf(jobs), noJobReason);
    }
}
