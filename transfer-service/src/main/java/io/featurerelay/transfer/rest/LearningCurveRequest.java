package io.featurerelay.transfer.rest;

import java.util.List;

/**
 * {@code POST /api/v1/learning-curves}: model 2, the baseline (unless {@code baseline} is false) and the fine-tuned
 * model (when {@code fineTuneEpochs} is above 0) trained at each label budget. {@code budgets}: 1 to 10 entries,
 * each images per class, 0 for all; every other field but {@code baseModelId} falls back to the default target task
 * (fine-tuning to none).
 */
public record LearningCurveRequest(String baseModelId, String dataset, String dataDir, List<Integer> classes,
        List<Integer> budgets, Integer epochs, Integer batchSize, String optimizer, Double learningRate, Long seed,
        Boolean baseline, Integer fineTuneEpochs, Double fineTuneLearningRate) {
}
