package io.featurerelay.learning.model;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * What {@link WinogradConvolution} and {@link WinogradWeightGradient} share of Winograd's F(4x4, 3x3): the
 * transforms' matrices applied to whole rows of floats (Bᵀ to the input's 6x6 tiles, G to the filters, Aᵀ to the
 * products, and for the weights' gradient A to the output gradient's 4x4 tiles and Gᵀ back to 3x3), an input's tile
 * rows gathered and carried into V, and the lanes' threads.
 *
 * <p>Every loop here runs over whole arrays from index 0 (a tile row's worth at a time): C2 vectorises those, not (on
 * JDK 17) loops over offsets into a shared array, five times slower in a probe.
 */
final class WinogradTiles {

    /** The lanes' threads, shared by every instance: daemons whose native ops run on one thread each. */
    private static final ExecutorService LANES = Executors.newFixedThreadPool(DirectLoops.CHUNKS, task -> {
        Thread t = new Thread(() -> {
            NativeBackend.limitCurrentThread(1);
            task.run();
        }, "winograd-lane");
        t.setDaemon(true);
        return t;
    });

    private WinogradTiles() {
    }

    /** Refuses an array of another shape than the one given (the callers check type and order as they read it). */
    static void requireShape(org.nd4j.linalg.api.ndarray.INDArray a, long... shape) {
        if (!java.util.Arrays.equals(a.shape(), shape)) {
            throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " expected, got "
                    + a.shapeInfoToString());
        }
    }

    /** {@code lane.accept(i)} for i in 0..lanes-1, each on a lane thread of its own; returns when all have. */
    static void inLanes(int lanes, IntConsumer lane) {
        List<Future<?>> running = new ArrayList<>();
        for (int i = 0; i < lanes; i++) {
            int index = i;
            running.add(LANES.submit(() -> lane.accept(index)));
        }
        RuntimeException first = null;
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (first == null) {
                    first = e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException("a Winograd lane failed", e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted in a convolution", e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Where a batch's 4x4 output tiles lie, for a 3x3 convolution of {@code inHeight x inWidth} zero-padded by
     * {@code padding}: the output's size, its tile rows and columns per image (the last ones partial where the
     * output's size is not a multiple of 4), and the whole tile rows a block of the batched product takes (about
     * {@code tilesPerBlock} tiles, at least one row).
     */
    record Tiling(int outHeight, int outWidth, int tileRows, int tileColumns, int rowsPerBlock) {

        static Tiling of(int inHeight, int inWidth, int padding, int tilesPerBlock) {
            int outHeight = inHeight + 2 * padding - 2;
            int outWidth = inWidth + 2 * padding - 2;
            int tileColumns = (outWidth + 3) / 4;
            return new Tiling(outHeight, outWidth, (outHeight + 3) / 4, tileColumns,
                    Math.max(1, Math.round((float) tilesPerBlock / tileColumns)));
        }

        /** The tiles of a block. */
        int blockTiles() {
            return rowsPerBlock * tileColumns;
        }

        /** The windows of an input of {@code channels} under these tiles. */
        Input input(int channels, int inHeight, int inWidth, int padding) {
            return new Input(channels, inHeight, inWidth, padding, tileRows, tileColumns);
        }
    }

    /**
     * An input [n, height, width, channels] NHWC, zero-padded by {@code padding}, cut into the 6x6 windows of 4x4
     * output tiles ({@code tileRows x tileColumns} per image, the last ones partial where the output's size is not a
     * multiple of 4).
     */
    record Input(int channels, int height, int width, int padding, int tileRows, int tileColumns) {

        Scratch scratch() {
            return new Scratch(width * channels, tileColumns * channels);
        }

        /**
         * V of one tile row ({@code row} counts tile rows over the whole batch), into V [36][blockTiles][channels]
         * from {@code tile}: its six input rows split by the tiles' columns (zero beyond the input), Bᵀ applied down
         * the rows and then across the columns, each over the whole tile row at once.
         */
        void transformRow(Scratch s, FloatBuffer in, long row, FloatBuffer v, int blockTiles, int tile) {
            int c = channels;
            long image = row / tileRows;
            int top = (int) (row % tileRows) * 4 - padding;
            for (int k = 0; k < 6; k++) {
                float[][] columns = s.columns[k];
                int y = top + k;
                if (y < 0 || y >= height) {
                    for (float[] column : columns) {
                        java.util.Arrays.fill(column, 0f);
                    }
                    continue;
                }
                in.get(Math.toIntExact(((image * height + y) * width) * c), s.row, 0, s.row.length);
                for (int j = 0; j < 6; j++) {
                    float[] column = columns[j];
                    for (int t = 0; t < tileColumns; t++) {
                        int x = 4 * t + j - padding;
                        if (x >= 0 && x < width) {
                            System.arraycopy(s.row, x * c, column, t * c, c);
                        } else {
                            java.util.Arrays.fill(column, t * c, (t + 1) * c, 0f);
                        }
                    }
                }
            }
            int length = tileColumns * c;
            float[][][] d = s.columns;
            float[][][] p = s.columnPass;
            // down the rows: columnPass[i][j] = Σ_k Bᵀ[i][k] columns[k][j]
            for (int j = 0; j < 6; j++) {
                inputTransform(d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j], p[0][j], p[1][j], p[2][j],
                        p[3][j], p[4][j], p[5][j], length);
            }
            // across the columns: V[i*6+j] = Σ_x Bᵀ[j][x] columnPass[i][x]
            float[][] r = s.rowV;
            for (int i = 0; i < 6; i++) {
                float[][] e = p[i];
                inputTransform(e[0], e[1], e[2], e[3], e[4], e[5], r[0], r[1], r[2], r[3], r[4], r[5], length);
                for (int j = 0; j < 6; j++) {
                    v.put(((i * 6 + j) * blockTiles + tile) * c, r[j], 0, length);
                }
            }
        }
    }

    /** One lane's scratch rows for {@link Input#transformRow}. */
    static final class Scratch {
        /** An input row as read. */
        final float[] row;
        /** [k][j]: input row k at the tiles' column j (x = 4 * tile + j), tile after tile. */
        final float[][][] columns;
        /** [i][j]: Bᵀ applied down the rows. */
        final float[][][] columnPass;
        /** [j]: one row of V. */
        final float[][] rowV;

        Scratch(int rowLength, int length) {
            row = new float[rowLength];
            columns = new float[6][6][length];
            columnPass = new float[6][6][length];
            rowV = new float[6][length];
        }
    }

    /** Bᵀ applied to six rows (a 6x6 window's, down or across): six rows. */
    static void inputTransform(float[] d0, float[] d1, float[] d2, float[] d3, float[] d4, float[] d5,
            float[] o0, float[] o1, float[] o2, float[] o3, float[] o4, float[] o5, int length) {
        // Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
        for (int q = 0; q < length; q++) {
            o0[q] = 4 * d0[q] - 5 * d2[q] + d4[q];
        }
        for (int q = 0; q < length; q++) {
            o1[q] = d3[q] + d4[q] - 4 * (d1[q] + d2[q]);
        }
        for (int q = 0; q < length; q++) {
            o2[q] = 4 * (d1[q] - d2[q]) + d4[q] - d3[q];
        }
        for (int q = 0; q < length; q++) {
            o3[q] = 2 * (d3[q] - d1[q]) + d4[q] - d2[q];
        }
        for (int q = 0; q < length; q++) {
            o4[q] = 2 * (d1[q] - d3[q]) + d4[q] - d2[q];
        }
        for (int q = 0; q < length; q++) {
            o5[q] = 4 * d1[q] - 5 * d3[q] + d5[q];
        }
    }

    /** Aᵀ applied to six rows (the products', down or across): a 4x4 tile's four rows. */
    static void outputTransform(float[] d0, float[] d1, float[] d2, float[] d3, float[] d4, float[] d5,
            float[] o0, float[] o1, float[] o2, float[] o3, int length) {
        // Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
        for (int q = 0; q < length; q++) {
            o0[q] = d0[q] + d1[q] + d2[q] + d3[q] + d4[q];
        }
        for (int q = 0; q < length; q++) {
            o1[q] = d1[q] - d2[q] + 2 * (d3[q] - d4[q]);
        }
        for (int q = 0; q < length; q++) {
            o2[q] = d1[q] + d2[q] + 4 * (d3[q] + d4[q]);
        }
        for (int q = 0; q < length; q++) {
            o3[q] = d1[q] - d2[q] + 8 * (d3[q] - d4[q]) + d5[q];
        }
    }

    /**
     * The six rows of G applied to three rows of a shared array: out[j] = Σ G[j][e] row[e], at {@code to + j * step}.
     * Offsets, unlike the loops above: it runs once per call on the weights, not per tile row.
     */
    static void filterRows(float[] a, int r0, int r1, int r2, float[] out, int to, int step, int length) {
        final float quarter = 0.25f;
        final float sixth = 1f / 6;
        final float twelfth = 1f / 12;
        final float twentyFourth = 1f / 24;
        for (int q = 0; q < length; q++) {
            out[to + q] = quarter * a[r0 + q];
        }
        int o = to + step;
        for (int q = 0; q < length; q++) {
            out[o + q] = -sixth * (a[r0 + q] + a[r1 + q] + a[r2 + q]);
        }
        o += step;
        for (int q = 0; q < length; q++) {
            out[o + q] = -sixth * (a[r0 + q] - a[r1 + q] + a[r2 + q]);
        }
        o += step;
        for (int q = 0; q < length; q++) {
            out[o + q] = twentyFourth * a[r0 + q] + twelfth * a[r1 + q] + sixth * a[r2 + q];
        }
        o += step;
        for (int q = 0; q < length; q++) {
            out[o + q] = twentyFourth * a[r0 + q] - twelfth * a[r1 + q] + sixth * a[r2 + q];
        }
        o += step;
        for (int q = 0; q < length; q++) {
            out[o + q] = a[r2 + q];
        }
    }

    /** A applied to four rows (a 4x4 tile's, down or across): six rows, A = (Aᵀ)ᵀ. */
    static void gradientTransform(float[] e0, float[] e1, float[] e2, float[] e3, float[] o0, float[] o1,
            float[] o2, float[] o3, float[] o4, float[] o5, int length) {
        // A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]
        for (int q = 0; q < length; q++) {
            o0[q] = e0[q];
        }
        for (int q = 0; q < length; q++) {
            o1[q] = e0[q] + e1[q] + e2[q] + e3[q];
        }
        for (int q = 0; q < length; q++) {
            o2[q] = e0[q] - e1[q] + e2[q] - e3[q];
        }
        for (int q = 0; q < length; q++) {
            o3[q] = e0[q] + 2 * e1[q] + 4 * e2[q] + 8 * e3[q];
        }
        for (int q = 0; q < length; q++) {
            o4[q] = e0[q] - 2 * e1[q] + 4 * e2[q] - 8 * e3[q];
        }
        for (int q = 0; q < length; q++) {
            o5[q] = e3[q];
        }
    }

    /** Gᵀ applied to six rows: three rows. */
    static void filterBack(float[] d0, float[] d1, float[] d2, float[] d3, float[] d4, float[] d5, float[] o0,
            float[] o1, float[] o2, int length) {
        // Gᵀ = [1/4 -1/6 -1/6 1/24 1/24 0; 0 -1/6 1/6 1/12 -1/12 0; 0 -1/6 -1/6 1/6 1/6 1]
        final float quarter = 0.25f;
        final float sixth = 1f / 6;
        final float twelfth = 1f / 12;
        final float twentyFourth = 1f / 24;
        for (int q = 0; q < length; q++) {
            o0[q] = quarter * d0[q] - sixth * (d1[q] + d2[q]) + twentyFourth * (d3[q] + d4[q]);
        }
        for (int q = 0; q < length; q++) {
            o1[q] = sixth * (d2[q] - d1[q]) + twelfth * (d3[q] - d4[q]);
        }
        for (int q = 0; q < length; q++) {
            o2[q] = sixth * (d3[q] + d4[q] - d1[q] - d2[q]) + d5[q];
        }
    }
}
