package io.featurerelay.learning.transfer;

import io.featurerelay.learning.training.TrainingHistory;

/**
 * Model 2 trained on the featurized fast path.
 *
 * @param featurizeSeconds time to compute the frozen activations of the train and test images, once
 * @param head             the head's training, epoch by epoch
 */
public record FeaturizedTraining(double featurizeSeconds, TrainingHistory head) {

    /** Featurizing plus every head epoch: what model 2 cost in all. */
    public double totalSeconds() {
        return featurizeSeconds + head.trainingSeconds();
    }
}
