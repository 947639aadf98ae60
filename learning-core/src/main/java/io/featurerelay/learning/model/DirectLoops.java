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
 * for a batch of 128 on two cores), and {@code relu_bp} takes several times what a plain loop does. The
 * forward pooling is branch-free (keeping the position of each maximum made it twice as slow, through
 * mispredicted branches); the backward step finds the maxima again, and folds in the backward of the ReLU
 * before the pooling and of the dropout after it, so the gradient is written once. Work is
 * split into one chunk per core on the common fork-join pool.
 */
final class DirectLoops {

    private static final int CHUNKS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private DirectLoops() {
    }

    /**
     * {@code out = max} over each window of {@code in}. No record of where each maximum was: the backward
     * step finds it again, so inference (featurizing, evaluation) runs the branch-free loop alone.
     */
    static void maxPool(INDArray in, INDArray out, int window) {
        FloatBuffer src = floats(in);
        FloatBuffer dst = floats(out);
        int h = (int) in.size(2);
        int w = (int) in.size(3);
        int oh = (int) out.size(2);
        int ow = (int) out.size(3);
        forEachChunk((int) (in.size(0) * in.size(1)), (from, to) -> {
            for (int p = from; p < to; p++) {
                int inBase = p * h * w;
                int outBase = p * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int row = inBase + i * window * w;
                    for (int j = 0; j < ow; j++) {
                        int first = row + j * window;
                        float best;
                        if (window == 2) {
                            // the reference network's case, unrolled; Math.max compiles without branches
                            best = Math.max(Math.max(src.get(first), src.get(first + 1)),
                                    Math.max(src.get(first + w), src.get(first + w + 1)));
                        } else {
                            best = src.get(first);
                            for (int di = 0; di < window; di++) {
                                for (int dj = 0; dj < window; dj++) {
                                    best = Math.max(best, src.get(first + di * w + dj));
                                }
                            }
                        }
                        dst.put(outBase + i * ow + j, best);
                    }
                }
            }
        });
    }

    /**
     * Backward of ReLU, then max pooling, then (inverted) dropout: {@code inGrad} gets
     * {@code outGrad * scale} at the first maximum of each window of {@code in} (the pooling's input) where
     * the layer's output {@code out} is positive (zero where the maximum was zero, i.e. ReLU was off, or the
     * dropout dropped it), and zero elsewhere.
     */
    static void maxPoolBackward(INDArray in, INDArray out, INDArray outGrad, INDArray inGrad, int window,
            float scale) {
        FloatBuffer input = floats(in);
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
                        if (!(output.get(o) > 0)) {
                            continue;
                        }
                        int first = inBase + i * window * w + j * window;
                        int at = first;
                        float best = input.get(first);
                        for (int di = 0; di < window; di++) {
                            for (int dj = di == 0 ? 1 : 0; dj < window; dj++) {
                                float v = input.get(first + di * w + dj);
                                if (v > best) {
                                    best = v;
                                    at = first + di * w + dj;
                                }
                            }
                        }
                        dst.put(at, src.get(o) * scale);
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
