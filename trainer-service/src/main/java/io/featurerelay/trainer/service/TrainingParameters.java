package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSpec;
import java.util.List;

/** A validated training request with every default filled in. */
public record TrainingParameters(String dataset, String dataDir, List<Integer> classes, int epochs, int batchSize,
        String optimizer, double learningRate, long seed, ModelSpec spec) {
}
