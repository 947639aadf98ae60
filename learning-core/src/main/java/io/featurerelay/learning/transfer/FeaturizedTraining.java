package io.featurerelay.learning.transfer;

import io.featurerelay.learning.training.TrainingHistory;

/**
 * Model 2 trained on the featurized fast path.
 *
 * @param featurizeSeconds           time to compute the frozen activations of the training images, once
 * @param validationFeaturizeSeconds time to compute those of the test images, once: validation work, kept out
 *                                   of the training time as every model's per-epoch validation is
 * @param head                       the head's training, epoch by epoch
 */
public record FeaturizedTraining(double featurizeSeconds, double validationFeaturizeSeconds, TrainingHistory head) {

    /**
     * Featurizing the training images plus every head epoch: model 2's training time, measured as the base's and
     * the baseline's are (their epochs without validation).
     */
    public double totalSeconds() {
        return featurizeSeconds + head.trainingSeconds();
    }
}
