package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Max pooling (square window equal to its stride, no padding, NCHW), the ReLU backward step, the head's small
 * per-batch operations and the Adadelta update, written in Java over the arrays' native memory.
 *
 * <p>Why by hand: in the oneDNN builds of libnd4j 1.0.0-M2.1, {@code maxpool2d} on NCHW arrays runs oneDNN's
 * reference kernel ("simple_nchw"), slower than the convolution it follows (18 ms forward, 25 ms backward
 * for a batch of 128 on two cores), and {@code relu_bp} takes several times what a plain loop does. The
 * forward pooling is branch-free (keeping the position of each maximum made it twice as slow, through
 * mispredicted branches); the backward step finds the maxima again, and folds in the backward of the ReLU
 * before the pooling and of the dropout after it, so the gradient is written once. Work is
 * split into one chunk per core on the common fork-join pool.
 */
final class DirectLoops {

    /** Elements that an elementwise loop copies into plain arrays at a time. */
    private static final int BLOCK = 4096;
    static final int CHUNKS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private DirectLoops() {
    }

    /**
     * {@code out = relu(max)} over each window of {@code in}: ReLU then max pooling, which is the same as max
     * pooling then ReLU, so the pooling reads the convolution's raw output and the ReLU touches the pooled
     * values only (a quarter of them). in [n, h, w, c] (NHWC, as the convolutions write it), out [n, c, oh, ow]
     * (NCHW: the order in which the dense layer reads its features, and DL4J's flattening); rows and columns past
     * the last whole window are left out, as DL4J's truncating pooling does. No record of where each maximum was:
     * the backward step finds it again, so inference (featurizing, evaluation) runs the branch-free loop alone.
     *
     * <p>On the floats' bits: a non-negative float orders as its bits do as an int, and a negative one is a
     * negative int, so the largest int of a window, or 0 if that is negative, is the bits of relu(max); the
     * channels of a pixel are contiguous, so each tap of the window is one vectorizable pass over them (the JIT
     * does not vectorize float maxima in Java 17, int maxima it does).
     */
    static void reluMaxPool(INDArray in, INDArray out, int window) {
        IntBuffer src = ints(in);
        IntBuffer dst = ints(out);
        int h = (int) in.size(1);
        int w = (int) in.size(2);
        int c = (int) in.size(3);
        int oh = (int) out.size(2);
        int ow = (int) out.size(3);
        if (out.size(1) != c || oh != h / window || ow != w / window) {
            throw new IllegalArgumentException("pooling " + in.shapeInfoToString() + " by " + window + " gives no "
                    + out.shapeInfoToString());
        }
        int planes = oh * ow;
        int rowLength = w * c;
        int span = ow * c;
        forEachChunk((int) in.size(0), (from, to) -> {
            int[] rowMax = new int[rowLength];
            int[] next = new int[rowLength];
            int[] best = new int[span];
            int[] column = new int[span];
            int[] pooled = new int[c * planes];
            for (int p = from; p < to; p++) {
                int image = p * h * rowLength;
                for (int i = 0; i < oh; i++) {
                    // the window's rows first, over whole input rows; then its columns: each tap's pixels of the
                    // pooled row gathered into one array, so that every loop runs over an array from index 0 (the
                    // JIT's vector loops do not run over offsets into a shared array, nor over one pixel's few
                    // channels)
                    src.get(image + i * window * rowLength, rowMax, 0, rowLength);
                    for (int di = 1; di < window; di++) {
                        src.get(image + (i * window + di) * rowLength, next, 0, rowLength);
                        for (int x = 0; x < rowLength; x++) {
                            rowMax[x] = Math.max(rowMax[x], next[x]);
                        }
                    }
                    for (int j = 0; j < ow; j++) {
                        System.arraycopy(rowMax, j * window * c, best, j * c, c);
                    }
                    for (int dj = 1; dj < window; dj++) {
                        for (int j = 0; j < ow; j++) {
                            System.arraycopy(rowMax, (j * window + dj) * c, column, j * c, c);
                        }
                        for (int e = 0; e < span; e++) {
                            best[e] = Math.max(best[e], column[e]);
                        }
                    }
                    int at = i * ow;
                    for (int j = 0; j < ow; j++) {
                        for (int k = 0; k < c; k++) {
                            pooled[k * planes + at + j] = Math.max(best[j * c + k], 0);
                        }
                    }
                }
                dst.put(p * c * planes, pooled);
            }
        });
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(in);
        Reference.reachabilityFence(out);
    }

