package io.featurerelay.learning.training;

/** Thrown between batches when the caller asked the training to stop. */
public class TrainingCancelledException extends RuntimeException {

    public TrainingCancelledException(int epoch, int batch) {
        super("training cancelled in epoch " + epoch + " before batch " + batch);
    }
}
