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

/** The im2col + sgemm weight gradient of a first layer against its definition. */
class Im2colConvolutionTest {

    /**
     * The weight and bias gradients against their definitions, gw[f,c,di,dj] = Σ_b,i,j g[b,f,i,j]·x[b,c,i+di,j+dj]
     * and gb[f] = Σ g[b,f,i,j], with g the gradient after the ReLU's backward when the activations are given: the
     * reference shapes (the batch split into chunks, one of them short), CIFAR-10's
     * (the product split by positions), a rectangular image, 1x1 and 5x5, a single image.
     */
    @ParameterizedTest
    @CsvSource({"5,1,28,28,32,3,true", "3,3,32,32,64,3,false", "2,3,9,7,5,3,true", "4,2,5,5,3,1,false",
            "1,1,6,6,4,5,true"})
    void weightGradientsEqualTheirDefinition(int n, int channels, int height, int width, int filters, int kernel,
            boolean withRelu) {
        SplittableRandom random = new SplittableRandom(n * 71L + channels * 13L + height + kernel);
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        INDArray in = Nd4j.create(randoms(random, n * channels * height * width), new long[] {n, channels, height,
                width}, 'c');
        // gradient and activations NHWC, as the network keeps them; the definition below indexes their NCHW views
        INDArray gradNhwc = Nd4j.create(randoms(random, n * filters * outHeight * outWidth), new long[] {n,
                outHeight, outWidth, filters}, 'c');
        INDArray grad = gradNhwc.permute(0, 3, 1, 2);
        int weightCount = filters * channels * kernel * kernel;
        INDArray flat = Nd4j.create(DataType.FLOAT, 3 + weightCount + filters).assign(Float.NaN);
        INDArray gw = flat.get(NDArrayIndex.interval(3, 3 + weightCount)).reshape('c', filters, channels, kernel,
                kernel);
        INDArray gb = flat.get(NDArrayIndex.interval(3 + weightCount, 3 + weightCount + filters))
                .reshape('c', new long[] {filters});

        // the layer's activations, when given: the ReLU's backward zeroes the gradient where they are not positive
        INDArray activation = withRelu ? Nd4j.create(randoms(random, n * filters * outHeight * outWidth),
                new long[] {n, outHeight, outWidth, filters}, 'c') : null;
        INDArray effective = withRelu ? gradNhwc.mul(activation.gt(0).castTo(DataType.FLOAT)).permute(0, 3, 1, 2)
                : grad;

        INDArray patches = Nd4j.create(DataType.FLOAT, (long) n * outHeight * outWidth * channels * kernel * kernel);
        Im2colConvolution.backwardWeights(in, gradNhwc, activation, patches, gw, gb);

        for (int f = 0; f < filters; f++) {
            double bias = 0;
            for (int b = 0; b < n; b++) {
                for (int i = 0; i < outHeight; i++) {
                    for (int j = 0; j < outWidth; j++) {
                        bias += effective.getDouble(b, f, i, j);
                    }
                }
            }
            assertThat(gb.getDouble(f)).as("gb[%d]", f).isCloseTo(bias, within(1e-3 * (1 + Math.abs(bias))));
            for (int c = 0; c < channels; c++) {
                for (int di = 0; di < kernel; di++) {
                    for (int dj = 0; dj < kernel; dj++) {
                        double sum = 0;
                        for (int b = 0; b < n; b++) {
                            for (int i = 0; i < outHeight; i++) {
                                for (int j = 0; j < outWidth; j++) {
                                    sum += effective.getDouble(b, f, i, j)
                                            * in.getDouble(b, c, i + di, j + dj);
                                }
                            }
                        }
                        assertThat(gw.getDouble(f, c, di, dj)).as("gw[%d,%d,%d,%d]", f, c, di, dj)
                                .isCloseTo(sum, within(1e-3 * (1 + Math.abs(sum))));
                    }
                }
            }
        }
        assertThat(flat.getDouble(2)).as("nothing written before the view").isNaN();
    }

    @Test
    void refusesShapesThatDoNotFit() {
        INDArray in = Nd4j.create(DataType.FLOAT, 1, 1, 8, 8);
        INDArray gw = Nd4j.create(DataType.FLOAT, 4, 1, 3, 3);
        INDArray gb = Nd4j.create(DataType.FLOAT, 4);
        INDArray wrongSide = Nd4j.create(DataType.FLOAT, 1, 5, 5, 4);
        assertThatThrownBy(() -> Im2colConvolution.backwardWeights(in, wrongSide, null, Nd4j.create(DataType.FLOAT,
                1000), gw, gb))
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