    /**
     * Backward of ReLU, then max pooling, then (inverted) dropout: {@code inGrad} gets
     * {@code outGrad * scale} at the first maximum of each window of {@code in} (the pooling's input, before
     * or after the ReLU: where the output is positive the maximum is the same) where
     * the layer's output {@code out} is positive (zero where the maximum was zero, i.e. ReLU was off, or the
     * dropout dropped it), and zero elsewhere. in and inGrad [n, h, w, c] (NHWC), out and outGrad [n, c, oh, ow].
     * Image by image through plain arrays, without a branch: the window's maximum is found per channel as in
     * {@link #reluMaxPool} (on the bits), then its taps are visited in order and the first whose value equals it
     * takes the gradient, through masks, which the JIT vectorizes. The branches of a plain search mispredict on
     * every other window.
     */
    static void maxPoolBackward(INDArray in, INDArray out, INDArray outGrad, INDArray inGrad, int window,
            float scale) {
        IntBuffer input = ints(in);
        IntBuffer output = ints(out);
        FloatBuffer src = floats(outGrad);
        IntBuffer dst = ints(inGrad);
        int h = (int) inGrad.size(1);
        int w = (int) inGrad.size(2);
        int c = (int) inGrad.size(3);
        int oh = (int) outGrad.size(2);
        int ow = (int) outGrad.size(3);
        int planes = oh * ow;
        int span = ow * c;
        int taps = window * window;
        forEachChunk((int) inGrad.size(0), (from, to) -> {
            int[] x = new int[h * w * c];
            int[] gx = new int[h * w * c];
            int[] y = new int[c * planes];
            float[] gy = new float[c * planes];
            // the gradient each window passes on, pixel-major as the input: a pooled row's is contiguous
            int[] pass = new int[c * planes];
            // one pooled row at a time: each tap's values over the row gathered into one array, so that every loop
            // below runs over the whole row (loops over one pixel's few channels are too short for the JIT's
            // vector loops, which then never run)
            int[][] tap = new int[taps][span];
            int[] best = new int[span];
            int[] free = new int[span];
            int[] rowPass = new int[span];
            for (int p = from; p < to; p++) {
                input.get(p * h * w * c, x);
                output.get(p * c * planes, y);
                src.get(p * c * planes, gy);
                for (int k = 0; k < c; k++) {
                    for (int o = 0; o < planes; o++) {
                        int at = k * planes + o;
                        pass[o * c + k] = Float.floatToRawIntBits(gy[at] * scale) & positiveMask(y[at]);
                    }
                }
                java.util.Arrays.fill(gx, 0);
                for (int i = 0; i < oh; i++) {
                    for (int t = 0; t < taps; t++) {
                        int row = (i * window + t / window) * w + t % window;
                        for (int j = 0; j < ow; j++) {
                            System.arraycopy(x, (row + j * window) * c, tap[t], j * c, c);
                        }
                    }
                    System.arraycopy(tap[0], 0, best, 0, span);
                    for (int t = 1; t < taps; t++) {
                        int[] v = tap[t];
                        for (int e = 0; e < span; e++) {
                            best[e] = Math.max(best[e], v[e]);
                        }
                    }
                    java.util.Arrays.fill(free, -1);
                    // the pooled row's gradients from index 0, as every array of the loop below (see reluMaxPool)
                    System.arraycopy(pass, i * span, rowPass, 0, span);
                    for (int t = 0; t < taps; t++) {
                        int[] v = tap[t];
                        for (int e = 0; e < span; e++) {
                            int hit = equalMask(v[e], best[e]) & free[e];
                            v[e] = rowPass[e] & hit;
                            free[e] &= ~hit;
                        }
                        int row = (i * window + t / window) * w + t % window;
                        for (int j = 0; j < ow; j++) {
                            System.arraycopy(v, j * c, gx, (row + j * window) * c, c);
                        }
                    }
                }
                dst.put(p * h * w * c, gx);
            }
        });
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(in);
        Reference.reachabilityFence(out);
        Reference.reachabilityFence(outGrad);
        Reference.reachabilityFence(inGrad);
    }

    /** All ones where {@code a == b}, else zero, with no branch. */
    private static int equalMask(int a, int b) {
        int d = a ^ b;
        return ~((d | -d) >> 31);
    }

