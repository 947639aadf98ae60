package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A valid, stride-1 3x3 convolution's forward pass on NHWC activations by Winograd's minimal filtering F(4x4, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 6x6 input tile and each 3x3
 * filter are carried into a 6x6 domain where the convolution is 36 element-wise products, summed over the input
 * channels as 36 matrix products ({@code M[ξ] = V[ξ]·U[ξ]}, [tiles, in]·[in, out], one batched oneDNN matmul per
 * block of tiles), and each tile's 36 sums are carried back to its 4x4 outputs: 36 multiplications per 16 outputs
 * and channel pair instead of 144. The input's gradient is the same computation on the output's gradient padded by
 * 2, with the layer's weights flipped and transposed ({@link #inputGradientPass}).
 *
 * <p>Why: on an AVX2 CPU oneDNN 2.5 has no Winograd kernel (its Winograd is AVX-512's) and its direct kernel
 * already runs near the cores' peak: the CIFAR-10 variant's second convolution (64 -> 64 channels, 30x30) took 72-85
 * ms per 96 images on one core, the bulk of featurizing, against 31-33 ms this way (interleaved in one process).
 * The products run near the same peak on a quarter of the arithmetic; the transforms are Java loops over whole
 * tile rows ({@link WinogradTiles}). Batches are cut into blocks of tile rows, spread over one lane (thread) per core
 * where the calling thread's native ops may use more than one (not in a featurizing pipeline).
 *
 * <p>Accuracy: the transforms' constants (1/4, 1/6, 1/12, 1/24 and their multiples up to 8) cost a few bits;
 * against the direct convolution the outputs differ by about 5e-6 of their largest magnitude in float32
 * (WinogradConvolutionTest bounds it). Not thread-safe: the owning network's methods are synchronized.
 */
final class WinogradConvolution {

    /** Tiles per block of the batched product: enough rows for the product's kernels, few enough for the caches. */
    private static final int TILES_PER_BLOCK = 64;

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
    private final boolean relu;
    /** Whether the weights given are a forward layer's, to be flipped and transposed (the input's gradient). */
    private final boolean transposedWeights;

    /** The input's tiles. */
    private final WinogradTiles.Input input;
    private final FloatPointer transformedWeights;
    private final FloatBuffer u;
    /** One per thread that runs blocks at once: its own buffers, primitive and scratch rows. */
    private final Lane[] lanes;
    private final float[] biasRow;
    private final float[] weights;
    private final float[] weightsByChannel;
    private final float[] weightsU;
    private final float[] weightsPass;
    /** The weights that {@link #transformedWeights} holds the transform of; valid once {@link #transformed}. */
    private final float[] transformedFrom;
    private boolean transformed;

    /**
     * The forward pass of a layer {@code inChannels -> outChannels} on {@code inHeight x inWidth} images.
     *
     * @param relu whether {@link #forward} applies the ReLU to its output
     */
    static WinogradConvolution forwardPass(int inChannels, int outChannels, int inHeight, int inWidth, boolean relu) {
        return new WinogradConvolution(inChannels, outChannels, inHeight, inWidth, 0, false, relu);
    }

    /**
     * The input's gradient of a layer {@code inChannels -> outChannels} on {@code inHeight x inWidth} images: the
     * output's gradient convolved, zero-padded by 2, with the layer's weights flipped and transposed
     * ({@link #inputGradient}).
     */
    static WinogradConvolution inputGradientPass(int inChannels, int outChannels, int inHeight, int inWidth) {
        return new WinogradConvolution(outChannels, inChannels, inHeight - 2, inWidth - 2, 2, true, false);
    }

    private WinogradConvolution(int inChannels, int outChannels, int inHeight, int inWidth, int padding,
            boolean transposedWeights, boolean relu) {
        if (inHeight + 2 * padding < 3 || inWidth + 2 * padding < 3 || inChannels < 1 || outChannels < 1) {
            throw new IllegalArgumentException("a 3x3 convolution of " + inHeight + "x" + inWidth + "x" + inChannels
                    + " -> " + outChannels);
        }
        this.transposedWeights = transposedWeights;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.inHeight = inHeight;
        this.inWidth = inWidth;
        this.relu = relu;
        WinogradTiles.Tiling tiling = WinogradTiles.Tiling.of(inHeight, inWidth, padding, TILES_PER_BLOCK);
        this.outHeight = tiling.outHeight();
        this.outWidth = tiling.outWidth();
        this.tileRows = tiling.tileRows();
        this.tileColumns = tiling.tileColumns();
        this.rowsPerBlock = tiling.rowsPerBlock();
        this.blockTiles = tiling.blockTiles();
        int c = inChannels;
        int k = outChannels;
        input = tiling.input(c, inHeight, inWidth, padding);
        transformedWeights = new FloatPointer(36L * c * k);
        u = transformedWeights.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        lanes = new Lane[DirectLoops.CHUNKS];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new Lane();
        }
        biasRow = new float[tileColumns * k];
        weights = new float[k * c * 9];
        weightsByChannel = new float[c * 9 * k];
        weightsU = new float[36 * c * k];
        weightsPass = new float[6 * 3 * k];
        transformedFrom = new float[k * c * 9];
    }

    /**
     * Whether this way suits a layer: a 3x3 kernel and 64 channels or more on both sides. Measured on two AVX2 cores:
     * the CIFAR-10 variant's 64 -> 64 layer took 190 against 264 ms per training step, the reference network's
     * 32 -> 32 one 76 against 56 (its products too small for the batched matmul to pay for the transforms).
     */
    static boolean suits(int inChannels, int outChannels, int kernel) {
        return kernel == 3 && inChannels >= 64 && outChannels >= 64;
    }

    /**
     * Whether inference with the pooling on the way ({@link #forwardPooled}) suits a layer: a 3x3 kernel and 32
     * channels or more on both sides (the reference network's second convolution too, whose training stays
     * oneDNN's: see {@link #suits}).
     */
    static boolean suitsPooled(int inChannels, int outChannels, int kernel) {
        return kernel == 3 && inChannels >= 32 && outChannels >= 32;
    }

    /**
     * {@code output = conv(input, weights) + bias}, then the ReLU when made so: input [n, h, w, c] NHWC, weights
     * [o, c, 3, 3] OIHW, bias [o], output [n, h-2, w-2, o] NHWC, every array float32 and dense in C order.
     */
    void forward(INDArray input, INDArray weights, INDArray bias, INDArray output) {
        if (transposedWeights) {
            throw new IllegalStateException("made for the input's gradient");
        }
        takeBias(weights, bias);
        run(input, weights, output, false);
    }

    /**
     * {@code pooled = maxPool2x2(relu(conv(input, weights) + bias))}, the pooling done on each tile's outputs as the
     * output transform makes them, so that the convolution's output is never written: input [n, h, w, c] NHWC,
     * pooled [n, o, (h-2)/2, (w-2)/2] NCHW (the layout {@link DirectLoops#reluMaxPool} writes; an odd output row or
     * column beyond the last whole window is dropped, as there). For inference, where nothing needs the convolution's
     * output (featurizing, frozen feature layers, evaluation). A forward pass made without the ReLU only: the ReLU
     * comes after the pooling here.
     *
     * <p>The same floats as {@link #forward} followed by {@code reluMaxPool}: rounding is monotonic, so the
     * largest of four sums with the bias is the largest output's sum with it.
     */
    void forwardPooled(INDArray input, INDArray weights, INDArray bias, INDArray pooled) {
        if (transposedWeights || relu) {
            throw new IllegalStateException("made for " + (relu ? "a forward pass with its own ReLU" : "the input's gradient"));
        }
        takeBias(weights, bias);
        run(input, weights, pooled, true);
    }

    /** A forward pass's weights checked and its bias laid out once per tile column of a row. */
    private void takeBias(INDArray weights, INDArray bias) {
        WinogradTiles.requireShape(weights, outChannels, inChannels, 3, 3);
        WinogradTiles.requireShape(bias, outChannels);
        FloatBuffer b = DirectLoops.floats(bias);
        for (int t = 0; t < tileColumns; t++) {
            b.get(0, biasRow, t * outChannels, outChannels);
        }
        // the buffer holds no reference to the array (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(bias);
    }

    /**
     * The input's gradient of the layer {@code out = conv(in, weights) + b}: outputGrad [n, h-2, w-2, o] NHWC,
     * weights [o, c, 3, 3] OIHW (the layer's own), inputGrad [n, h, w, c] NHWC, overwritten.
     */
    void inputGradient(INDArray outputGrad, INDArray weights, INDArray inputGrad) {
        if (!transposedWeights) {
            throw new IllegalStateException("made for a forward pass");
        }
        WinogradTiles.requireShape(weights, inChannels, outChannels, 3, 3);
        run(outputGrad, weights, inputGrad, false);
    }

    /** @param pooled whether {@code output} takes the pooled outputs ({@link #forwardPooled}) */
    private void run(INDArray input, INDArray weights, INDArray output, boolean pooled) {
        long n = input.size(0);
        WinogradTiles.requireShape(input, n, inHeight, inWidth, inChannels);
        if (pooled) {
            WinogradTiles.requireShape(output, n, outChannels, outHeight / 2, outWidth / 2);
        } else {
            WinogradTiles.requireShape(output, n, outHeight, outWidth, outChannels);
        }
        transformWeights(DirectLoops.floats(weights));
        FloatBuffer in = DirectLoops.floats(input);
        FloatBuffer out = DirectLoops.floats(output);
        long allRows = n * tileRows;
        int blocks = (int) ((allRows + rowsPerBlock - 1) / rowsPerBlock);
        int parallel = Math.min(Math.min(lanes.length, blocks), NativeBackend.threadsOfCurrentThread());
        if (parallel <= 1) {
            lanes[0].run(in, out, 0, 1, allRows, pooled);
        } else {
            // each lane on a thread of its own, its product on that thread alone: oneDNN's batched product of these
            // small matrices gains little from a second thread, and the transforms between products none at all
            WinogradTiles.inLanes(parallel, i -> lanes[i].run(in, out, i, parallel, allRows, pooled));
        }
        // the buffers hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(weights);
        Reference.reachabilityFence(input);
        Reference.reachabilityFence(output);
    }

    /**
     * One thread's share of a forward pass: blocks {@code first}, {@code first + step}, ... of the batch's tile
     * rows, each through V, the batched product and the outputs, in buffers of its own.
     */
    private final class Lane {
        final FloatBuffer v;
        final FloatBuffer m;
        final matmul primitive;
        final IntMemoryMap args;
        final stream stream;
        final WinogradTiles.Scratch inputScratch;
        final Scratch scratch;
        /** Kept for their native memory, which the memory objects and buffers above point into. */
        final FloatPointer[] buffers;

        Lane() {
            int c = inChannels;
            int k = outChannels;
            FloatPointer transformedInput = new FloatPointer(36L * blockTiles * c);
            FloatPointer products = new FloatPointer(36L * blockTiles * k);
            buffers = new FloatPointer[] {transformedInput, products};
            v = transformedInput.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            m = products.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            // stale rows of a last, partial block are multiplied too (finite values: zero at first, earlier
            // tiles' after) and their products dropped: one primitive for every batch size
            v.put(0, new float[36 * blockTiles * c]);
            engine engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
            stream = new stream(engine);
            memory.desc vDesc = new memory.desc(new long[] {36, blockTiles, c}, memory.data_type.f32,
                    memory.format_tag.abc);
            memory.desc uDesc = new memory.desc(new long[] {36, c, k}, memory.data_type.f32,
                    memory.format_tag.abc);
            memory.desc mDesc = new memory.desc(new long[] {36, blockTiles, k}, memory.data_type.f32,
                    memory.format_tag.abc);
            // one thread's, as the lane that runs it (see NativeBackend.madeForThreads)
            primitive = NativeBackend.madeForThreads(1,
                    () -> new matmul(new matmul.primitive_desc(new matmul.desc(vDesc, uDesc, mDesc), engine)));
            args = new IntMemoryMap();
            args.put(dnnl.DNNL_ARG_SRC, new memory(vDesc, engine, transformedInput));
            args.put(dnnl.DNNL_ARG_WEIGHTS, new memory(uDesc, engine, transformedWeights));
            args.put(dnnl.DNNL_ARG_DST, new memory(mDesc, engine, products));
            inputScratch = input.scratch();
            scratch = new Scratch(outWidth * k, tileColumns * k);
        }

        void run(FloatBuffer in, FloatBuffer out, int first, int step, long allRows, boolean pooled) {
            for (long block = first; block * rowsPerBlock < allRows; block += step) {
                long from = block * rowsPerBlock;
                int rows = (int) Math.min(rowsPerBlock, allRows - from);
                for (int r = 0; r < rows; r++) {
                    input.transformRow(inputScratch, in, from + r, v, blockTiles, r * tileColumns);
                }
                primitive.execute(stream, args);
                stream._wait();
                for (int r = 0; r < rows; r++) {
                    if (pooled) {
                        transformPooledRow(this, out, from + r, r * tileColumns);
                    } else {
                        transformOutputRow(this, out, from + r, r * tileColumns);
                    }
                }
            }
        }
    }

    /** One lane's scratch rows of a tile row's outputs (each its own array: see {@link WinogradTiles}). */
    private static final class Scratch {
        /** An output row as written. */
        final float[] outputRow;
        /** [ξ]: the tile row's products. */
        final float[][] tileRowM;
        /** [r][j]: Aᵀ applied down the rows. */
        final float[][][] rowPass;
        /** [r][p]: output row r at the tiles' column p. */
        final float[][][] outputColumns;
        /** A pooled window's largest output at each tile ({@link #forwardPooled}). */
        final float[] windowMax;

        Scratch(int outputRowLength, int outLength) {
            outputRow = new float[outputRowLength];
            tileRowM = new float[36][outLength];
            rowPass = new float[4][6][outLength];
            outputColumns = new float[4][4][outLength];
            windowMax = new float[outLength];
        }
    }

    /**
     * U[ξ][c][o] = (G g Gᵀ)[ξ] of each filter g = weights[o][c]: per input channel, over all output channels at
     * once (the weights first reordered to [c][kh][kw][o]). Not again for the weights of the last call, bit for bit:
     * frozen features (featurizing, evaluation, model 2's forward passes) keep theirs, and their transform took
     * 0.16-0.22 ms of each batch on one Zen 4 core (the CIFAR-10 variant's 64 -> 64 layer, the reference's 32 -> 32).
     */
    private void transformWeights(FloatBuffer w) {
        int c = inChannels;
        int k = outChannels;
        w.get(0, weights, 0, weights.length);
        if (transformed && Arrays.equals(weights, transformedFrom)) {
            return;
        }
        transformed = false;
        if (transposedWeights) {
            // the layer's weights [c][o][kh][kw] (its output channels are this pass's input ones), flipped
            for (int ci = 0; ci < c; ci++) {
                for (int o = 0; o < k; o++) {
                    int from = (ci * k + o) * 9;
                    for (int e = 0; e < 9; e++) {
                        weightsByChannel[(ci * 9 + e) * k + o] = weights[from + 8 - e];
                    }
                }
            }
        } else {
            for (int o = 0; o < k; o++) {
                for (int ci = 0; ci < c; ci++) {
                    int from = (o * c + ci) * 9;
                    for (int e = 0; e < 9; e++) {
                        weightsByChannel[(ci * 9 + e) * k + o] = weights[from + e];
                    }
                }
            }
        }
        float[] g = weightsByChannel;
        float[] p = weightsPass;
        for (int ci = 0; ci < c; ci++) {
            // p[i][kw][o] = Σ_kh G[i][kh] g[kh][kw][o]
            for (int kw = 0; kw < 3; kw++) {
                int r0 = (ci * 9 + kw) * k;
                int r1 = r0 + 3 * k;
                int r2 = r0 + 6 * k;
                WinogradTiles.filterRows(g, r0, r1, r2, p, kw * k, 3 * k, k);
            }
            // U[i*6+j][ci][o] = Σ_kw p[i][kw][o] G[j][kw]
            for (int i = 0; i < 6; i++) {
                int q = i * 3 * k;
                WinogradTiles.filterRows(p, q, q + k, q + 2 * k, weightsU, ((i * 6) * c + ci) * k, c * k, k);
            }
        }
        u.put(0, weightsU);
        System.arraycopy(weights, 0, transformedFrom, 0, weights.length);
        transformed = true;
    }

    /**
     * One tile row's outputs from the block's products from {@code tile}: Aᵀ down the rows, then across the columns,
     * the bias (and the ReLU), then each output row put together from its four tile columns.
     */
    private void transformOutputRow(Lane lane, FloatBuffer out, long row, int tile) {
        Scratch s = lane.scratch;
        float[][][] rowPass = s.rowPass;
        float[][][] outputColumns = s.outputColumns;
        float[] outputRow = s.outputRow;
        int k = outChannels;
        int length = tileColumns * k;
        transformDownRows(lane, tile);
        long image = row / tileRows;
        int top = (int) (row % tileRows) * 4;
        for (int r = 0; r < 4 && top + r < outHeight; r++) {
            // across the columns: outputColumns[r][p] = Σ_j Aᵀ[p][j] rowPass[r][j], then the bias and the ReLU
            float[][] d = rowPass[r];
            float[][] o = outputColumns[r];
            WinogradTiles.outputTransform(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], length);
            for (int p = 0; p < 4; p++) {
                finish(o[p], length);
                for (int t = 0; t < tileColumns; t++) {
                    int x = 4 * t + p;
                    if (x < outWidth) {
                        System.arraycopy(o[p], t * k, outputRow, x * k, k);
                    }
                }
            }
            out.put(Math.toIntExact(((image * outHeight + top + r) * outWidth) * k), outputRow, 0, outputRow.length);
        }
    }

    /** The block's products of one tile row from {@code tile}, Aᵀ applied down the rows: rowPass[r][j]. */
    private void transformDownRows(Lane lane, int tile) {
        Scratch s = lane.scratch;
        float[][] a = s.tileRowM;
        float[][][] rowPass = s.rowPass;
        int k = outChannels;
        int length = tileColumns * k;
        for (int xi = 0; xi < 36; xi++) {
            lane.m.get((xi * blockTiles + tile) * k, a[xi], 0, length);
        }
        // rowPass[r][j] = Σ_i Aᵀ[r][i] M[i*6+j]
        for (int j = 0; j < 6; j++) {
            WinogradTiles.outputTransform(a[j], a[6 + j], a[12 + j], a[18 + j], a[24 + j], a[30 + j], rowPass[0][j],
                    rowPass[1][j], rowPass[2][j], rowPass[3][j], length);
        }
    }

    /**
     * One tile row's pooled outputs ({@link #forwardPooled}): per pair of output rows, Aᵀ across the columns, then each
     * 2x2 window's largest output over the whole tile row at once, the bias, the ReLU, and the pooled values put at
     * their NCHW places.
     */
    private void transformPooledRow(Lane lane, FloatBuffer pooled, long row, int tile) {
        Scratch s = lane.scratch;
        float[][][] rowPass = s.rowPass;
        float[][][] o = s.outputColumns;
        float[] best = s.windowMax;
        float[] bias = biasRow;
        int k = outChannels;
        int length = tileColumns * k;
        int pooledHeight = outHeight / 2;
        int pooledWidth = outWidth / 2;
        int planes = pooledHeight * pooledWidth;
        long image = row / tileRows;
        int tileRow = (int) (row % tileRows);
        transformDownRows(lane, tile);
        for (int wr = 0; wr < 2; wr++) {
            int pooledRow = 2 * tileRow + wr;
            if (pooledRow >= pooledHeight) {
                break;
            }
            for (int r = 2 * wr; r < 2 * wr + 2; r++) {
                float[][] d = rowPass[r];
                WinogradTiles.outputTransform(d[0], d[1], d[2], d[3], d[4], d[5], o[r][0], o[r][1], o[r][2], o[r][3],
                        length);
            }
            float[][] upper = o[2 * wr];
            float[][] lower = o[2 * wr + 1];
            for (int wc = 0; wc < 2; wc++) {
                float[] a = upper[2 * wc];
                float[] b = upper[2 * wc + 1];
                float[] c = lower[2 * wc];
                float[] d = lower[2 * wc + 1];
                for (int q = 0; q < length; q++) {
                    best[q] = Math.max(Math.max(Math.max(a[q], b[q]), Math.max(c[q], d[q])) + bias[q], 0f);
                }
                int base = Math.toIntExact(image * k * planes) + pooledRow * pooledWidth;
                for (int t = 0; t < tileColumns; t++) {
                    int pooledColumn = 2 * t + wc;
                    if (pooledColumn >= pooledWidth) {
                        break;
                    }
                    for (int ch = 0; ch < k; ch++) {
                        pooled.put(base + ch * planes + pooledColumn, best[t * k + ch]);
                    }
                }
            }
        }
    }

    /** The bias (a forward pass's), then the ReLU if asked. */
    private void finish(float[] a, int length) {
        if (!transposedWeights) {
            float[] bias = biasRow;
            for (int q = 0; q < length; q++) {
                a[q] += bias[q];
            }
        }
        if (relu) {
            for (int q = 0; q < length; q++) {
                a[q] = Math.max(a[q], 0f);
            }
        }
    }
}
