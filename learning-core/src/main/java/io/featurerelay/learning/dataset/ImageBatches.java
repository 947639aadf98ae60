package io.featurerelay.learning.dataset;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Batches of an {@link ImageDataset}: NCHW float features scaled to [0,1] and one-hot labels. */
public final class ImageBatches {

    private ImageBatches() {
    }

    /** The images at {@code indices}, in that order. */
    public static DataSet batch(ImageDataset data, int[] indices) {
        int imageSize = data.shape().size();
        float[] features = new float[indices.length * imageSize];
        float[] labels = new float[indices.length * data.numClasses()];
        byte[] pixels = data.pixels();
        for (int b = 0; b < indices.length; b++) {
            int src = indices[b] * imageSize;
            int dst = b * imageSize;
            for (int j = 0; j < imageSize; j++) {
                features[dst + j] = (pixels[src + j] & 0xFF) * (1f / 255f);
            }
            labels[b * data.numClasses() + data.labels()[indices[b]]] = 1f;
        }
        ImageShape s = data.shape();
        INDArray f = Nd4j.create(features, new long[] {indices.length, s.channels(), s.height(), s.width()}, 'c');
        INDArray l = Nd4j.create(labels, new long[] {indices.length, data.numClasses()}, 'c');
        return new DataSet(f, l);
    }

    /** One image as a batch of one. */
    public static INDArray single(byte[] chw, ImageShape shape) {
        float[] features = new float[chw.length];
        for (int j = 0; j < chw.length; j++) {
            features[j] = (chw[j] & 0xFF) * (1f / 255f);
        }
        return Nd4j.create(features, new long[] {1, shape.channels(), shape.height(), shape.width()}, 'c');
    }
}
