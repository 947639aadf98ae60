package io.featurerelay.learning.training;

/** Receives progress while a network trains; called on the training thread, so it must return quickly. */
public interface TrainingListener {

    TrainingListener NONE = new TrainingListener() {
    };

    default void onBatch(BatchProgress progress) {
    }

    default void onEpoch(EpochResult result) {
    }

    /**
     * The run's state at the end of an epoch, after {@link #onEpoch} for it and before the next epoch begins; a
     * later run resumes from it ({@link Trainer#train(io.featurerelay.learning.model.Network, TrainingData,
     * TrainingData, TrainingConfig, TrainingListener, java.util.function.BooleanSupplier, Checkpoint)}). Called
     * for every completed epoch. Writing it out ({@link Checkpoint#writeTo}) may take a moment; it is an
     * immutable value, so it may also be handed to another thread.
     */
    default void onCheckpoint(Checkpoint checkpoint) {
    }
}
