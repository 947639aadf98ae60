package io.featurerelay.learning.model;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Max pooling (square window equal to its stride, no padding, NCHW) and the ReLU backward step, written in
 * Java over the arrays' native memory.
 *
 * <p>Why by hand: in the oneDNN builds of libnd4j 1.0.0-M2.1, {@code maxpool2d} on NCHW arrays runs oneDNN's
 * reference kernel ("simple_nchw"), slower than the convolution it follows (18 ms forward, 25 ms backward
 * for a batch of 128 on two cores), and {@code relu_bp} takes several times what a plain loop does. These
 * loops are memory-bound and take a few milliseconds. The pooling backward step also folds in the backward
 * of the ReLU before the pooling and of the dropout after it, so the gradient is written once. Work is
 * split into one chunk per core on the common fork-join pool.
 */
final class DirectLoops {

    private static final int CHUNKS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private DirectLoops() {
    }

    /**
     * {@code out = max} over each window of {@code in}; {@code argmax} gets the window offset of each
     * maximum (the first one on ties).
     */
    static void maxPool(INDArray in, INDArray out, byte[] argmax, int window) {
        FloatBuffer src = floats(in);
        FloatBuffer dst = floats(out);
        int h = (int) in.size(2);
        int w = (int) in.size(3);
        int oh = (int) out.size(2);
        int ow = (int) out.size(3);
        if (window == 2) {
            forEachChunk((int) (in.size(0) * in.size(1)), (from, to) -> maxPool2(src, dst, argmax, h, w, oh, ow, from, to));
            return;
        }
        forEachChunk((int) (in.size(0) * in.size(1)), (from, to) -> {
            for (int p = from; p < to; p++) {
                int inBase = p * h * w;
                int outBase = p * oh * ow;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        int first = inBase + i * window * w + j * window;
                        float best = src.get(first);
                        int bestAt = 0;
                        for (int di = 0; di < window; di++) {
                            int row = first + di * w;
                            for (int dj = di == 0 ? 1 : 0; dj < window; dj++) {
                                float v = src.get(row + dj);
                                if (v > best) {
                                    best = v;
                                    bestAt = di * window + dj;
                                }
                            }
                        }
                        int o = outBase + i * ow + j;
                        dst.put(o, best);
                        argmax[o] = (byte) bestAt;
                    }
                }
            }
        });
    }

    /** The 2x2 window unrolled: the reference network's case, and twice as fast as the general loop. */
    private static void maxPool2(FloatBuffer src, FloatBuffer dst, byte[] argmax, int h, int w, int oh, int ow,
            int from, int to) {
        for (int p = from; p < to; p++) {
            int inBase = p * h * w;
            int outBase = p * oh * ow;
            for (int i = 0; i < oh; i++) {
                int row = inBase + 2 * i * w;
                for (int j = 0; j < ow; j++) {
                    int first = row + 2 * j;
                    float a = src.get(first);
                    float b = src.get(first + 1);
                    float c = src.get(first + w);
                    float d = src.get(first + w + 1);
                    // first maximum wins on ties, as in the general loop
                    int top = b > a ? 1 : 0;
                    float topMax = b > a ? b : a;
                    int bottom = d > c ? 3 : 2;
                    float bottomMax = d > c ? d : c;
                    int o = outBase + i * ow + j;
                    if (bottomMax > topMax) {
                        dst.put(o, bottomMax);
                        argmax[o] = (byte) bottom;
                    } else {
                        dst.put(o, topMax);
                        argmax[o] = (byte) top;
                    }
                }
            }
        }
    }

    /**
     * Backward of ReLU, then max pooling, then (inverted) dropout: {@code inGrad} gets
     * {@code outGrad * scale} at each window's maximum where the layer's output {@code out} is positive
     * (zero where the maximum was zero, i.e. ReLU was off, or the dropout dropped it), and zero elsewhere.
     */
    static void maxPoolBackward(INDArray out, INDArray outGrad, byte[] argmax, INDArray inGrad, int window,
            float scale) {
        FloatBuffer output = floats(out);
        FloatBuffer src = floats(outGrad);
        FloatBuffer dst = floats(inGrad);
        int h = (int) inGrad.size(2);
        int w = (int) inGrad.size(3);
        int oh = (int) outGrad.size(2);
        int ow = (int) outGrad.size(3);
        forEachChunk((int) (inGrad.size(0) * inGrad.size(1)), (from, to) -> {
            for (int k = from * h * w; k < to * h * w; k++) {
                dst.put(k, 0f);
            }
            for (int p = from; p < to; p++) {
                int inBase = p * h * w;
                int outBase = p * oh * ow;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        int o = outBase + i * ow + j;
                        if (output.get(o) > 0) {
                            int at = argmax[o];
                            dst.put(inBase + (i * window + at / window) * w + j * window + at % window,
                                    src.get(o) * scale);
                        }
                    }
                }
            }
        });
    }

    /** {@code grad *= (activation > 0)}: the ReLU backward step, from the ReLU's output. */
    static void reluBackward(INDArray activation, INDArray grad) {
        FloatBuffer act = floats(activation);
        FloatBuffer g = floats(grad);
        long length = activation.length();
        int chunk = (int) ((length + CHUNKS - 1) / CHUNKS);
        forEachChunk(CHUNKS, (from, to) -> {
            for (int c = from; c < to; c++) {
                int end = (int) Math.min(length, (long) (c + 1) * chunk);
                for (int k = c * chunk; k < end; k++) {
                    if (!(act.get(k) > 0)) {
                        g.put(k, 0f);
                    }
                }
            }
        });
    }

    private interface Range {
        void run(int from, int to);
    }

    private static void forEachChunk(int items, Range range) {
        int chunks = Math.min(CHUNKS, items);
        int size = (items + chunks - 1) / chunks;
        IntStream.range(0, chunks).parallel().forEach(c -> range.run(c * size, Math.min(items, (c + 1) * size)));
    }

    /** A view of a whole float32 C-order array's native memory, in native byte order. */
    private static FloatBuffer floats(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.isView() || a.offset() != 0) {
            throw new IllegalArgumentException("needs a whole float32 C-order array, got " + a.shapeInfoToString());
        }
        return a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