    /**
     * Backward of ReLU, optionally followed by inverted dropout, from the layer's output alone: where the output
     * is zero (inactive or dropped) the gradient is zero, elsewhere it is multiplied by {@code scale} (1/keep
     * after a dropout, 1 after a plain ReLU).
     */
    static void reluBackward(INDArray activation, INDArray grad, float scale) {
        IntBuffer act = ints(activation);
        FloatBuffer g = floats(grad);
        IntBuffer gBits = ints(grad);
        long length = activation.length();
        // a plain ReLU's on the bits alone: g & positiveMask(x) is x > 0 ? g : 0 exactly, and without the float
        // multiplication the JIT vectorizes the loop (twice as fast as the scaled one)
        boolean plain = scale == 1f;
        int chunk = (int) ((length + CHUNKS - 1) / CHUNKS);
        forEachChunk(CHUNKS, (from, to) -> {
            int[] a = new int[BLOCK];
            int[] bits = plain ? new int[BLOCK] : null;
            float[] d = plain ? null : new float[BLOCK];
            for (int c = from; c < to; c++) {
                int end = (int) Math.min(length, (long) (c + 1) * chunk);
                // in blocks through plain arrays, which the JIT vectorizes (indexed FloatBuffer access it does not)
                for (int k = c * chunk; k < end; k += BLOCK) {
                    int m = Math.min(BLOCK, end - k);
                    act.get(k, a, 0, m);
                    if (plain) {
                        gBits.get(k, bits, 0, m);
                        for (int q = 0; q < m; q++) {
                            bits[q] &= positiveMask(a[q]);
                        }
                        gBits.put(k, bits, 0, m);
                    } else {
                        g.get(k, d, 0, m);
                        for (int q = 0; q < m; q++) {
                            d[q] = Float.intBitsToFloat(Float.floatToRawIntBits(d[q] * scale) & positiveMask(a[q]));
                        }
                        g.put(k, d, 0, m);
                    }
                }
            }
        });
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(activation);
        Reference.reachabilityFence(grad);
    }

    /**
     * All ones where the float whose bits these are is positive, else zero: {@code x > 0 ? g : 0} as
     * {@code g & positiveMask(x)}, with no branch. A positive float's bits are a positive int, and for a positive
     * int both {@code -b} and {@code ~b} are negative; zero, negative floats (sign bit set, -0 included) give
     * zero. Why: the branch mispredicts on half of a ReLU's outputs (22 ms against 5 for 2.8 million, one thread),
     * and the JIT vectorizes the integer form.
     */
    static int positiveMask(int bits) {
        return (-bits & ~bits) >> 31;
    }

