package io.featurerelay.learning.model;

/**
 * How a network updates its weights.
 *
 * @param optimizer    Adadelta (default) or Adam
 * @param learningRate Adam's step size (1e-3 by default); Adadelta ignores it
 * @param seed         seed of weight initialisation, shuffling and dropout
 */
public record Hyperparameters(Optimizer optimizer, double learningRate, long seed) {

    public static final long DEFAULT_SEED = 42;

    public Hyperparameters {
        if (optimizer == null) {
            throw new IllegalArgumentException("optimizer must be set");
        }
        if (!(learningRate > 0 && learningRate <= 10)) {
            throw new IllegalArgumentException("learningRate must be in (0, 10], got " + learningRate);
        }
    }

    public static Hyperparameters defaults() {
        return new Hyperparameters(Optimizer.ADADELTA, 1e-3, DEFAULT_SEED);
    }
}
