package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The hand-written loops against the plain definitions they implement, in double precision where the loop
 * computes in float (tolerances: a few float32 roundings, relative 1e-6). The float16 feature gather has its
 * own test (HalfRowsTest: every one of the 65,536 halves, rows of odd width).
 */
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

        // the loop reads the convolutions' NHWC layout; the definition below indexes NCHW
        DirectLoops.reluMaxPool(nhwc(in), out, window);

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

    /** n, channels, height, width, window: even and odd sides (rows and columns the windows leave over), non-square. */
    @ParameterizedTest
    @CsvSource({"3,4,8,8,2", "2,3,7,9,2", "2,2,10,7,3", "1,1,5,5,1", "2,2,9,4,4"})
    void maxPoolBackwardSendsEachGradientToTheFirstMaximumOfItsWindow(int n, int channels, int height, int width,
            int window) {
        SplittableRandom random = new SplittableRandom(height * 131L + width * 7L + window);
        float[] values = new float[n * channels * height * width];
        for (int i = 0; i < values.length; i++) {
            // few distinct values: windows with tied maxima, zeros and negatives (ReLU off) in every batch
            values[i] = random.nextInt(5) - 2;
        }
        INDArray in = Nd4j.create(values, new long[] {n, channels, height, width}, 'c');
        int oh = height / window;
        int ow = width / window;
        INDArray out = Nd4j.create(DataType.FLOAT, n, channels, oh, ow);
        DirectLoops.reluMaxPool(nhwc(in), out, window);
        // as the dropout after the pooling would: zero some outputs, which must then get no gradient
        for (int k = 0; k < out.length(); k += 5) {
            out.putScalar(k, 0f);
        }
        INDArray outGrad = Nd4j.rand(DataType.FLOAT, n, channels, oh, ow).addi(0.5);
        INDArray inGradNhwc = Nd4j.valueArrayOf(new long[] {n, height, width, channels}, 7f, DataType.FLOAT);
        float scale = 1f / 0.75f;

        DirectLoops.maxPoolBackward(nhwc(in), out, outGrad, inGradNhwc, window, scale);
        INDArray inGrad = inGradNhwc.permute(0, 3, 1, 2);

        float[][][][] expected = new float[n][channels][height][width];
        for (int b = 0; b < n; b++) {
            for (int c = 0; c < channels; c++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        if (!(out.getFloat(b, c, i, j) > 0)) {
                            continue;
                        }
                        int bestI = i * window;
                        int bestJ = j * window;
                        for (int di = 0; di < window; di++) {
                            for (int dj = 0; dj < window; dj++) {
                                if (in.getFloat(b, c, i * window + di, j * window + dj) > in.getFloat(b, c, bestI,
                                        bestJ)) {
                                    bestI = i * window + di;
                                    bestJ = j * window + dj;
                                }
                            }
                        }
                        expected[b][c][bestI][bestJ] = outGrad.getFloat(b, c, i, j) * scale;
                    }
                }
                for (int y = 0; y < height; y++) {
                    for (int x = 0; x < width; x++) {
                        assertThat(inGrad.getFloat(b, c, y, x)).as("[%d,%d,%d,%d]", b, c, y, x)
                                .isEqualTo(expected[b][c][y][x]);
                    }
                }
            }
        }
    }

    /** An NCHW array's NHWC copy: what the convolutions hand the pooling. */
    private static INDArray nhwc(INDArray nchw) {
        return nchw.permute(0, 2, 3, 1).dup('c');
    }

    /** Lengths not a multiple of the chunks, one over two of the loops' blocks; scale 1 is the bits-only loop. */
    @ParameterizedTest
    @CsvSource({"1001,2", "1001,1", "9009,1", "9009,0.5"})
    void reluBackwardPassesTheScaledGradientWhereTheActivationIsPositive(int length, float scale) {
        SplittableRandom random = new SplittableRandom(5);
        float[] act = new float[length];
        float[] grad = new float[length];
        for (int i = 0; i < length; i++) {
            act[i] = i % 3 == 0 ? 0f : (float) random.nextDouble(-1, 1);
            grad[i] = (float) random.nextDouble(-1, 1);
        }
        INDArray a = Nd4j.create(act, new long[] {length / 143, 143}, 'c');
        INDArray g = Nd4j.create(grad, new long[] {length / 143, 143}, 'c');
        DirectLoops.reluBackward(a, g, scale);
        float[] result = g.reshape(length).toFloatVector();
        for (int i = 0; i < length; i++) {
            assertThat(result[i]).as("element %d", i).isEqualTo(act[i] > 0 ? grad[i] * scale : 0f);
        }
    }

    @Test
    void softmaxAndCrossEntropyAndItsGradientFollowTheirDefinitions() {
        int n = 5;
        int classes = 4;
        float[] logits = {0.1f, -2f, 3f, 0.5f, 40f, 39f, -40f, 0f, 0f, 0f, 0f, 0f, -88f, 88f, 1f, 2f, 1e-3f, 2e-3f,
            -1e-3f, 0f};
        float[] bias = {0.2f, -0.1f, 0f, 0.3f};
        INDArray x = Nd4j.create(logits.clone(), new long[] {n, classes}, 'c');
        INDArray b = Nd4j.create(bias, new long[] {1, classes}, 'c');
        DirectLoops.biasSoftmax(x, b);
        INDArray labels = Nd4j.zeros(DataType.FLOAT, n, classes);
        for (int r = 0; r < n; r++) {
            labels.putScalar(r, (r * 3) % classes, 1f);
        }
        INDArray grad = Nd4j.create(DataType.FLOAT, n, classes);
        double loss = DirectLoops.crossEntropy(x, labels, grad);

        double expectedLoss = 0;
        for (int r = 0; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, (double) logits[r * classes + c] + bias[c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp((double) logits[r * classes + c] + bias[c] - max);
            }
            for (int c = 0; c < classes; c++) {
                double p = Math.exp((double) logits[r * classes + c] + bias[c] - max) / sum;
                double y = labels.getDouble(r, c);
                assertThat((double) x.getFloat(r, c)).as("softmax [%d,%d]", r, c).isCloseTo(p, within(1e-6));
                assertThat((double) grad.getFloat(r, c)).as("gradient [%d,%d]", r, c)
                        .isCloseTo((p - y) / n, within(1e-6));
                if (y > 0) {
                    // the float's log: a probability that rounds to 0 would give the 1e-30 floor, not infinity
                    expectedLoss -= Math.log(Math.max(p, 1e-30));
                }
            }
        }
        assertThat(loss).isCloseTo(expectedLoss / n, within(1e-4 * Math.max(1, expectedLoss / n)));
    }

    @Test
    void adaDeltaFollowsItsDefinitionOverSeveralStepsAndLeavesTheFrozenPrefixAlone() {
        int length = 2 * DirectLoops.UPDATE_BLOCK + 1234; // blocks and a partial block
        int from = 777; // a frozen prefix, as a network with frozen features has
        int trainable = length - from;
        float rho = 0.95f;
        float epsilon = 1e-6f;
        SplittableRandom random = new SplittableRandom(9);
        float[] p = new float[length];
        for (int i = 0; i < length; i++) {
            p[i] = (float) random.nextDouble(-1, 1);
        }
        double[] expected = new double[length];
        double[] msg = new double[trainable];
        double[] msdx = new double[trainable];
        for (int i = 0; i < length; i++) {
            expected[i] = p[i];
        }
        INDArray params = Nd4j.create(p.clone(), new long[] {length}, 'c');
        int blocks = (trainable + DirectLoops.UPDATE_BLOCK - 1) / DirectLoops.UPDATE_BLOCK;
        float[][] stateMsg = new float[blocks][DirectLoops.UPDATE_BLOCK];
        float[][] stateMsdx = new float[blocks][DirectLoops.UPDATE_BLOCK];
        for (int step = 0; step < 4; step++) {
            float[] g = new float[length];
            for (int i = 0; i < length; i++) {
                g[i] = (float) random.nextDouble(-0.1, 0.1);
            }
            DirectLoops.adaDelta(params, Nd4j.create(g, new long[] {length}, 'c'), from, stateMsg, stateMsdx, rho,
                    epsilon, 1f);
            for (int i = from; i < length; i++) {
                int k = i - from;
                msg[k] = rho * msg[k] + (1 - rho) * g[i] * g[i];
                double update = g[i] * Math.sqrt(msdx[k] + epsilon) / Math.sqrt(msg[k] + epsilon);
                msdx[k] = rho * msdx[k] + (1 - rho) * update * update;
                expected[i] -= update;
            }
        }
        float[] actual = params.toFloatVector();
        for (int i = 0; i < from; i++) {
            assertThat(actual[i]).as("frozen %d", i).isEqualTo(p[i]);
        }
        for (int i = from; i < length; i++) {
            assertThat((double) actual[i]).as("parameter %d", i).isCloseTo(expected[i], within(1e-6));
            int k = i - from;
            assertThat((double) stateMsg[k / DirectLoops.UPDATE_BLOCK][k % DirectLoops.UPDATE_BLOCK])
                    .as("msg %d", i).isCloseTo(msg[k], within(1e-6 * Math.max(1e-3, msg[k])));
        }
    }

    /**
     * The same values as libnd4j's assign from a permuted view: three channels (its own loop) and others, from a
     * whole array and from a view of images further into one (as a featurizing pipeline's last batch is a view).
     */
    @ParameterizedTest
    @CsvSource({"7, 3, 5, 4, 0", "1, 3, 32, 32, 0", "6, 2, 3, 9, 0", "2, 1, 4, 4, 0", "3, 3, 6, 5, 2"})
    void channelsLastIsThePermutation(int n, int c, int h, int w, int skipped) {
        INDArray all = Nd4j.rand(DataType.FLOAT, skipped + n, c, h, w);
        INDArray x = all.get(NDArrayIndex.interval(skipped, skipped + n), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all());
        INDArray out = Nd4j.create(DataType.FLOAT, n, h, w, c);
        DirectLoops.toChannelsLast(x, out);
        float[] expected = x.permute(0, 2, 3, 1).dup('c').reshape(-1).toFloatVector();
        assertThat(out.reshape(-1).toFloatVector()).containsExactly(expected);
    }

    @Test
    void columnSumsAreTheBiasGradient() {
        INDArray x = Nd4j.rand(DataType.FLOAT, 9, 13);
        INDArray sums = Nd4j.create(DataType.FLOAT, 1, 13);
        DirectLoops.columnSums(x, sums);
        assertThat(sums.toFloatVector()).containsExactly(x.sum(0).toFloatVector(), within(1e-5f));
    }

    /**
     * The row-by-row loop is the element-by-element definition: relu(x + bias), then one draw per element in order
     * from the same stream (so a seed gives the masks it gave before), kept ones scaled by 1/keep.
     */
    @Test
    void biasReluDropoutDrawsOncePerElementInOrder() {
        int rows = 37;
        int units = 19;
        INDArray x = Nd4j.rand(DataType.FLOAT, rows, units).subi(0.5);
        INDArray bias = Nd4j.rand(DataType.FLOAT, 1, units).subi(0.5).muli(0.2);
        float[] in = x.reshape((long) rows * units).toFloatVector();
        float[] b = bias.toFloatVector();
        double keep = 0.6;
        SplittableRandom reference = new SplittableRandom(9);
        float[] expected = new float[in.length];
        for (int k = 0; k < in.length; k++) {
            float a = Math.max(0f, in[k] + b[k % units]);
            expected[k] = reference.nextDouble() < keep ? a * (float) (1.0 / keep) : 0f;
        }
        DirectLoops.biasReluDropout(x, bias, keep, new SplittableRandom(9));
        assertThat(x.reshape((long) rows * units).toFloatVector()).containsExactly(expected);
    }

    /**
     * The dense layer's inverted dropout draws from a stream of our own, so no mask can be compared with DL4J's:
     * instead its definition. Each unit is kept with probability keep (binomial: within 5 standard deviations over
     * 200,000 units) and then scaled by exactly 1/keep, so the expected activation is the undropped one; the
     * mean over the kept units times keep equals the mean without dropout within the same bound; its backward
     * step (reluBackward with the same scale) passes gradient only through the kept units, scaled by 1/keep.
     */
    @ParameterizedTest
    @CsvSource({"0.5", "0.75", "0.9"})
    void denseDropoutKeepsTheExpectedShareScaledByOneOverKeep(double keep) {
        int rows = 1000;
        int units = 200;
        INDArray plain = Nd4j.rand(DataType.FLOAT, rows, units).subi(0.25);
        INDArray bias = Nd4j.rand(DataType.FLOAT, 1, units).muli(0.1);
        INDArray withoutDropout = plain.dup('c');
        DirectLoops.biasReluDropout(withoutDropout, bias, 1.0, new SplittableRandom(1));
        INDArray dropped = plain.dup('c');
        DirectLoops.biasReluDropout(dropped, bias, keep, new SplittableRandom(2));

        float[] a = withoutDropout.reshape((long) rows * units).toFloatVector();
        float[] d = dropped.reshape((long) rows * units).toFloatVector();
        int positive = 0;
        int kept = 0;
        double sumPlain = 0;
        double sumDropped = 0;
        float scale = (float) (1.0 / keep);
        for (int i = 0; i < a.length; i++) {
            sumPlain += a[i];
            sumDropped += d[i];
            if (a[i] > 0) {
                positive++;
                if (d[i] != 0) {
                    kept++;
                    assertThat(d[i]).as("kept unit %d", i).isEqualTo(a[i] * scale);
                }
            } else {
                assertThat(d[i]).as("inactive unit %d", i).isZero();
            }
        }
        double sigma = Math.sqrt(positive * keep * (1 - keep));
        assertThat((double) kept).isCloseTo(positive * keep, within(5 * sigma));
        assertThat(sumDropped / a.length).isCloseTo(sumPlain / a.length, within(0.01));

        INDArray grad = Nd4j.ones(DataType.FLOAT, rows, units);
        DirectLoops.reluBackward(dropped, grad, scale);
        float[] g = grad.reshape((long) rows * units).toFloatVector();
        for (int i = 0; i < g.length; i++) {
            assertThat(g[i]).as("gradient %d", i).isEqualTo(d[i] != 0 ? scale : 0f);
        }
    }
}
