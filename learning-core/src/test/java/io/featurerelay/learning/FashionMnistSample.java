package io.featurerelay.learning;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.TrainTestSplit;
import java.net.URISyntaxException;
import java.nio.file.Path;

/** The committed Fashion-MNIST sample: 400 train and 100 test images of each of the 10 classes. */
public final class FashionMnistSample {

    private static TrainTestSplit loaded;

    private FashionMnistSample() {
    }

    public static Path directory() {
        try {
            return Path.of(FashionMnistSample.class.getResource("/fashion-mnist-sample/train-images-idx3-ubyte.gz")
                    .toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static synchronized TrainTestSplit load() {
        if (loaded == null) {
            loaded = DatasetKind.FASHION_MNIST.load(directory());
        }
        return loaded;
    }
}
