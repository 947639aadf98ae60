package io.featurerelay.transfer.rest;

import java.util.List;

/**
 * {@code POST /api/v1/transfers}: re-run from a stored base model; every field but {@code baseModelId}
 * falls back to the default target task.
 */
public record TransferRequest(String baseModelId, String dataset, String dataDir, List<Integer> classes,
        Integer epochs, Integer batchSize, String head, Boolean baseline, Boolean featurized, String optimizer,
        Double learningRate, Long seed) {
}
