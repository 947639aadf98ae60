package io.featurerelay.learning.training;

import io.featurerelay.learning.model.Hyperparameters;

/**
 * How long and in what steps to train.
 *
 * @param epochs          passes over the training data
 * @param batchSize       images per optimisation step
 * @param hyperparameters optimizer, learning rate, seed
 */
public record TrainingConfig(int epochs, int batchSize, Hyperparameters hyperparameters) {

    public static final int DEFAULT_EPOCHS = 5;
    public static final int DEFAULT_BATCH_SIZE = 128;

    public TrainingConfig {
        if (epochs <= 0) {
            throw new IllegalArgumentException("epochs must be positive, got " + epochs);
        }
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        if (hyperparameters == null) {
            throw new IllegalArgumentException("hyperparameters must be set");
        }
    }

    public static TrainingConfig defaults() {
        return new TrainingConfig(DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, Hyperparameters.defaults());
    }

    public TrainingConfig withEpochs(int n) {
        return new TrainingConfig(n, batchSize, hyperparameters);
    }
}
