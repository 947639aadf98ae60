package io.featurerelay.learning.dataset;

import java.util.List;

/** The training images and the held-out test images of one dataset (or of the same class subset of it). */
public record TrainTestSplit(ImageDataset train, ImageDataset test) {

    public TrainTestSplit {
        if (!train.shape().equals(test.shape())) {
            throw new IllegalArgumentException("train images are " + train.shape() + " but test images are " + test.shape());
        }
    }

    /** Both splits restricted to the same classes, labels remapped to {@code 0..n-1}. */
    public TrainTestSplit subset(List<Integer> classes) {
        return new TrainTestSplit(train.subset(classes), test.subset(classes));
    }

    /**
     * A label budget: {@code perClass} training images of each class ({@link ImageDataset#samplePerClass}), every
     * test image kept (validation measures the same thing at every budget); 0 keeps every training image.
     */
    public TrainTestSplit withTrainPerClass(int perClass, long seed) {
        return perClass == 0 ? this : new TrainTestSplit(train.samplePerClass(perClass, seed), test);
    }

    public ImageShape shape() {
        return train.shape();
    }

    public List<String> classNames() {
        return train.classNames();
    }
}
