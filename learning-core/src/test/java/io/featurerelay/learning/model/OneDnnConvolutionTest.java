package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/** oneDNN's primitives driven directly against libnd4j's conv2d and conv2d_bp: two implementations agree. */
class OneDnnConvolutionTest {

    @BeforeAll
    static void nativeBackend() {
        NativeBackend.configure();
    }

    @Test
    void loadsBesideLibnd4j() {
        assertThat(OneDnnConvolution.available()).as("oneDNN's own library loads in this JVM").isTrue();
    }

    /**
     * The input, weight and bias gradients equal conv2d_bp's (NHWC, OIHW) within float32 summation order: the
     * reference network's second layer, CIFAR-10's, a rectangular image with a 5x5 kernel, one image, and the first
     * layers of both networks without the input's gradient (the network's first layer needs none); each shape
     * twice with another batch size on the same instance (one set of primitives per batch size), and the weights and
     * their gradients as views at an offset of a flat array, as the network's parameters are.
     */
    @ParameterizedTest
    @CsvSource({"16,26,26,32,64,3,true", "4,30,30,64,64,3,true", "3,11,8,5,7,5,true", "1,6,6,3,4,3,true",
            "16,28,28,1,32,3,false", "4,32,32,3,64,3,false"})
    void gradientsEqualConv2dBp(int n, int height, int width, int in, int out, int kernel, boolean inputGradient) {
        OneDnnConvolution direct = new OneDnnConvolution(in, out, kernel, height, width, inputGradient, false);
        for (int batch : new int[] {n, n + 1, n}) {
            SplittableRandom random = new SplittableRandom(batch * 31L + height * 7L + in);
            int outHeight = height - kernel + 1;
            int outWidth = width - kernel + 1;
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            INDArray outputGrad = RandomArrays.uniform(random, batch, outHeight, outWidth, out);
            long weightCount = (long) out * in * kernel * kernel;
            INDArray flat = Nd4j.create(DataType.FLOAT, 5 + 2 * weightCount + out).assign(Float.NaN);
            INDArray weights = flat.get(NDArrayIndex.interval(5, 5 + weightCount)).reshape('c', out, in, kernel,
                    kernel).assign(RandomArrays.uniform(random, out, in, kernel, kernel));
            INDArray weightGrad = flat.get(NDArrayIndex.interval(5 + weightCount, 5 + 2 * weightCount))
                    .reshape('c', out, in, kernel, kernel);
            INDArray biasGrad = flat.get(NDArrayIndex.interval(5 + 2 * weightCount, 5 + 2 * weightCount + out))
                    .reshape('c', new long[] {out});
            INDArray inputGrad = Nd4j.create(DataType.FLOAT, batch, height, width, in).assign(Float.NaN);

            direct.backward(input, weights, outputGrad, inputGradient ? inputGrad : null, weightGrad, biasGrad);

            INDArray expectedInputGrad = Nd4j.create(DataType.FLOAT, batch, height, width, in);
            INDArray expectedWeightGrad = Nd4j.create(DataType.FLOAT, out, in, kernel, kernel);
            INDArray expectedBiasGrad = Nd4j.create(DataType.FLOAT, out);
            Nd4j.exec(DynamicCustomOp.builder("conv2d_bp")
                    .addInputs(input, weights.dup(), Nd4j.zeros(DataType.FLOAT, out), outputGrad)
                    .addOutputs(expectedInputGrad, expectedWeightGrad, expectedBiasGrad)
                    .addIntegerArguments(kernel, kernel, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            if (inputGradient) {
                assertClose("input gradient", inputGrad, expectedInputGrad);
            } else {
                assertThat(inputGrad.isNaN().all()).as("no input gradient computed").isTrue();
            }
            assertClose("weight gradient", weightGrad, expectedWeightGrad);
            assertClose("bias gradient", biasGrad, expectedBiasGrad);
            assertThat(flat.getFloat(4)).as("the element before the weights is left alone").isNaN();
        }
    }

    /** The forward pass, with and without its ReLU, equals libnd4j's conv2d (NHWC, OIHW) then the ReLU. */
    @ParameterizedTest
    @CsvSource({"16,28,28,1,32,3,true", "8,26,26,32,64,3,false", "4,32,32,3,64,3,true", "3,11,8,5,7,5,false"})
    void forwardEqualsConv2d(int n, int height, int width, int in, int out, int kernel, boolean relu) {
        OneDnnConvolution direct = new OneDnnConvolution(in, out, kernel, height, width, true, relu);
        for (int batch : new int[] {n, n + 2, n}) {
            SplittableRandom random = new SplittableRandom(batch * 17L + width * 5L + out);
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            long weightCount = (long) out * in * kernel * kernel;
            INDArray flat = Nd4j.create(DataType.FLOAT, 3 + weightCount + out);
            INDArray weights = flat.get(NDArrayIndex.interval(3, 3 + weightCount)).reshape('c', out, in, kernel,
                    kernel).assign(RandomArrays.uniform(random, out, in, kernel, kernel));
            INDArray bias = flat.get(NDArrayIndex.interval(3 + weightCount, 3 + weightCount + out))
                    .reshape('c', new long[] {out}).assign(RandomArrays.uniform(random, out));
            INDArray output = Nd4j.create(DataType.FLOAT, batch, height - kernel + 1, width - kernel + 1, out)
                    .assign(Float.NaN);

            direct.forward(input, weights, bias, output);

            INDArray expected = Nd4j.create(DataType.FLOAT, batch, height - kernel + 1, width - kernel + 1, out);
            Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(input, weights.dup(), bias.dup())
                    .addOutputs(expected).addIntegerArguments(kernel, kernel, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            if (relu) {
                Transforms.relu(expected, false);
                assertThat(expected.minNumber().doubleValue()).isZero();
            } else {
                assertThat(expected.minNumber().doubleValue()).isNegative();
            }
            assertClose("output", output, expected);
        }
    }

    @Test
    void refusesArraysOfAnotherShape() {
        OneDnnConvolution direct = new OneDnnConvolution(2, 3, 3, 6, 6, true, false);
        INDArray input = Nd4j.create(DataType.FLOAT, 1, 6, 6, 2);
        INDArray weights = Nd4j.create(DataType.FLOAT, 3, 2, 3, 3);
        assertThatThrownBy(() -> direct.backward(input, weights, Nd4j.create(DataType.FLOAT, 1, 5, 5, 3),
                Nd4j.create(DataType.FLOAT, 1, 6, 6, 2), Nd4j.create(DataType.FLOAT, 3, 2, 3, 3),
                Nd4j.create(DataType.FLOAT, 3))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[1, 4, 4, 3]");
        assertThatThrownBy(() -> direct.backward(input, weights.permute(0, 1, 3, 2),
                Nd4j.create(DataType.FLOAT, 1, 4, 4, 3), Nd4j.create(DataType.FLOAT, 1, 6, 6, 2),
                Nd4j.create(DataType.FLOAT, 3, 2, 3, 3), Nd4j.create(DataType.FLOAT, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("C order");
    }

    /** Within 1e-4 of the larger magnitude of the two arrays (float32 sums of up to tens of thousands of terms). */
    private static void assertClose(String what, INDArray actual, INDArray expected) {
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        double difference = actual.sub(expected).amaxNumber().doubleValue();
        assertThat(difference).as("%s: largest difference against conv2d_bp (scale %.3g)", what, scale)
                .isLessThan(1e-4 * scale);
    }
}
