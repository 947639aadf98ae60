package io.featurerelay.learning.training;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageDataset;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Examples the training loop can batch by index: images, or pre-computed feature vectors. */
public interface TrainingData {

    int size();

    /**
     * The examples at {@code indices}, in that order, with one-hot labels; new arrays that the caller owns
     * (the training loop closes them after each step, so that their off-heap memory is freed at once rather
     * than by the garbage collector).
     */
    DataSet batch(int[] indices);

    /** Labels in {@code 0..numClasses-1}. */
    int label(int index);

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
     * the images they came from; batches are float32.
     */
    static TrainingData ofFeatures(INDArray features, int[] labels, int numClasses) {
        return new TrainingData() {
            @Override
            public int size() {
                return labels.length;
            }

            @Override
            public DataSet batch(int[] indices) {
                INDArray f;
                if (features.dataType() == DataType.FLOAT) {
                    // a native row gather: NDArrayIndex.indices copies element by element and costs more
                    // than the head's whole training step
                    f = Nd4j.pullRows(features, 1, indices);
                } else {
                    INDArray rows = Nd4j.pullRows(features, 1, indices);
                    f = rows.castTo(DataType.FLOAT);
                    rows.close();
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
        };
    }

}