    /**
     * {@code x = dropout(relu(x + bias))} in one pass, x [n, units], bias [1, units]; inverted dropout keeps
     * each unit with probability {@code keep} and scales it by 1/keep ({@code keep == 1}: no dropout). The
     * head's arrays are small (128 x 128 for a batch): one thread, no per-op overhead of three native calls.
     */
    static void biasReluDropout(INDArray x, INDArray bias, double keep, SplittableRandom random) {
        FloatBuffer v = floats(x);
        int units = (int) bias.length();
        int rows = (int) (x.length() / units);
        float scale = (float) (1.0 / keep);
        int scaleBits = Float.floatToRawIntBits(scale);
        long keptBelow = (long) Math.ceil(keep * 0x1p53);
        float[] b = new float[units];
        floats(bias).get(0, b);
        // row by row through a plain array (indexed buffer access and a modulo per element took 0.2 ms for 128 x
        // 128); the same draws in the same order as one pass over the elements
        float[] row = new float[units];
        for (int r = 0; r < rows; r++) {
            v.get(r * units, row);
            for (int c = 0; c < units; c++) {
                row[c] = Math.max(0f, row[c] + b[c]);
            }
            if (keep < 1) {
                for (int c = 0; c < units; c++) {
                    // nextDouble() < keep without the branch, which mispredicts on half of the units:
                    // nextDouble() is (nextLong() >>> 11)·2⁻⁵³, so it is below keep exactly when those 53 bits are
                    // below keep·2⁵³, and the sign of their difference is the mask
                    long bits = random.nextLong() >>> 11;
                    int kept = (int) ((bits - keptBelow) >> 63);
                    row[c] = row[c] * Float.intBitsToFloat(scaleBits & kept);
                }
            }
            v.put(r * units, row);
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(bias);
    }

    /** {@code x = softmax(x + bias)} row by row, x [n, classes], bias [1, classes]. */
    static void biasSoftmax(INDArray x, INDArray bias) {
        FloatBuffer v = floats(x);
        FloatBuffer b = floats(bias);
        int classes = (int) bias.length();
        int rows = (int) x.size(0);
        for (int r = 0; r < rows; r++) {
            int base = r * classes;
            float max = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                float a = v.get(base + c) + b.get(c);
                v.put(base + c, a);
                max = Math.max(max, a);
            }
            float sum = 0f;
            for (int c = 0; c < classes; c++) {
                float e = (float) Math.exp(v.get(base + c) - max);
                v.put(base + c, e);
                sum += e;
            }
            for (int c = 0; c < classes; c++) {
                v.put(base + c, v.get(base + c) / sum);
            }
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(bias);
    }

    /**
     * Cross-entropy of the softmax outputs {@code probs} against {@code labels}, averaged over the batch as
     * DL4J's MCXENT; writes its gradient with respect to the logits, {@code (probs - labels) / n}, into
     * {@code grad} and returns the loss.
     */
    static double crossEntropy(INDArray probs, INDArray labels, INDArray grad) {
        FloatBuffer p = floats(probs);
        FloatBuffer y = floats(labels);
        FloatBuffer g = floats(grad);
        int n = (int) probs.size(0);
        int length = (int) probs.length();
        double sum = 0;
        for (int k = 0; k < length; k++) {
            float label = y.get(k);
            float prob = p.get(k);
            if (label != 0f) {
                sum += label * Math.log(prob + 1e-30f);
            }
            g.put(k, (prob - label) / n);
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(probs);
        Reference.reachabilityFence(labels);
        Reference.reachabilityFence(grad);
        return -sum / n;
    }

    /** {@code sums[c] = Σ_r x[r, c]}: a bias gradient, x [n, units], sums [1, units]. */
    static void columnSums(INDArray x, INDArray sums) {
        FloatBuffer v = floats(x);
        FloatBuffer s = floats(sums);
        int units = (int) sums.length();
        int rows = (int) x.size(0);
        float[] acc = new float[units];
        for (int r = 0; r < rows; r++) {
            int base = r * units;
            for (int c = 0; c < units; c++) {
                acc[c] += v.get(base + c);
            }
        }
        s.put(0, acc);
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(sums);
    }

    /**
     * {@code out = x} with the channels moved last: x [n, c, h, w] NCHW, out [n, h, w, c] NHWC, both dense float32
     * C-order arrays; what the convolutions of an image of several channels read.
     *
     * <p>Why: libnd4j's assign from a permuted view took 0.3-0.6 ms for a CIFAR-10 batch of 96 (one thread or two),
     * this loop 0.18-0.2 ms on one thread. On the calling thread alone: a second one made it no faster (the copies
     * are bound by memory traffic).
     */
    static void toChannelsLast(INDArray x, INDArray out) {
        if (x.rank() != 4 || out.rank() != 4 || out.size(0) != x.size(0) || out.size(1) != x.size(2)
                || out.size(2) != x.size(3) || out.size(3) != x.size(1)) {
            throw new IllegalArgumentException("no NHWC copy of " + x.shapeInfoToString() + " in "
                    + out.shapeInfoToString());
        }
        int n = (int) x.size(0);
        int c = (int) x.size(1);
        int plane = (int) (x.size(2) * x.size(3));
        int image = c * plane;
        FloatBuffer src = floats(x);
        FloatBuffer dst = floats(out);
        float[] planes = new float[image];
        float[] pixels = new float[image];
        for (int i = 0; i < n; i++) {
            src.get(i * image, planes, 0, image);
            if (c == 3) {
                // pixel by pixel, written in order: half the time of three strided passes
                for (int p = 0, q = 0; p < plane; p++, q += 3) {
                    pixels[q] = planes[p];
                    pixels[q + 1] = planes[plane + p];
                    pixels[q + 2] = planes[2 * plane + p];
                }
            } else {
                for (int ch = 0; ch < c; ch++) {
                    int at = ch * plane;
                    for (int p = 0; p < plane; p++) {
                        pixels[p * c + ch] = planes[at + p];
                    }
                }
            }
            dst.put(i * image, pixels, 0, image);
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(out);
    }

    /** Length of the blocks that {@link #adaDelta} works in (its state is kept in blocks of this length). */
    static final int UPDATE_BLOCK = 4096;

    /**
     * One Adadelta step over {@code params[from..]}, with libnd4j's arithmetic (its {@code adaDeltaUpdater}, which
     * DL4J's AdaDelta calls) and the subtraction fused in:
     * {@code msg = rho·msg + (1-rho)·g²; u = g·√(msdx+ε)/√(msg+ε); msdx = rho·msdx + (1-rho)·u²; p -= scale·u}.
     * {@code msg[b]} and {@code msdx[b]} hold the state of the parameters {@code from + b·UPDATE_BLOCK ...}.
     * {@code scale} is 1 for plain Adadelta (a multiplication by 1 is exact, so the step is libnd4j's bit for bit);
     * fine-tuning takes a smaller one, as Keras's Adadelta applies its learning rate: to the step only, while
     * {@code msdx} accumulates the unscaled {@code u}.
     *
     * <p>Why like this: the native updater op and the subtraction took 3.6 ms for the head's 590k parameters; a
     * loop reading the native buffers element by element still took 1.6 ms (no vector instructions through
     * buffer accessors). Here each block of gradients and parameters is bulk-copied into a plain array and the
     * arithmetic runs on arrays only, which the JIT compiles to vector instructions: about 0.3 ms.
     */
    static void adaDelta(INDArray params, INDArray gradients, long from, float[][] msg, float[][] msdx, float rho,
            float epsilon, float scale) {
        FloatBuffer p = floats(params);
        FloatBuffer g = floats(gradients);
        int start = Math.toIntExact(from);
        int length = Math.toIntExact(params.length() - from);
        float decay = 1f - rho;
        forEachChunk(msg.length, (firstBlock, endBlock) -> {
            float[] grad = new float[UPDATE_BLOCK];
            float[] param = new float[UPDATE_BLOCK];
            for (int block = firstBlock; block < endBlock; block++) {
                int at = start + block * UPDATE_BLOCK;
                int size = Math.min(UPDATE_BLOCK, length - block * UPDATE_BLOCK);
                g.get(at, grad, 0, size);
                p.get(at, param, 0, size);
                adaDeltaBlock(grad, param, msg[block], msdx[block], size, rho, decay, epsilon, scale);
                p.put(at, param, 0, size);
            }
        });
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(params);
        Reference.reachabilityFence(gradients);
    }

    private static void adaDeltaBlock(float[] grad, float[] param, float[] msg, float[] msdx, int size, float rho,
            float decay, float epsilon, float scale) {
        for (int i = 0; i < size; i++) {
            float g = grad[i];
            float squares = rho * msg[i] + decay * g * g;
            msg[i] = squares;
            float update = g * (float) Math.sqrt(msdx[i] + epsilon) / (float) Math.sqrt(squares + epsilon);
            msdx[i] = rho * msdx[i] + decay * update * update;
            param[i] -= scale * update;
        }
    }

    interface Range {
        void run(int from, int to);
    }

    static void forEachChunk(int items, Range range) {
        int chunks = Math.min(CHUNKS, items);
        int size = (items + chunks - 1) / chunks;
        IntStream.range(0, chunks).parallel().forEach(c -> range.run(c * size, Math.min(items, (c + 1) * size)));
    }

    /**
     * As {@link #floats}, the same memory read as the floats' bit patterns. The buffer holds no reference to the
     * array: the caller keeps the array reachable ({@link Reference#reachabilityFence}) until it has finished with
     * the buffer, or ND4J may free the memory under it.
     */
    static IntBuffer ints(INDArray a) {
        requireDenseFloats(a);
        IntBuffer all = a.data().asNio().order(ByteOrder.nativeOrder()).asIntBuffer();
        return all.position(Math.toIntExact(a.offset())).slice();
    }

    /**
     * The native memory of a float32 array laid out densely in C order (a whole array, or a view of a
     * contiguous range such as a layer's parameters within the flat parameter array), in native byte order.
     *
     * <p>The buffer holds no reference to the array, whose memory ND4J frees once the array is unreachable: the
     * caller keeps the array reachable ({@link Reference#reachabilityFence}) until it has finished with the buffer.
     */
    static FloatBuffer floats(INDArray a) {
        requireDenseFloats(a);
        // asNio() starts at the underlying allocation; a view's elements start at its offset
        FloatBuffer all = a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
        return all.position(Math.toIntExact(a.offset())).slice();
    }

    private static void requireDenseFloats(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.elementWiseStride() != 1) {
            throw new IllegalArgumentException("needs a dense float32 C-order array, got " + a.shapeInfoToString());
        }
    }
}
