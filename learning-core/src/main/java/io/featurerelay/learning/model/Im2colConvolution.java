package io.featurerelay.learning.model;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import java.nio.FloatBuffer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The weight and bias gradients of a valid, stride-1 convolution as im2col + OpenBLAS sgemm, for a network's
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
    /**
     * OpenBLAS runs a product of at most this many multiply-adds (m x n x k) on the calling thread alone
     * (65,536 x GEMM_MULTITHREAD_THRESHOLD 4); larger products are split by columns so that the two Java
     * threads here do not each start OpenBLAS's own threads.
     */
    private static final long SINGLE_THREAD_PRODUCT = 65_536L * 4;

    private Im2colConvolution() {
    }

    /** Whether a first layer of this shape has its gradients computed here. */
    static boolean suits(int inChannels, int kernel) {
        return inChannels * kernel * kernel <= MAX_PATCH;
    }

    /**
     * The weight and bias gradients of a valid, stride-1 convolution, and nothing else: {@code gw = Σ_images gradOut ·
     * im2col(in)ᵀ}, {@code gb = Σ gradOut} over images and positions. A first layer needs no gradient of its input,
     * which libnd4j's {@code conv2d_bp} computes all the same (with layout reorders around it): 37 ms per batch of
     * 128 against about 10 here for the reference network. in [n, c, h, w], gradOut [n, h-k+1, w-k+1, o] (NHWC,
     * after the ReLU's backward when {@code activation} is null), gw [o, c, k, k], gb [o]. With {@code activation}
     * (the layer's output after its ReLU, NHWC as gradOut) the ReLU's backward is done here, on each image's
     * gradient as it is read: a separate pass over the batch's gradient cost as much as the product. Each chunk of images sums into its own gradient, and the chunks'
     * are added in order, so that the result does not depend on which thread finished first.
     */
    static void backwardWeights(INDArray in, INDArray gradOut, INDArray activation, INDArray gw, INDArray gb) {
        int n = (int) in.size(0);
        int channels = (int) in.size(1);
        int height = (int) in.size(2);
        int width = (int) in.size(3);
        int filters = (int) gw.size(0);
        int kernel = (int) gw.size(2);
        int outHeight = height - kernel + 1;
        int outWidth = width - kernel + 1;
        if (gw.size(1) != channels || gw.size(3) != kernel || gradOut.size(0) != n || gradOut.size(3) != filters
                || gradOut.size(1) != outHeight || gradOut.size(2) != outWidth || gb.length() != filters
                || activation != null && !java.util.Arrays.equals(activation.shape(), gradOut.shape())) {
            throw new IllegalArgumentException("shapes do not fit a valid convolution's gradient: in "
                    + in.shapeInfoToString() + ", gradOut " + gradOut.shapeInfoToString() + ", gw "
                    + gw.shapeInfoToString());
        }
        int patch = channels * kernel * kernel;
        int positions = outHeight * outWidth;
        int positionsPerCall = (int) Math.max(1, Math.min(positions,
                SINGLE_THREAD_PRODUCT / ((long) filters * patch)));
        FloatBuffer src = DirectLoops.floats(in);
        FloatBuffer grad = DirectLoops.floats(gradOut);
        FloatBuffer act = activation == null ? null : DirectLoops.floats(activation);
        int chunks = Math.min(DirectLoops.CHUNKS, n);
        float[][] weightSums = new float[chunks][];
        float[][] biasSums = new float[chunks][];
        int perChunk = (n + chunks - 1) / chunks;
        java.util.stream.IntStream.range(0, chunks).parallel().forEach(chunk -> {
            int from = chunk * perChunk;
            int to = Math.min(n, from + perChunk);
            float[] image = new float[channels * height * width];
            float[] columns = new float[patch * positions];
            float[] gradImage = new float[filters * positions];
            float[] actImage = act == null ? null : new float[filters * positions];
            float[] biasSum = new float[filters];
            try (FloatPointer patches = new FloatPointer((long) patch * positions);
                    FloatPointer g = new FloatPointer((long) filters * positions);
                    FloatPointer sum = new FloatPointer((long) filters * patch)) {
                sum.zero();
                for (int i = from; i < to; i++) {
                    src.get(i * channels * height * width, image);
                    im2col(image, channels, height, width, kernel, columns);
                    patches.position(0).put(columns);
                    int gradBase = i * filters * positions;
                    grad.get(gradBase, gradImage);
                    if (act != null) {
                        act.get(gradBase, actImage);
                        for (int k = 0; k < gradImage.length; k++) {
                            gradImage[k] = actImage[k] > 0 ? gradImage[k] : 0f;
                        }
                    }
                    g.position(0).put(gradImage);
                    // sum[f, p] += Σ_q grad[q, f] · columns[p, q]: gradᵀ · columnsᵀ, over the positions q in slices
                    for (int q = 0; q < positions; q += positionsPerCall) {
                        int count = Math.min(positionsPerCall, positions - q);
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, filters, patch, count, 1f,
                                g.position((long) q * filters), filters, patches.position(q), positions, 1f,
                                sum.position(0), patch);
                    }
                    for (int q = 0; q < positions; q++) {
                        int row = q * filters;
                        for (int f = 0; f < filters; f++) {
                            biasSum[f] += gradImage[row + f];
                        }
                    }
                }
                float[] weights = new float[filters * patch];
                sum.position(0).get(weights);
                weightSums[chunk] = weights;
                biasSums[chunk] = biasSum;
            }
        });
        float[] weights = weightSums[0];
        float[] bias = biasSums[0];
        for (int c = 1; c < chunks; c++) {
            for (int j = 0; j < weights.length; j++) {
                weights[j] += weightSums[c][j];
            }
            for (int f = 0; f < filters; f++) {
                bias[f] += biasSums[c][f];
            }
        }
        DirectLoops.floats(gw).put(0, weights);
        DirectLoops.floats(gb).put(0, bias);
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
