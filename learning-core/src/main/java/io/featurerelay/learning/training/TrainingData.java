package io.featurerelay.learning.training;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageDataset;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Examples the training loop can batch by index: images, or pre-computed feature vectors. */
public interface TrainingData {

    int size();

    /**
     * The examples at {@code indices}, in that order, with one-hot labels: new arrays that the caller owns
     * (the training loop closes them after each step, so that their off-heap memory is freed at once rather
     * than by the garbage collector), or views of a buffer that the next call reuses (closing a view does
     * nothing).
     */
    DataSet batch(int[] indices);

    /** Labels in {@code 0..numClasses-1}. */
    int label(int index);

    /**
     * Frees the off-heap memory these examples hold (pre-computed features: 320 MB for Fashion-MNIST's target
     * half) now rather than at some later garbage collection; the data cannot be used afterwards.
     */
    default void release() {
    }

    static TrainingData of(ImageDataset images) {
        return new TrainingData() {
            @Override
            public int size() {
                return images.size();
            }

            @Override
            public DataSet batch(int[] indices) {
                return ImageBatches.batch(images, indices);
            }

            @Override
            public int label(int index) {
                return images.labels()[index];
            }
        };
    }

    /**
     * Pre-computed features [n, featureSize] (float32, or float16 to halve their memory) with the labels of
     * the images they came from; batches are float32. A float16 batch is widened into a buffer that the next
     * batch reuses: its features are a view (which {@link Trainer#close} leaves alone), valid until the next
     * call; the training loop uses each batch once.
     */
    static TrainingData ofFeatures(INDArray features, int[] labels, int numClasses) {
        return ofFeatures(features, labels, numClasses, () -> Trainer.close(features));
    }

    /**
     * Runs the widening of float16 feature batches on blank rows until the JIT has compiled it (a service calls
     * this at start-up, as it warms the featurizing pipelines: the vector API's code is slow until then) and
     * returns how long that took, in milliseconds.
     */
    static long warmUpFeatureBatches() {
        return HalfRows.warmUp();
    }

    /** As {@link #ofFeatures(INDArray, int[], int)}, on a float16 store that {@link #release} frees. */
    static TrainingData ofFeatures(HalfStore store, int[] labels, int numClasses) {
        return ofFeatures(store.matrix(), labels, numClasses, store::close);
    }

    private static TrainingData ofFeatures(INDArray features, int[] labels, int numClasses, Runnable free) {
        return new TrainingData() {
            /** Widened rows; one row more than the largest batch, so that every batch is a true view of it. */
            private INDArray widened;

            @Override
            public int size() {
                return labels.length;
            }

            @Override
            public DataSet batch(int[] indices) {
                INDArray f;
                if (features.dataType() == DataType.HALF) {
                    // a fresh 2.4 MB native array per batch cost 2-3 ms to allocate (more than widening the
                    // rows); a reused one costs nothing
                    if (widened == null || widened.size(0) <= indices.length) {
                        Trainer.close(widened);
                        widened = Nd4j.createUninitialized(DataType.FLOAT, indices.length + 1L, features.size(1));
                    }
                    f = widened.get(NDArrayIndex.interval(0, indices.length), NDArrayIndex.all());
                    HalfRows.gather(features, indices, f);
                } else {
                    // a whole-row gather: NDArrayIndex.indices copies element by element and costs more than
                    // the head's whole training step
                    f = Nd4j.pullRows(features, 1, indices);
                }
                float[] oneHot = new float[indices.length * numClasses];
                for (int b = 0; b < indices.length; b++) {
                    oneHot[b * numClasses + labels[indices[b]]] = 1f;
                }
                return new DataSet(f, Nd4j.create(oneHot, new long[] {indices.length, numClasses}, 'c'));
            }

            @Override
            public int label(int index) {
                return labels[index];
            }

            @Override
            public void release() {
                Trainer.close(widened);
                widened = null;
                free.run();
            }
        };
    }

}
