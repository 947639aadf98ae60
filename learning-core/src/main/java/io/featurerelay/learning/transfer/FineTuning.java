package io.featurerelay.learning.transfer;

import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.training.TrainingHistory;

/**
 * Model 2 fine-tuned: its feature layers unfrozen and the whole network trained on at a small step.
 *
 * @param network the fine-tuned network (model 2 itself is left as it was)
 * @param history the fine-tuning epochs, numbered from 1
 */
public record FineTuning(Network network, TrainingHistory history) {
}
