package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Winograd's F(4x4, 3x3) forward pass against libnd4j's conv2d: two implementations agree. */
class WinogradConvolutionTest {

    @BeforeAll
    static void nativeBackend() {
        NativeBackend.configure();
    }

    /**
     * The output equals conv2d's (then the ReLU) within a few float32 bits of its scale: the CIFAR-10 variant's
     * second layer over several blocks of tiles, the reference network's, outputs that leave partial tiles at the
     * right and the bottom, a single tile, and channel counts off the vector width; each shape three times on one
     * instance with another batch size and new weights (read, as the network's are, from a view at an offset of a
     * flat array).
     */
    @ParameterizedTest
    @CsvSource({"9,30,30,64,64,false", "3,26,26,32,32,true", "2,11,14,32,40,false", "1,5,7,33,35,true",
            "1,6,6,32,32,false", "20,9,9,36,34,true"})
    void forwardEqualsConv2d(int n, int height, int width, int in, int out, boolean relu) {
        WinogradConvolution winograd = WinogradConvolution.forwardPass(in, out, height, width, relu);
        for (int batch : new int[] {n, n + 3, n}) {
            SplittableRandom random = new SplittableRandom(batch * 13L + width * 3L + out);
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            long weightCount = (long) out * in * 9;
            INDArray flat = Nd4j.create(DataType.FLOAT, 7 + weightCount + out).assign(Float.NaN);
            INDArray weights = flat.get(NDArrayIndex.interval(7, 7 + weightCount)).reshape('c', out, in, 3, 3)
                    .assign(RandomArrays.uniform(random, out, in, 3, 3));
            INDArray bias = flat.get(NDArrayIndex.interval(7 + weightCount, 7 + weightCount + out))
                    .reshape('c', new long[] {out}).assign(RandomArrays.uniform(random, out));
            INDArray output = Nd4j.create(DataType.FLOAT, batch, height - 2, width - 2, out).assign(Float.NaN);

            winograd.forward(input, weights, bias, output);

            INDArray expected = Nd4j.create(DataType.FLOAT, batch, height - 2, width - 2, out);
            Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(input, weights.dup(), bias.dup())
                    .addOutputs(expected).addIntegerArguments(3, 3, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            if (relu) {
                Transforms.relu(expected, false);
            }
            double scale = Math.max(1, expected.amaxNumber().doubleValue());
            double difference = output.sub(expected).amaxNumber().doubleValue();
            assertThat(difference).as("largest difference against conv2d (scale %.3g)", scale)
                    .isLessThan(2e-5 * scale);
        }
    }

    /**
     * Pooling on the way gives the bits of the forward pass followed by the network's ReLU and max pooling
     * ({@link DirectLoops#reluMaxPool}), and conv2d's within a few float32 bits: the reference network's second layer,
     * the CIFAR-10 variant's over several blocks, odd outputs whose last row or column no whole window takes (9x12,
     * 5x7), a single tile, channel counts off the vector width; twice on one instance with another batch size, into
     * an output filled with NaN first (every pooled value is written).
     */
    @ParameterizedTest
    @CsvSource({"3,26,26,32,32", "9,30,30,64,64", "2,11,14,32,40", "2,7,9,33,35", "1,6,6,32,32"})
    void forwardPooledEqualsForwardThenReluMaxPool(int n, int height, int width, int in, int out) {
        WinogradConvolution winograd = WinogradConvolution.forwardPass(in, out, height, width, false);
        int pooledHeight = (height - 2) / 2;
        int pooledWidth = (width - 2) / 2;
        for (int batch : new int[] {n, n + 2}) {
            SplittableRandom random = new SplittableRandom(batch * 17L + height * 3L + in);
            // uniform on [-1, 1): the ReLU and the windows' maxima have both signs to choose from
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            INDArray weights = RandomArrays.uniform(random, out, in, 3, 3);
            INDArray bias = RandomArrays.uniform(random, out);
            INDArray pooled = Nd4j.create(DataType.FLOAT, batch, out, pooledHeight, pooledWidth).assign(Float.NaN);

            winograd.forwardPooled(input, weights, bias, pooled);

            INDArray convolved = Nd4j.create(DataType.FLOAT, batch, height - 2, width - 2, out);
            winograd.forward(input, weights, bias, convolved);
            INDArray expected = Nd4j.create(DataType.FLOAT, batch, out, pooledHeight, pooledWidth);
            DirectLoops.reluMaxPool(convolved, expected, 2);
            assertThat(java.util.Arrays.equals(pooled.data().asFloat(), expected.data().asFloat()))
                    .as("the bits of forward + reluMaxPool").isTrue();

            INDArray direct = Nd4j.create(DataType.FLOAT, batch, height - 2, width - 2, out);
            Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(input, weights, bias)
                    .addOutputs(direct).addIntegerArguments(3, 3, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            INDArray directPooled = Nd4j.create(DataType.FLOAT, batch, out, pooledHeight, pooledWidth);
            DirectLoops.reluMaxPool(direct, directPooled, 2);
            double scale = Math.max(1, directPooled.amaxNumber().doubleValue());
            assertThat(pooled.sub(directPooled).amaxNumber().doubleValue())
                    .as("largest difference against conv2d + reluMaxPool (scale %.3g)", scale).isLessThan(2e-5 * scale);
            assertThat(pooled.eq(0).castTo(DataType.FLOAT).sumNumber().doubleValue())
                    .as("windows the ReLU zeroed").isGreaterThan(0).isLessThan(pooled.length());
        }
    }

    /**
     * The weights' transform is kept from one call to the next only while the weights are the same bits: one
     * weight changed in place, as a training step changes them, gives the next call the output of a fresh instance
     * (bit for bit), not the last call's.
     */
    @Test
    void weightsChangedInPlaceAreTransformedAgain() {
        int n = 2;
        int side = 10;
        int channels = 32;
        SplittableRandom random = new SplittableRandom(31);
        INDArray input = RandomArrays.uniform(random, n, side, side, channels);
        INDArray weights = RandomArrays.uniform(random, channels, channels, 3, 3);
        INDArray bias = RandomArrays.uniform(random, channels);
        WinogradConvolution kept = WinogradConvolution.forwardPass(channels, channels, side, side, false);
        INDArray before = Nd4j.create(DataType.FLOAT, n, channels, (side - 2) / 2, (side - 2) / 2);
        kept.forwardPooled(input, weights, bias, before);
        INDArray again = before.like();
        kept.forwardPooled(input, weights, bias, again);
        assertThat(again.data().asFloat()).as("the same weights again").containsExactly(before.data().asFloat());

        weights.putScalar(new long[] {5, 7, 1, 2}, weights.getFloat(5, 7, 1, 2) + 3f);
        INDArray after = before.like();
        kept.forwardPooled(input, weights, bias, after);
        INDArray fresh = before.like();
        WinogradConvolution.forwardPass(channels, channels, side, side, false).forwardPooled(input, weights, bias,
                fresh);
        assertThat(after.data().asFloat()).as("after the change").containsExactly(fresh.data().asFloat());
        assertThat(after.data().asFloat()).as("the change is seen").isNotEqualTo(before.data().asFloat());
    }

    /**
     * The input's gradient equals conv2d_bp's: the output's gradient zero-padded by 2 and convolved with the layer's
     * weights flipped and transposed, for the CIFAR-10 variant's second layer, the reference network's, a
     * rectangular image with partial tiles and unequal channel counts, and a 1x1 output's layer.
     */
    @ParameterizedTest
    @CsvSource({"5,30,30,64,64", "3,26,26,32,32", "2,13,10,40,33", "2,3,3,32,36"})
    void inputGradientEqualsConv2dBp(int n, int height, int width, int in, int out) {
        WinogradConvolution winograd = WinogradConvolution.inputGradientPass(in, out, height, width);
        for (int batch : new int[] {n, n + 2}) {
            SplittableRandom random = new SplittableRandom(batch * 19L + height * 5L + in);
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            INDArray outputGrad = RandomArrays.uniform(random, batch, height - 2, width - 2, out);
            long weightCount = (long) out * in * 9;
            INDArray flat = Nd4j.create(DataType.FLOAT, 3 + weightCount).assign(Float.NaN);
            INDArray weights = flat.get(NDArrayIndex.interval(3, 3 + weightCount)).reshape('c', out, in, 3, 3)
                    .assign(RandomArrays.uniform(random, out, in, 3, 3));
            INDArray inputGrad = Nd4j.create(DataType.FLOAT, batch, height, width, in).assign(Float.NaN);

            winograd.inputGradient(outputGrad, weights, inputGrad);

            INDArray expected = Nd4j.create(DataType.FLOAT, batch, height, width, in);
            Nd4j.exec(DynamicCustomOp.builder("conv2d_bp")
                    .addInputs(input, weights.dup(), Nd4j.zeros(DataType.FLOAT, out), outputGrad)
                    .addOutputs(expected, Nd4j.create(DataType.FLOAT, out, in, 3, 3), Nd4j.create(DataType.FLOAT, out))
                    .addIntegerArguments(3, 3, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            double scale = Math.max(1, expected.amaxNumber().doubleValue());
            double difference = inputGrad.sub(expected).amaxNumber().doubleValue();
            assertThat(difference).as("largest difference against conv2d_bp (scale %.3g)", scale)
                    .isLessThan(2e-5 * scale);
        }
    }

    /**
     * The weight and bias gradients equal conv2d_bp's: the CIFAR-10 variant's second layer over several blocks, the
     * reference network's, partial tiles on both sides with unequal channel counts, a single tile; each twice on one
     * instance (its sums start afresh), into views at an offset of a flat array.
     */
    @ParameterizedTest
    @CsvSource({"9,30,30,64,64", "4,26,26,32,32", "3,13,10,40,33", "2,5,6,32,36"})
    void weightGradientEqualsConv2dBp(int n, int height, int width, int in, int out) {
        WinogradWeightGradient winograd = new WinogradWeightGradient(in, out, height, width);
        for (int batch : new int[] {n, n + 3}) {
            SplittableRandom random = new SplittableRandom(batch * 23L + width * 7L + out);
            INDArray input = RandomArrays.uniform(random, batch, height, width, in);
            INDArray outputGrad = RandomArrays.uniform(random, batch, height - 2, width - 2, out);
            INDArray weights = RandomArrays.uniform(random, out, in, 3, 3);
            long weightCount = (long) out * in * 9;
            INDArray flat = Nd4j.create(DataType.FLOAT, 5 + weightCount + out).assign(Float.NaN);
            INDArray weightGrad = flat.get(NDArrayIndex.interval(5, 5 + weightCount)).reshape('c', out, in, 3, 3);
            INDArray biasGrad = flat.get(NDArrayIndex.interval(5 + weightCount, 5 + weightCount + out))
                    .reshape('c', new long[] {out});

            winograd.backward(input, outputGrad, weightGrad, biasGrad);

            INDArray expectedWeightGrad = Nd4j.create(DataType.FLOAT, out, in, 3, 3);
            INDArray expectedBiasGrad = Nd4j.create(DataType.FLOAT, out);
            Nd4j.exec(DynamicCustomOp.builder("conv2d_bp")
                    .addInputs(input, weights, Nd4j.zeros(DataType.FLOAT, out), outputGrad)
                    .addOutputs(Nd4j.create(DataType.FLOAT, batch, height, width, in), expectedWeightGrad,
                            expectedBiasGrad)
                    .addIntegerArguments(3, 3, 1, 1, 0, 0, 1, 1, 0, 1, 1).build());
            for (INDArray[] pair : new INDArray[][] {{weightGrad, expectedWeightGrad}, {biasGrad, expectedBiasGrad}}) {
                double scale = Math.max(1, pair[1].amaxNumber().doubleValue());
                double difference = pair[0].sub(pair[1]).amaxNumber().doubleValue();
                assertThat(difference).as("largest difference against conv2d_bp (scale %.3g)", scale)
                        .isLessThan(2e-5 * scale);
            }
        }
    }

    /**
     * A batch split over several lanes (threads) gives the same bits as on a thread whose native ops are limited
     * to one (one lane): each block of tiles is computed alike wherever it runs; the CIFAR-10 variant's forward pass
     * and the reference network's pooled one.
     */
    @ParameterizedTest
    @CsvSource({"64,30,11,false", "32,26,13,true"})
    void lanesGiveTheSameBitsAsOne(int channels, int side, int n, boolean pooled) throws Exception {
        WinogradConvolution winograd = WinogradConvolution.forwardPass(channels, channels, side, side, false);
        SplittableRandom random = new SplittableRandom(5);
        INDArray input = RandomArrays.uniform(random, n, side, side, channels);
        INDArray weights = RandomArrays.uniform(random, channels, channels, 3, 3);
        INDArray bias = RandomArrays.uniform(random, channels);
        long[] shape = pooled ? new long[] {n, channels, (side - 2) / 2, (side - 2) / 2}
                : new long[] {n, side - 2, side - 2, channels};
        assertOneLaneGivesTheBitsOfMany(output -> {
            if (pooled) {
                winograd.forwardPooled(input, weights, bias, output);
            } else {
                winograd.forward(input, weights, bias, output);
            }
        }, Nd4j.create(DataType.FLOAT, shape), Nd4j.create(DataType.FLOAT, shape));
    }

    /** {@code run} into {@code spread} on this thread (its lanes), then into {@code one} on a one-thread thread. */
    private static void assertOneLaneGivesTheBitsOfMany(java.util.function.Consumer<INDArray> run, INDArray spread,
            INDArray one) throws InterruptedException {
        run.accept(spread);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread limited = new Thread(() -> {
            try {
                NativeBackend.limitCurrentThread(1);
                run.accept(one);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        limited.start();
        limited.join();
        assertThat(failure.get()).isNull();
        // Arrays.equals compares the floats' bits (AssertJ's element-wise comparison of 550,000 takes seconds)
        assertThat(java.util.Arrays.equals(one.data().asFloat(), spread.data().asFloat()))
                .as("the same bits on one lane").isTrue();
    }

    @Test
    void refusesArraysOfAnotherShape() {
        WinogradConvolution winograd = WinogradConvolution.forwardPass(32, 32, 8, 8, false);
        INDArray input = Nd4j.create(DataType.FLOAT, 2, 8, 8, 32);
        INDArray weights = Nd4j.create(DataType.FLOAT, 32, 32, 3, 3);
        INDArray bias = Nd4j.create(DataType.FLOAT, 32);
        assertThatThrownBy(() -> winograd.forward(input, weights, bias, Nd4j.create(DataType.FLOAT, 2, 7, 7, 32)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 6, 6, 32]");
        assertThatThrownBy(() -> winograd.forward(Nd4j.create(DataType.FLOAT, 2, 8, 8, 31), weights, bias,
                Nd4j.create(DataType.FLOAT, 2, 6, 6, 32))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 8, 8, 32]");
        assertThatThrownBy(() -> winograd.forward(input, weights.permute(0, 1, 3, 2).dup('f'), bias,
                Nd4j.create(DataType.FLOAT, 2, 6, 6, 32))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WinogradConvolution.forwardPass(32, 32, 2, 8, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> winograd.inputGradient(input, weights, Nd4j.create(DataType.FLOAT, 2, 10, 10, 32)))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> winograd.forwardPooled(input, weights, bias, Nd4j.create(DataType.FLOAT, 2, 32, 6, 6)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 32, 3, 3]");
        assertThatThrownBy(() -> WinogradConvolution.forwardPass(32, 32, 8, 8, true).forwardPooled(input, weights, bias,
                Nd4j.create(DataType.FLOAT, 2, 32, 3, 3))).isInstanceOf(IllegalStateException.class);
        WinogradConvolution gradient = WinogradConvolution.inputGradientPass(32, 40, 8, 8);
        assertThatThrownBy(() -> gradient.inputGradient(Nd4j.create(DataType.FLOAT, 2, 6, 6, 40), weights,
                Nd4j.create(DataType.FLOAT, 2, 8, 8, 32))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[40, 32, 3, 3]");
    }

    @Test
    void suitsThreeByThreeKernelsOfEnoughChannelsForEachPass() {
        assertThat(WinogradConvolution.suits(64, 64, 3)).isTrue();
        assertThat(WinogradConvolution.suits(128, 64, 3)).isTrue();
        assertThat(WinogradConvolution.suits(32, 32, 3)).isFalse();
        assertThat(WinogradConvolution.suits(3, 64, 3)).isFalse();
        assertThat(WinogradConvolution.suits(64, 32, 3)).isFalse();
        assertThat(WinogradConvolution.suits(64, 64, 5)).isFalse();
        assertThat(WinogradWeightGradient.suits(32, 32, 3, false)).isTrue();
        assertThat(WinogradWeightGradient.suits(64, 64, 3, false)).isTrue();
        assertThat(WinogradWeightGradient.suits(1, 32, 3, false)).isFalse();
        assertThat(WinogradWeightGradient.suits(32, 16, 3, false)).isFalse();
        assertThat(WinogradWeightGradient.suits(32, 32, 3, true)).isFalse();
        assertThat(WinogradWeightGradient.suits(64, 64, 3, true)).isTrue();
        assertThat(WinogradWeightGradient.suits(64, 32, 3, true)).isFalse();
        assertThat(WinogradWeightGradient.suits(32, 32, 5, false)).isFalse();
        assertThat(WinogradConvolution.suitsPooled(32, 32, 3)).isTrue();
        assertThat(WinogradConvolution.suitsPooled(64, 64, 3)).isTrue();
        assertThat(WinogradConvolution.suitsPooled(1, 32, 3)).isFalse();
        assertThat(WinogradConvolution.suitsPooled(32, 16, 3)).isFalse();
        assertThat(WinogradConvolution.suitsPooled(32, 32, 5)).isFalse();
    }
}
