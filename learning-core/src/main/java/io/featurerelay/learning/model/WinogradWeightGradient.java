package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The weight and bias gradients of a valid, stride-1 3x3 convolution on NHWC activations by Winograd's minimal
 * filtering, F(3x3, 4x4): the transposed form of {@link WinogradConvolution}'s F(4x4, 3x3) (Lavin and Gray 2016). The
 * weight gradient {@code dW[o][c][a][b] = Σ x[y+a][x+b][c] dy[y][x][o]} is, per 4x4 tile of the output's gradient and
 * the 6x6 window of the input under it, {@code Gᵀ[(A e Aᵀ) ⊙ (Bᵀ d B)]G}: both carried into the 6x6 domain, their
 * element-wise products summed over every tile of the batch as 36 matrix products ({@code M[ξ] += E[ξ]ᵀ·V[ξ]},
 * [out, tiles]·[tiles, in], oneDNN's batched matmul accumulating), and the 36 sums carried back to 3x3 once.
 *
 * <p>Why: oneDNN 2.5's AVX2 backward-weights kernel was the largest part of the CIFAR-10 variant's training step
 * (72-85 ms per batch of 128 on two cores, at about 60% of the cores' peak); this needs a quarter of its arithmetic.
 * The bias gradient (the output gradient summed over positions) is taken on the way, from E.
 *
 * <p>Accuracy: as the forward pass's, a few float32 bits of the gradient's scale (WinogradConvolutionTest). Not
 * thread-safe: the owning network's methods are synchronized.
 */
final class WinogradWeightGradient {

    /** Tiles per block: the products' inner dimension, long enough to amortise their accumulating output. */
    private static final int TILES_PER_BLOCK = 128;

    private final int inChannels;
    private final int outChannels;
    private final int inHeight;
    private final int inWidth;
    private final int outHeight;
    private final int outWidth;
    private final int tileRows;
    private final int tileColumns;
    private final int rowsPerBlock;
    private final int blockTiles;
    private final WinogradTiles.Input input;
    private final Lane[] lanes;
    /** [ξ]: the lanes' sums, added up; [a][j] and [a][b]: Gᵀ down and across; the result in OIHW. */
    private final float[][] sums;
    private final float[][][] downPass;
    private final float[][][] acrossPass;
    private final float[] weightGradient;

    /**
     * Whether this way suits a layer's weight gradient: a 3x3 kernel and 32 channels or more on both sides (where the
     * forward pass needs 64: oneDNN's AVX2 backward-weights kernel runs at about half its forward kernel's speed), 64
     * with libnd4j's AVX-512 build, whose oneDNN kernel was the faster one for 32 -> 32.
     * Measured on two AVX2 cores, 128 images: the reference network's 32 -> 32 layer 8.6-9.3 against 16.5-20 ms
     * (best of 15, interleaved), the CIFAR-10 variant's 64 -> 64 one 27 against 80. On two AVX-512 cores (a Zen 5
     * EPYC, round 2's tenth pass; the whole backward pass of the layer, interleaved profiles): 32 -> 32 14.8-15.0
     * against oneDNN's 13.5-13.8 ms, 64 -> 64 (with the input's gradient) 34-38 against 46-53.
     *
     * @param avx512 whether libnd4j's AVX-512 build (and its oneDNN's AVX-512 kernels) runs
     */
    static boolean suits(int inChannels, int outChannels, int kernel, boolean avx512) {
        int fewest = avx512 ? 64 : 32;
        return kernel == 3 && inChannels >= fewest && outChannels >= fewest;
    }

    WinogradWeightGradient(int inChannels, int outChannels, int inHeight, int inWidth) {
        if (inHeight < 3 || inWidth < 3 || inChannels < 1 || outChannels < 1) {
            throw new IllegalArgumentException("a 3x3 convolution of " + inHeight + "x" + inWidth + "x" + inChannels
                    + " -> " + outChannels);
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.inHeight = inHeight;
        this.inWidth = inWidth;
        WinogradTiles.Tiling tiling = WinogradTiles.Tiling.of(inHeight, inWidth, 0, TILES_PER_BLOCK);
        this.outHeight = tiling.outHeight();
        this.outWidth = tiling.outWidth();
        this.tileRows = tiling.tileRows();
        this.tileColumns = tiling.tileColumns();
        this.rowsPerBlock = tiling.rowsPerBlock();
        this.blockTiles = tiling.blockTiles();
        this.input = tiling.input(inChannels, inHeight, inWidth, 0);
        lanes = new Lane[DirectLoops.CHUNKS];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane();
        }
        int products = outChannels * inChannels;
        sums = new float[36][products];
        downPass = new float[3][6][products];
        acrossPass = new float[3][3][products];
        weightGradient = new float[products * 9];
    }

    /**
     * weightGrad [o, c, 3, 3] OIHW and biasGrad [o] of {@code out = conv(input, w) + b}: input [n, h, w, c] NHWC,
     * outputGrad [n, h-2, w-2, o] NHWC; every array float32 and dense in C order. Both results overwritten.
     */
    void backward(INDArray input, INDArray outputGrad, INDArray weightGrad, INDArray biasGrad) {
        long n = input.size(0);
        WinogradTiles.requireShape(input, n, inHeight, inWidth, inChannels);
        WinogradTiles.requireShape(outputGrad, n, outHeight, outWidth, outChannels);
        WinogradTiles.requireShape(weightGrad, outChannels, inChannels, 3, 3);
        WinogradTiles.requireShape(biasGrad, outChannels);
        FloatBuffer in = DirectLoops.floats(input);
        FloatBuffer grad = DirectLoops.floats(outputGrad);
        long allRows = n * tileRows;
        int blocks = (int) ((allRows + rowsPerBlock - 1) / rowsPerBlock);
        int parallel = Math.max(1, Math.min(Math.min(lanes.length, blocks),
                NativeBackend.threadsOfCurrentThread()));
        if (parallel == 1) {
            lanes[0].run(in, grad, 0, 1, allRows);
        } else {
            WinogradTiles.inLanes(parallel, i -> lanes[i].run(in, grad, i, parallel, allRows));
        }
        int products = outChannels * inChannels;
        double[] bias = new double[outChannels];
        for (int l = 0; l < parallel; l++) {
            Lane lane = lanes[l];
            for (int xi = 0; xi < 36; xi++) {
                float[] sum = sums[xi];
                if (l == 0) {
                    lane.m.get(xi * products, sum, 0, products);
                } else {
                    lane.m.get(xi * products, lane.row, 0, products);
                    for (int q = 0; q < products; q++) {
                        sum[q] += lane.row[q];
                    }
                }
            }
            for (int t = 0; t < tileColumns; t++) {
                for (int o = 0; o < outChannels; o++) {
                    bias[o] += lane.biasSums[t * outChannels + o];
                }
            }
        }
        // Gᵀ down the rows (i), then across (j): dW[a][b] = Σ_i Σ_j Gᵀ[a][i] M[i*6+j] Gᵀ[b][j]
        float[][] m = sums;
        for (int j = 0; j < 6; j++) {
            WinogradTiles.filterBack(m[j], m[6 + j], m[12 + j], m[18 + j], m[24 + j], m[30 + j], downPass[0][j],
                    downPass[1][j], downPass[2][j], products);
        }
        for (int a = 0; a < 3; a++) {
            float[][] d = downPass[a];
            WinogradTiles.filterBack(d[0], d[1], d[2], d[3], d[4], d[5], acrossPass[a][0], acrossPass[a][1],
                    acrossPass[a][2], products);
        }
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                float[] r = acrossPass[a][b];
                int e = a * 3 + b;
                for (int q = 0; q < products; q++) {
                    weightGradient[q * 9 + e] = r[q];
                }
            }
        }
        DirectLoops.floats(weightGrad).put(0, weightGradient);
        FloatBuffer biasOut = DirectLoops.floats(biasGrad);
        for (int o = 0; o < outChannels; o++) {
            biasOut.put(o, (float) bias[o]);
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(input);
        Reference.reachabilityFence(outputGrad);
        Reference.reachabilityFence(weightGrad);
        Reference.reachabilityFence(biasGrad);
    }

    /**
     * One thread's share: blocks {@code first}, {@code first + step}, ... of the batch's tile rows, each through V
     * (the input's windows) and E (the output gradient's tiles) into its own running sums M.
     */
    private final class Lane {
        final FloatBuffer v;
        final FloatBuffer e;
        final FloatBuffer m;
        final matmul primitive;
        final IntMemoryMap args;
        final stream stream;
        final WinogradTiles.Scratch inputScratch;
        /** An output gradient row as read; [k][p]: rows of a tile row at the tiles' column p; then A down, across. */
        final float[] row;
        final float[][][] gradColumns;
        final float[][][] gradPass;
        final float[][] rowE;
        /** The output gradient's tiles summed over tile rows, per tile column and channel, for the bias gradient
         * (double: many tiles). */
        final double[] biasSums;
        final float[] zeros;
        /** Zeros for M at the start of each call (kept: 590 kB for 64 -> 64, a humongous allocation for G1). */
        final float[] zeroSums;
        /** Kept for their native memory, which the memory objects and buffers above point into. */
        final FloatPointer[] buffers;

        Lane() {
            int c = inChannels;
            int k = outChannels;
            FloatPointer transformedInput = new FloatPointer(36L * blockTiles * c);
            FloatPointer transformedGrad = new FloatPointer(36L * blockTiles * k);
            FloatPointer products = new FloatPointer(36L * k * c);
            buffers = new FloatPointer[] {transformedInput, transformedGrad, products};
            v = transformedInput.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            e = transformedGrad.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            m = products.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            // a last, partial block's unused tiles: V keeps finite values (zero at first), E is zeroed for them
            v.put(0, new float[36 * blockTiles * c]);
            e.put(0, new float[36 * blockTiles * k]);
            engine engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
            stream = new stream(engine);
            // E [36][tiles][out] read as its transpose [36][out][tiles]: "acb"
            memory.desc eDesc = new memory.desc(new long[] {36, k, blockTiles}, memory.data_type.f32,
                    memory.format_tag.acb);
            memory.desc vDesc = new memory.desc(new long[] {36, blockTiles, c}, memory.data_type.f32,
                    memory.format_tag.abc);
            memory.desc mDesc = new memory.desc(new long[] {36, k, c}, memory.data_type.f32, memory.format_tag.abc);
            post_ops accumulate = new post_ops();
            accumulate.append_sum(); // scale 1: M += Eᵀ·V
            primitive_attr attributes = new primitive_attr();
            attributes.set_post_ops(accumulate);
            // one thread's, as the lane that runs it (see NativeBackend.madeForThreads)
            primitive = NativeBackend.madeForThreads(1,
                    () -> new matmul(new matmul.primitive_desc(new matmul.desc(eDesc, vDesc, mDesc), attributes,
                            engine)));
            args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, new memory(eDesc, engine, transformedGrad));
            args.put(dnnl.DNNL_ARG_WEIGHTS, new memory(vDesc, engine, transformedInput));
            args.put(dnnl.DNNL_ARG_DST, new memory(mDesc, engine, products));
            inputScratch = input.scratch();
            int length = tileColumns * k;
            row = new float[Math.max(outWidth * k, k * c)];
            gradColumns = new float[4][4][length];
            gradPass = new float[6][4][length];
            rowE = new float[6][length];
            biasSums = new double[tileColumns * k];
            zeros = new float[blockTiles * k];
            zeroSums = new float[36 * k * c];
        }

        void run(FloatBuffer in, FloatBuffer grad, int first, int step, long allRows) {
            m.put(0, zeroSums);
            java.util.Arrays.fill(biasSums, 0);
            for (long block = first; block * rowsPerBlock < allRows; block += step) {
                long from = block * rowsPerBlock;
                int rows = (int) Math.min(rowsPerBlock, allRows - from);
                for (int r = 0; r < rows; r++) {
                    input.transformRow(inputScratch, in, from + r, v, blockTiles, r * tileColumns);
                    transformGradRow(grad, from + r, r * tileColumns);
                }
                if (rows < rowsPerBlock) {
                    int used = rows * tileColumns * outChannels;
                    for (int xi = 0; xi < 36; xi++) {
                        e.put(xi * blockTiles * outChannels + used, zeros, 0, blockTiles * outChannels - used);
                    }
                }
                primitive.execute(stream, args);
                stream._wait();
            }
        }

        /**
         * E of one tile row into the block's rows from {@code tile}: the four output gradient rows split by the
         * tiles' columns (zero beyond the output), A applied down the rows and then across; each tile's sum (one
         * of E's values) added to the bias sums.
         */
        private void transformGradRow(FloatBuffer grad, long tileRow, int tile) {
            int k = outChannels;
            long image = tileRow / tileRows;
            int top = (int) (tileRow % tileRows) * 4;
            int rowLength = outWidth * k;
            for (int r = 0; r < 4; r++) {
                float[][] columns = gradColumns[r];
                int y = top + r;
                if (y >= outHeight) {
                    for (float[] column : columns) {
                        java.util.Arrays.fill(column, 0f);
                    }
                    continue;
                }
                grad.get(Math.toIntExact(((image * outHeight + y) * outWidth) * k), row, 0, rowLength);
                for (int p = 0; p < 4; p++) {
                    float[] column = columns[p];
                    for (int t = 0; t < tileColumns; t++) {
                        int x = 4 * t + p;
                        if (x < outWidth) {
                            System.arraycopy(row, x * k, column, t * k, k);
                        } else {
                            java.util.Arrays.fill(column, t * k, (t + 1) * k, 0f);
                        }
                    }
                }
            }
            int length = tileColumns * k;
            float[][][] d = gradColumns;
            // down the rows: gradPass[i][p] = Σ_r A[i][r] columns[r][p]
            for (int p = 0; p < 4; p++) {
                WinogradTiles.gradientTransform(d[0][p], d[1][p], d[2][p], d[3][p], gradPass[0][p], gradPass[1][p],
                        gradPass[2][p], gradPass[3][p], gradPass[4][p], gradPass[5][p], length);
            }
            // across the columns: E[i*6+j] = Σ_p A[j][p] gradPass[i][p]
            for (int i = 0; i < 6; i++) {
                float[][] g = gradPass[i];
                WinogradTiles.gradientTransform(g[0], g[1], g[2], g[3], rowE[0], rowE[1], rowE[2], rowE[3], rowE[4],
                        rowE[5], length);
                for (int j = 0; j < 6; j++) {
                    e.put(((i * 6 + j) * blockTiles + tile) * k, rowE[j], 0, length);
                }
                if (i == 1) {
                    // A's second row is all ones, so E[1*6+1] of a tile is the sum of its sixteen gradients: the
                    // bias gradient from one value per tile, not sixteen, added up in double
                    float[] tileSums = rowE[1];
                    for (int q = 0; q < length; q++) {
                        biasSums[q] += tileSums[q];
                    }
                }
            }
        }
    }
}
