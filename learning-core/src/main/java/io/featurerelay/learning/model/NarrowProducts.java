package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The output layer's matrix products, whose one side is the number of classes (a few), as plain Java loops.
 *
 * <p>Why: through libnd4j's {@code matmul} each of these products (128 x 128 x 5 for a batch of the reference
 * network: 82 thousand multiply-adds, tens of microseconds of arithmetic) costs 0.2-0.7 ms in call overhead and in
 * oneDNN's gemm set up for a shape it is not made for; the output layer's forward and backward passes took about
 * 1.2 ms of a 6 ms step of model 2's head on pre-computed features. Arrays dense in C order (views of whole rows or
 * of a flat parameter array are). Used where oneDNN's own library does not load; where it does, its matmul primitive
 * driven directly ({@link OneDnnProducts}) is faster still.
 */
final class NarrowProducts {

    /** Largest number of columns (classes) taken this way; beyond it libnd4j's matmul is the faster. */
    static final int MAX_COLUMNS = 32;

    private NarrowProducts() {
    }

    static boolean suits(int columns) {
        return columns <= MAX_COLUMNS;
    }

    /** {@code out = in · w}: in [n, u], w [u, k], out [n, k]. */
    static void forward(INDArray in, INDArray w, INDArray out) {
        int n = (int) in.size(0);
        int u = (int) in.size(1);
        int k = (int) w.size(1);
        check(w.size(0) == u && out.size(0) == n && out.size(1) == k, in, w, out);
        float[] x = read(in);
        float[] weights = read(w);
        float[] result = new float[n * k];
        for (int i = 0; i < n; i++) {
            int row = i * u;
            int at = i * k;
            for (int j = 0; j < u; j++) {
                float v = x[row + j];
                int wr = j * k;
                for (int c = 0; c < k; c++) {
                    result[at + c] += v * weights[wr + c];
                }
            }
        }
        DirectLoops.floats(out).put(0, result);
        // the buffer holds no reference to the array (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(out);
    }

    /**
     * The weight gradient {@code gw = inᵀ · grad} [u, k] and the input's gradient {@code inGrad = grad · wᵀ}
     * [n, u]: in [n, u], grad [n, k], w [u, k].
     */
    static void backward(INDArray in, INDArray grad, INDArray w, INDArray gw, INDArray inGrad) {
        int n = (int) in.size(0);
        int u = (int) in.size(1);
        int k = (int) w.size(1);
        check(w.size(0) == u && grad.size(0) == n && grad.size(1) == k && gw.size(0) == u && gw.size(1) == k
                && inGrad.size(0) == n && inGrad.size(1) == u, in, grad, w, gw, inGrad);
        float[] x = read(in);
        float[] g = read(grad);
        float[] weights = read(w);
        float[] weightGrad = new float[u * k];
        float[] inputGrad = new float[n * u];
        for (int i = 0; i < n; i++) {
            int row = i * u;
            int at = i * k;
            for (int j = 0; j < u; j++) {
                float v = x[row + j];
                int wr = j * k;
                float sum = 0;
                for (int c = 0; c < k; c++) {
                    weightGrad[wr + c] += v * g[at + c];
                    sum += g[at + c] * weights[wr + c];
                }
                inputGrad[row + j] = sum;
            }
        }
        DirectLoops.floats(gw).put(0, weightGrad);
        DirectLoops.floats(inGrad).put(0, inputGrad);
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(gw);
        Reference.reachabilityFence(inGrad);
    }

    private static float[] read(INDArray a) {
        float[] values = new float[Math.toIntExact(a.length())];
        DirectLoops.floats(a).get(0, values);
        // the buffer holds no reference to the array (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(a);
        return values;
    }

    private static void check(boolean fits, INDArray... arrays) {
        boolean dense = true;
        for (INDArray a : arrays) {
            dense &= a.rank() == 2 && a.ordering() == 'c' && a.elementWiseStride() == 1;
        }
        if (!fits || !dense) {
            StringBuilder shapes = new StringBuilder();
            for (INDArray a : arrays) {
                shapes.append(' ').append(a.shapeInfoToString().replace('\n', ' '));
            }
            throw new IllegalArgumentException("shapes do not fit a product (dense C-order matrices):" + shapes);
        }
    }
}
