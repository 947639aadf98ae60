package io.featurerelay.transfer.service;

import java.util.List;

/**
 * What one transfer job trains, every default filled in.
 *
 * @param target       name of the configured target task, or {@code manual} for a re-run
 * @param dataset      target dataset
 * @param dataDir      its directory
 * @param classes      target classes (remapped to 0..n-1)
 * @param epochs       epochs of model 2 and of the baseline
 * @param batchSize    images per step
 * @param head         fresh or reuse
 * @param baseline     whether the from-scratch baseline trains too
 * @param featurized   whether model 2 trains on pre-computed frozen activations
 * @param optimizer    adadelta or adam
 * @param learningRate Adam's step size
 * @param seed         shared by model 2 and the baseline
 * @param fineTuneEpochs       epochs of fine-tuning after model 2 (every layer trainable); 0: none
 * @param fineTuneLearningRate fine-tuning's step: Adam's learning rate, or the scale of Adadelta's step
 * @param trainPerClass        training images per class (a label budget, drawn with the seed); 0: all
 */
public record TransferParameters(String target, String dataset, String dataDir, List<Integer> classes, int epochs,
        int batchSize, String head, boolean baseline, boolean featurized, String optimizer, double learningRate,
        long seed, int fineTuneEpochs, double fineTuneLearningRate, int trainPerClass) {

    /** A label budget's label: the number, or {@code all}. */
    public String trainPerClassLabel() {
        return trainPerClass == 0 ? "all" : Integer.toString(trainPerClass);
    }
}
