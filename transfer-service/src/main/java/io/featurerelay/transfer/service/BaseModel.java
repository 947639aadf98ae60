package io.featurerelay.transfer.service;

import io.featurerelay.learning.training.EpochResult;
import java.time.Instant;
import java.util.List;

/**
 * A verified envelope in the store: where a transfer's lineage starts.
 *
 * @param id               the base model id
 * @param sha256           SHA-256 of the whole envelope
 * @param dataset          the dataset the base was trained on
 * @param location         where the trainer read the dataset (absolute), or null when the envelope does not say
 * @param sourceClasses    its classes, as indices of the full dataset
 * @param classNames       their names
 * @param inputShape       [channels, height, width]
 * @param history          the base run's epochs
 * @param trainingSeconds  the base run's training time
 * @param receivedAt       when this service stored it
 * @param envelopeBytes    size of the envelope
 */
public record BaseModel(String id, String sha256, String dataset, String location, List<Integer> sourceClasses,
        List<String> classNames, List<Integer> inputShape, List<EpochResult> history, double trainingSeconds,
        Instant receivedAt, long envelopeBytes) {
}
