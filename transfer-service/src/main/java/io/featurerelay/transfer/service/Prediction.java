package io.featurerelay.transfer.service;

import java.util.List;

/**
 * What a transfer's model sees in an image: every class with its probability, most probable first.
 *
 * @param model which model answered: transfer (model 2) or fine-tune
 */
public record Prediction(String transferId, String model, List<ClassProbability> predictions) {

    /**
     * @param label       label index in the target task (0..n-1)
     * @param className   the class's name
     * @param probability softmax probability
     */
    public record ClassProbability(int label, String className, double probability) {
    }
}
