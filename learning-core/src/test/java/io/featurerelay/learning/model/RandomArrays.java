package io.featurerelay.learning.model;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Float32 arrays of values uniform in [-1, 1) from a seeded stream, for comparing two implementations. */
final class RandomArrays {

    private RandomArrays() {
    }

    /** A new C-order array of this shape. */
    static INDArray uniform(SplittableRandom random, long... shape) {
        long length = 1;
        for (long s : shape) {
            length *= s;
        }
        float[] values = new float[Math.toIntExact(length)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return Nd4j.create(values, shape, 'c');
    }
}
