package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The im2col + sgemm convolution against the definition of a valid, stride-1 convolution. */
class Im2colConvolutionTest {

    /**
     * n, channels, height, width, filters, kernel, relu: the reference network's first layer; CIFAR-10's
     * three channels (the product is split by columns, with a remainder); a rectangular image; 1x1 and 5x5.
     */
    @ParameterizedTest
    @CsvSource({"3,1,28,28,32,3,true", "2,3,32,32,32,3,false", "1,3,32,32,64,3,true", "2,3,9,7,5,3,true",
            "4,2,5,5,3,1,false", "1,1,6,6,4,5,true"})
    void equalsTheDefinition(int n, int channels, int height, int width, int filters, int kernel, boolean relu) {
        SplittableRandom random = new SplittableRandom(n * 131L + channels * 17L + height + kernel);
        INDArray in = Nd4j.create(randoms(random, n * channels * height * width), new long[] {n, channels, height,
                width}, 'c');
        // the weights and bias as views into one flat array at an offset, as the network's parameters are
        int weightCount = filters * channels * kernel * kernel;
        INDArray flat = Nd4j.create(randoms(random, 7 + weightCount + filters), new long[] {7 + weightCount + filters},
                'c');
        INDArray weights = flat.get(NDArrayIndex.interval(7, 7 + weightCount))
                .reshape('c', filters, channels, kernel, kernel);
        INDArray bias = flat.get(NDArrayIndex.interval(7 + weightCount, 7 + weightCount + filters));
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        INDArray out = Nd4j.create(DataType.FLOAT, n, filters, outHeight, outWidth).assign(Float.NaN);

        Im2colConvolution.convolve(in, weights, bias, out, relu);

        for (int b = 0; b < n; b++) {
            for (int f = 0; f < filters; f++) {
                for (int i = 0; i < outHeight; i++) {
                    for (int j = 0; j < outWidth; j++) {
                        double sum = bias.getDouble(f);
                        for (int c = 0; c < channels; c++) {
                            for (int di = 0; di < kernel; di++) {
                                for (int dj = 0; dj < kernel; dj++) {
                                    sum += weights.getDouble(f, c, di, dj) * in.getDouble(b, c, i + di, j + dj);
                                }
                            }
                        }
                        double expected = relu ? Math.max(0, sum) : sum;
                        assertThat(out.getDouble(b, f, i, j)).as("[%d,%d,%d,%d]", b, f, i, j)
                                .isCloseTo(expected, within(1e-4));
                    }
                }
            }
        }
    }

    @Test
    void refusesShapesThatDoNotFit() {
        INDArray in = Nd4j.create(DataType.FLOAT, 1, 1, 8, 8);
        INDArray weights = Nd4j.create(DataType.FLOAT, 4, 1, 3, 3);
        INDArray bias = Nd4j.create(DataType.FLOAT, 4);
        INDArray wrongSide = Nd4j.create(DataType.FLOAT, 1, 4, 5, 5);
        assertThatThrownBy(() -> Im2colConvolution.convolve(in, weights, bias, wrongSide, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("valid convolution");
    }

    @Test
    void takesTheFirstLayersOfTheReferenceDatasetsOnly() {
        assertThat(Im2colConvolution.suits(1, 3)).isTrue();
        assertThat(Im2colConvolution.suits(3, 3)).isTrue();
        assertThat(Im2colConvolution.suits(32, 3)).isFalse();
    }

    private static float[] randoms(SplittableRandom random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return values;
    }
}
