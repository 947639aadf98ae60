package io.featurerelay.learning.training;

/**
 * What one epoch achieved.
 *
 * @param epoch              1-based
 * @param loss               mean training loss over the epoch's batches
 * @param validationAccuracy accuracy on the held-out test split of the same classes
 * @param seconds            wall time of the epoch's training steps (evaluation excluded)
 * @param imagesPerSecond    training images per second in this epoch
 */
public record EpochResult(int epoch, double loss, double validationAccuracy, double seconds, double imagesPerSecond) {
}
