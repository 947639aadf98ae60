package io.featurerelay.trainer.rest;

import io.featurerelay.learning.model.ModelSpec;
import java.util.List;

/**
 * {@code POST /api/v1/trainings}: every field is optional and falls back to the configured defaults.
 *
 * @param dataset      fashion-mnist, mnist, cifar-10 or image-folder
 * @param dataDir      directory of the dataset's files
 * @param classes      source classes, e.g. [0,1,2,3,4]
 * @param epochs       passes over the training data
 * @param batchSize    images per step
 * @param optimizer    adadelta or adam
 * @param learningRate Adam's step size
 * @param seed         seed of initialisation, shuffling and dropout
 * @param spec         the network; absent: the reference network for the dataset's input
 */
public record TrainingRequest(String dataset, String dataDir, List<Integer> classes, Integer epochs, Integer batchSize,
        String optimizer, Double learningRate, Long seed, ModelSpec spec) {
}
