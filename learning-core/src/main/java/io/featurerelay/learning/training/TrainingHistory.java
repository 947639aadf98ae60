package io.featurerelay.learning.training;

import java.util.List;

/** Every epoch of a run and its total training time (evaluation excluded). */
public record TrainingHistory(List<EpochResult> epochs, double trainingSeconds) {

    public TrainingHistory {
        epochs = List.copyOf(epochs);
    }

    public EpochResult last() {
        return epochs.get(epochs.size() - 1);
    }

    /** Training images per second over the whole run. */
    public double imagesPerSecond(int imagesPerEpoch) {
        return trainingSeconds > 0 ? imagesPerEpoch * (double) epochs.size() / trainingSeconds : 0;
    }
}
