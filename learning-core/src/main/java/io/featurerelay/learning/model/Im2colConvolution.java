package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The weight and bias gradients of a valid, stride-1 convolution as im2col + one matrix product, for a network's
 * first layer, whose input has one to a few channels (NCHW images; the gradient and activations NHWC, as the
 * network keeps them).
 *
 * <p>Why: nothing needs the gradient of the images, which libnd4j's {@code conv2d_bp} computes all the same, with
 * oneDNN's layout reorders of the images, the gradient and that unused result around it (37 ms of a 128-image
 * training step of the reference network; about 10 here). The forward pass stays oneDNN's: on NHWC it runs
 * without reorders (2.7 ms for that batch, where an im2col + sgemm forward writing NHWC took 9-20 ms: the
 * product's thin shape, or a transposition after it).
 */
final class Im2colConvolution {

    /**
     * Largest {@code inChannels x kernel x kernel} (the gemm's inner dimension) taken this way: 3x3 kernels
     * on up to 3 channels (Fashion-MNIST, CIFAR-10). Beyond it the copies of im2col outgrow the arithmetic saved.
     */
    static final int MAX_PATCH = 32;
    /** Rows of the gradient summed side by side for the bias ({@link #sumColumns}). */
    private static final int WIDE_ROWS = 8;

    private Im2colConvolution() {
    }

    /** Whether a first layer of this shape has its gradients computed here. */
    static boolean suits(int inChannels, int kernel) {
        return inChannels * kernel * kernel <= MAX_PATCH;
    }

    /**
     * The weight and bias gradients of a valid, stride-1 convolution, and nothing else: {@code gw = gradᵀ · rows}
     * over the whole batch in one matrix product, where {@code rows} [n*positions, c*k*k] holds each output
     * position's input patch (im2col transposed) and {@code grad} [n*positions, o] is gradOut as the network keeps it
     * (NHWC); {@code gb} its column sums. in [n, c, h, w] (the images, NCHW), gradOut [n, h-k+1, w-k+1, o],
     * gw [o, c, k, k], gb [o], rows a scratch array of at least n*positions*c*k*k floats. With {@code activation}
     * (the layer's output after its ReLU, NHWC as gradOut) the ReLU's backward is applied to gradOut first, in
     * place. One product over the batch rather than one per image: the products of single images are too thin
     * (k = positions, a few hundred) for a BLAS to run them near its speed (42 ms for a CIFAR-10 batch of 128).
     */
    static void backwardWeights(INDArray in, INDArray gradOut, INDArray activation, INDArray rows, INDArray gw,
            INDArray gb) {
        int n = (int) in.size(0);
        int channels = (int) in.size(1);
        int height = (int) in.size(2);
        int width = (int) in.size(3);
        int filters = (int) gw.size(0);
        int kernel = (int) gw.size(2);
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        int patch = channels * kernel * kernel;
        int positions = outHeight * outWidth;
        if (gw.size(1) != channels || gw.size(3) != kernel || gradOut.size(0) != n || gradOut.size(3) != filters
                || gradOut.size(1) != outHeight || gradOut.size(2) != outWidth || gb.length() != filters
                || activation != null && !java.util.Arrays.equals(activation.shape(), gradOut.shape())
                || rows.length() < (long) n * positions * patch) {
            throw new IllegalArgumentException("shapes do not fit a valid convolution's gradient: in "
                    + in.shapeInfoToString() + ", gradOut " + gradOut.shapeInfoToString() + ", gw "
                    + gw.shapeInfoToString() + ", rows " + rows.length());
        }
        FloatBuffer src = DirectLoops.floats(in);
        FloatBuffer grad = DirectLoops.floats(gradOut);
        IntBuffer act = activation == null ? null : DirectLoops.ints(activation);
        FloatBuffer patches = DirectLoops.floats(rows);
        int chunks = Math.min(DirectLoops.CHUNKS, n);
        float[][] biasSums = new float[chunks][];
        int perChunk = (n + chunks - 1) / chunks;
        java.util.stream.IntStream.range(0, chunks).parallel().forEach(chunk -> {
            int from = chunk * perChunk;
            int to = Math.min(n, from + perChunk);
            float[] image = new float[channels * height * width];
            float[] imageRows = new float[positions * patch];
            float[] gradImage = new float[filters * positions];
            int[] actImage = act == null ? null : new int[filters * positions];
            float[] wideSum = new float[filters * WIDE_ROWS];
            for (int i = from; i < to; i++) {
                src.get(i * channels * height * width, image);
                im2row(image, channels, height, width, kernel, imageRows);
                patches.put(i * positions * patch, imageRows);
                int gradBase = i * filters * positions;
                grad.get(gradBase, gradImage);
                if (act != null) {
                    act.get(gradBase, actImage);
                    for (int k = 0; k < gradImage.length; k++) {
                        gradImage[k] = Float.intBitsToFloat(Float.floatToRawIntBits(gradImage[k])
                                & DirectLoops.positiveMask(actImage[k]));
                    }
                    grad.put(gradBase, gradImage);
                }
                sumColumns(gradImage, filters, wideSum);
            }
            float[] biasSum = new float[filters];
            for (int k = 0; k < wideSum.length; k++) {
                biasSum[k % filters] += wideSum[k];
            }
            biasSums[chunk] = biasSum;
        });
        // gw[f, p] = Σ_q grad[q, f] · rows[q, p] over all n*positions q, through libnd4j's matmul (oneDNN's gemm,
        // which splits the long inner dimension over the cores): a quarter of OpenBLAS's cblas_sgemm time for
        // these thin shapes (1.1-1.6 ms against 4.5-6.6 for the reference batch, 5.3-6.2 against 18-21 for CIFAR-10)
        long q = (long) n * positions;
        INDArray gradRows = gradOut.reshape('c', q, filters);
        INDArray patchRows = rows.length() == q * patch ? rows.reshape('c', q, patch)
                : rows.get(NDArrayIndex.interval(0, q * patch)).reshape('c', q, patch);
        Nd4j.matmul(gradRows, patchRows, gw.reshape('c', filters, patch), true, false, false);
        float[] bias = biasSums[0];
        for (int c = 1; c < chunks; c++) {
            for (int f = 0; f < filters; f++) {
                bias[f] += biasSums[c][f];
            }
        }
        DirectLoops.floats(gb).put(0, bias);
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(in);
        Reference.reachabilityFence(gradOut);
        Reference.reachabilityFence(activation);
        Reference.reachabilityFence(rows);
        Reference.reachabilityFence(gb);
    }

    /**
     * Adds the rows of {@code values} [rows, columns] into {@code sums} [WIDE_ROWS, columns], row r into row
     * r % WIDE_ROWS (a caller adds the rows of {@code sums} up at the end): the loops run over WIDE_ROWS rows at a
     * time, long enough for the JIT's vector loops (over one row of 32 they never run).
     */
    private static void sumColumns(float[] values, int columns, float[] sums) {
        int width = sums.length;
        int at = 0;
        for (; at + width <= values.length; at += width) {
            for (int k = 0; k < width; k++) {
                sums[k] += values[at + k];
            }
        }
        for (int k = 0; at + k < values.length; k++) {
            sums[k] += values[at + k];
        }
    }

    /**
     * Row {@code q} (an output position) of {@code rows} [outH*outW, c*k*k] holds the input pixels that the
     * kernel's taps (c, di, dj) meet there: im2col's matrix transposed.
     */
    private static void im2row(float[] image, int channels, int height, int width, int kernel, float[] rows) {
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        int at = 0;
        for (int r = 0; r < outHeight; r++) {
            for (int col = 0; col < outWidth; col++) {
                for (int c = 0; c < channels; c++) {
                    for (int di = 0; di < kernel; di++) {
                        int from = (c * height + r + di) * width + col;
                        for (int dj = 0; dj < kernel; dj++) {
                            rows[at++] = image[from + dj];
                        }
                    }
                }
            }
        }
    }
}
