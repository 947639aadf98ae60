package io.featurerelay.learning.training;

/** Receives progress while a network trains; called on the training thread, so it must return quickly. */
public interface TrainingListener {

    TrainingListener NONE = new TrainingListener() {
    };

    default void onBatch(BatchProgress progress) {
    }

    default void onEpoch(EpochResult result) {
    }
}
