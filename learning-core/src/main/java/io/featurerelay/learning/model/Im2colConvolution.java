package io.featurerelay.learning.model;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A valid, stride-1 convolution with bias (and optionally ReLU) as im2col + one OpenBLAS sgemm per image,
 * NCHW in and out, for a network's first layer, whose input has one to a few channels.
 *
 * <p>Why: libnd4j's {@code conv2d} hands oneDNN "any" layouts, so every call reorders its output buffer into
 * oneDNN's blocked layout before the convolution (the stale contents, which the convolution then overwrites)
 * and back to NCHW after it. With one input channel the arithmetic is tiny (9 multiply-adds per output) and
 * those two passes over the 22 MB output of a 256-image batch dominate: oneDNN plus a separate ReLU took
 * 14 ms for such a batch, this takes 5.5 ms. The convolutions further in keep oneDNN (32 input channels:
 * there the arithmetic dominates and im2col would multiply the memory traffic by the kernel's area).
 */
final class Im2colConvolution {

    /**
     * Largest {@code inChannels x kernel x kernel} (the gemm's inner dimension) taken this way: 3x3 kernels
     * on up to 3 channels (Fashion-MNIST, CIFAR-10). Beyond it the copies of im2col outgrow the arithmetic saved.
     */
    static final int MAX_PATCH = 32;
    /**
     * OpenBLAS runs a product of at most this many multiply-adds (m x n x k) on the calling thread alone
     * (65,536 x GEMM_MULTITHREAD_THRESHOLD 4); larger products are split by columns so that the two Java
     * threads here do not each start OpenBLAS's own threads.
     */
    private static final long SINGLE_THREAD_PRODUCT = 65_536L * 4;

    private Im2colConvolution() {
    }

    /** Whether a layer of this shape goes through {@link #convolve}. */
    static boolean suits(int inChannels, int kernel) {
        return inChannels * kernel * kernel <= MAX_PATCH;
    }

    /**
     * {@code out = conv(in, w) + b}, then ReLU when {@code relu}; in [n, c, h, w], w [o, c, k, k] (OIHW),
     * b [o], out [n, o, h-k+1, w-k+1], all dense float32 in C order (views of contiguous ranges included).
     */
    static void convolve(INDArray in, INDArray weights, INDArray bias, INDArray out, boolean relu) {
        int n = (int) in.size(0);
        int channels = (int) in.size(1);
        int height = (int) in.size(2);
        int width = (int) in.size(3);
        int filters = (int) weights.size(0);
        int kernel = (int) weights.size(2);
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        if (weights.size(1) != channels || weights.size(3) != kernel || out.size(0) != n || out.size(1) != filters
                || out.size(2) != outHeight || out.size(3) != outWidth || bias.length() != filters) {
            throw new IllegalArgumentException("shapes do not fit a valid convolution: in " + in.shapeInfoToString()
                    + ", weights " + weights.shapeInfoToString() + ", out " + out.shapeInfoToString());
        }
        int patch = channels * kernel * kernel;
        int positions = outHeight * outWidth;
        int columnsPerCall = (int) Math.max(1, Math.min(positions, SINGLE_THREAD_PRODUCT / ((long) filters * patch)));
        FloatBuffer src = DirectLoops.floats(in);
        FloatBuffer dst = DirectLoops.floats(out);
        float[] b = bias.toFloatVector();
        FloatPointer w = new FloatPointer(DirectLoops.floats(weights));
        DirectLoops.forEachChunk(n, (from, to) -> {
            float[] image = new float[channels * height * width];
            float[] columns = new float[patch * positions];
            float[] plane = new float[positions];
            // per chunk: sgemm reads the patches from native memory, and a pointer's position is its own state
            try (FloatPointer patches = new FloatPointer((long) patch * positions)) {
                FloatPointer target = new FloatPointer(dst);
                for (int i = from; i < to; i++) {
                    src.get(i * channels * height * width, image);
                    im2col(image, channels, height, width, kernel, columns);
                    patches.position(0).put(columns);
                    long outBase = (long) i * filters * positions;
                    for (int col = 0; col < positions; col += columnsPerCall) {
                        int count = Math.min(columnsPerCall, positions - col);
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, filters, count, patch, 1f,
                                w, patch, patches.position(col), positions, 0f,
                                target.position(outBase + col), positions);
                    }
                    for (int f = 0; f < filters; f++) {
                        int at = (int) outBase + f * positions;
                        dst.get(at, plane);
                        float shift = b[f];
                        if (relu) {
                            for (int p = 0; p < positions; p++) {
                                plane[p] = Math.max(plane[p] + shift, 0f);
                            }
                        } else {
                            for (int p = 0; p < positions; p++) {
                                plane[p] += shift;
                            }
                        }
                        dst.put(at, plane);
                    }
                }
            }
        });
    }

    /**
     * Row {@code (c, di, dj)} of {@code columns} [c*k*k, outH*outW] holds the input pixels that kernel tap
     * (di, dj) of channel c meets at each output position.
     */
    private static void im2col(float[] image, int channels, int height, int width, int kernel, float[] columns) {
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        int positions = outHeight * outWidth;
        int row = 0;
        for (int c = 0; c < channels; c++) {
            for (int di = 0; di < kernel; di++) {
                for (int dj = 0; dj < kernel; dj++) {
                    int base = row * positions;
                    for (int r = 0; r < outHeight; r++) {
                        System.arraycopy(image, (c * height + r + di) * width + dj, columns, base + r * outWidth,
                                outWidth);
                    }
                    row++;
                }
            }
        }
    }
}
