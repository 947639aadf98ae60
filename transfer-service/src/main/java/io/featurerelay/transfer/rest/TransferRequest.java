package io.featurerelay.transfer.rest;

import java.util.List;

/**
 * {@code POST /api/v1/transfers}: re-run from a stored base model; every field but {@code baseModelId}
 * falls back to the default target task. {@code fineTuneEpochs} (0: none), {@code fineTuneLearningRate} (default a
 * tenth of the head's step) and {@code trainPerClass} (images per class, 0 or absent: all) are issue 16's.
 */
public record TransferRequest(String baseModelId, String dataset, String dataDir, List<Integer> classes,
        Integer epochs, Integer batchSize, String head, Boolean baseline, Boolean featurized, String optimizer,
        Double learningRate, Long seed, Integer fineTuneEpochs, Double fineTuneLearningRate, Integer trainPerClass) {
}
