package io.featurerelay.learning.training;

/**
 * Progress inside an epoch, reported after each batch.
 *
 * @param epoch           1-based current epoch
 * @param epochs          epochs in the run
 * @param batch           1-based batch just finished
 * @param batches         batches per epoch
 * @param imagesPerSecond training images per second so far in this run
 * @param etaSeconds      estimated seconds until the run ends (training time only)
 */
public record BatchProgress(int epoch, int epochs, int batch, int batches, double imagesPerSecond, double etaSeconds) {

    /** Fraction of the whole run done, 0..1. */
    public double fractionDone() {
        return ((epoch - 1) * (double) batches + batch) / ((double) epochs * batches);
    }
}
