package io.featurerelay.learning.experiment;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.transfer.HeadMode;
import java.nio.file.Path;
import java.util.List;

/**
 * One run of the reference experiment.
 *
 * @param dataset       which dataset
 * @param dataDir       where its files are; null for the dataset's default directory
 * @param sourceClasses classes of the base model (0-4)
 * @param targetClasses classes of model 2 and the baseline (5-9)
 * @param training      epochs, batch size, optimizer, seed (the same for all three models)
 * @param head          model 2's head: fresh or reused
 * @param featurized    train model 2 on pre-computed frozen activations (the fast path)
 * @param baseline      also train the from-scratch baseline
 */
public record ExperimentSettings(DatasetKind dataset, Path dataDir, List<Integer> sourceClasses,
        List<Integer> targetClasses, TrainingConfig training, HeadMode head, boolean featurized, boolean baseline) {

    public static final List<Integer> SOURCE_CLASSES = List.of(0, 1, 2, 3, 4);
    public static final List<Integer> TARGET_CLASSES = List.of(5, 6, 7, 8, 9);

    public static ExperimentSettings defaults() {
        return new ExperimentSettings(DatasetKind.FASHION_MNIST, null, SOURCE_CLASSES, TARGET_CLASSES,
                TrainingConfig.defaults(), HeadMode.FRESH, true, true);
    }
}
