package io.featurerelay.transfer.service;

import java.util.List;

/**
 * What one learning-curve job trains, every default filled in. Model 2 always has a fresh head and trains on the
 * featurized fast path.
 *
 * @param baseModelId          the stored base model
 * @param budgets              images per class of each point, ascending, 0 (all) last
 * @param baseline             whether the from-scratch baseline trains at each budget
 * @param fineTuneEpochs       fine-tuning epochs after model 2 at each budget; 0: no fine-tune line
 * @param fineTuneLearningRate fine-tuning's step (Adam's rate, or the scale of Adadelta's step)
 */
public record LearningCurveParameters(String baseModelId, String dataset, String dataDir, List<Integer> classes,
        List<Integer> budgets, int epochs, int batchSize, String optimizer, double learningRate, long seed,
        boolean baseline, int fineTuneEpochs, double fineTuneLearningRate) {

    /** The roles trained at each budget, in training order. */
    public List<String> roles() {
        List<String> roles = new java.util.ArrayList<>(List.of(TransferJobHandler.TRANSFER));
        if (fineTuneEpochs > 0) {
            roles.add(TransferJobHandler.FINE_TUNE);
        }
        if (baseline) {
            roles.add(TransferJobHandler.SCRATCH);
        }
        return roles;
    }

    /** A budget's label in the API and the metrics: the number, or {@code all}. */
    public static String label(int budget) {
        return budget == 0 ? "all" : Integer.toString(budget);
    }

    /** The transfer parameters of one budget's trainings. */
    TransferParameters transfer(int budget) {
        return new TransferParameters("learning-curve", dataset, dataDir, classes, epochs, batchSize, "fresh",
                baseline, true, optimizer, learningRate, seed, fineTuneEpochs, fineTuneLearningRate, budget);
    }
}
