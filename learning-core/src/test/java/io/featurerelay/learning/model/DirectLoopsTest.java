package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The hand-written loops against the plain definitions they implement. */
class DirectLoopsTest {

    /** n, channels, side and window: the reference network's shape, odd sides (rows and columns left over), 3x3. */
    @ParameterizedTest
    @CsvSource({"5,32,24,2", "3,4,7,2", "2,3,10,3", "1,1,2,2", "4,2,9,4"})
    void reluMaxPoolIsReluOfTheMaximumOfEachWindow(int n, int channels, int side, int window) {
        SplittableRandom random = new SplittableRandom(side * 31L + window);
        float[] values = new float[n * channels * side * side];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1); // about half negative: the ReLU matters
        }
        INDArray in = Nd4j.create(values, new long[] {n, channels, side, side}, 'c');
        int pooledSide = side / window;
        INDArray out = Nd4j.create(DataType.FLOAT, n, channels, pooledSide, pooledSide);

        DirectLoops.reluMaxPool(in, out, window);

        for (int b = 0; b < n; b++) {
            for (int c = 0; c < channels; c++) {
                for (int i = 0; i < pooledSide; i++) {
                    for (int j = 0; j < pooledSide; j++) {
                        float max = Float.NEGATIVE_INFINITY;
                        for (int di = 0; di < window; di++) {
                            for (int dj = 0; dj < window; dj++) {
                                max = Math.max(max, in.getFloat(b, c, i * window + di, j * window + dj));
                            }
                        }
                        assertThat(out.getFloat(b, c, i, j)).as("[%d,%d,%d,%d]", b, c, i, j)
                                .isEqualTo(Math.max(0f, max));
                    }
                }
            }
        }
    }
}
