package io.featurerelay.learning.training;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rows of a float16 matrix gathered and widened to float32 in one pass over native memory.
 *
 * <p>Why by hand: {@code Nd4j.pullRows} followed by {@code castTo(FLOAT)} took 3.5 ms for a batch of 128
 * feature rows (4608 values each), a third of the head's whole training step; a table lookup per value
 * (every half has an exact float) does it in a fraction of that, and where the JVM has the vector API
 * ({@code --add-modules=jdk.incubator.vector}, as every launcher of the project passes) {@link VectorHalves} does
 * the same bits eight values at a time, reading the store and writing the batch in place: 0.3-0.5 ms per batch of
 * 128 against 0.75-1.1 ms on a 2-core AVX2 machine.
 */
final class HalfRows {

    static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final float[] HALF_TO_FLOAT = new float[1 << 16];
    /**
     * Whether rows are widened by {@link VectorHalves} (else value by value through the table): where the module is
     * there, the CPU has 256-bit vectors and {@code -Dfeaturerelay.vectors=false} does not turn it off. The module
     * is looked for first, so that a JVM without it never loads the class that uses it.
     */
    static final boolean VECTORS = vectorsWanted() && VectorHalves.usable();

    static {
        for (int bits = 0; bits < HALF_TO_FLOAT.length; bits++) {
            HALF_TO_FLOAT[bits] = widen(bits);
        }
        Logger log = LoggerFactory.getLogger(HalfRows.class);
        if (VECTORS) {
            log.info("float16 feature rows are widened with the JDK's vector API");
        } else {
            log.info("float16 feature rows are widened by table lookup (the vector API, --add-modules={} on a CPU "
                    + "with 256-bit vectors, is about twice as fast)", VECTOR_MODULE);
        }
    }

    private HalfRows() {
    }

    private static boolean vectorsWanted() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent()
                && Boolean.parseBoolean(System.getProperty("featurerelay.vectors", "true"));
    }

    /** {@link #warmUp}: rows per call and calls (1,920 rows: 0.8 s in a fresh JVM, the batches after at full speed). */
    private static final int WARM_UP_ROWS = 32;
    private static final int WARM_UP_CALLS = 60;
    private static final int WARM_UP_COLUMNS = 4608;

    /**
     * Widens blank rows until the JIT has compiled the widening, and returns how long it took (ms). Why: until C2
     * compiles it, the vector API runs as boxed objects, and a fresh JVM's first batches of 128 rows took 790, 250,
     * 90, 40 ms (the table's 76, 9, 4, 2): 1.1-1.4 s of the first head epoch.
     */
    static long warmUp() {
        long start = System.nanoTime();
        try (HalfStore store = HalfStore.allocate(WARM_UP_ROWS, WARM_UP_COLUMNS)) {
            INDArray rows = store.matrix();
            rows.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer()
                    .put(new short[WARM_UP_ROWS * WARM_UP_COLUMNS]);
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, WARM_UP_ROWS, WARM_UP_COLUMNS);
            int[] order = IntStream.range(0, WARM_UP_ROWS).toArray();
            try {
                for (int i = 0; i < WARM_UP_CALLS; i++) {
                    gather(rows, order, out);
                }
            } finally {
                Trainer.close(out);
            }
        }
        return (System.nanoTime() - start) / 1_000_000;
    }

    /** IEEE 754 binary16 to binary32, exactly (subnormals, infinities and NaN included). */
    static float widen(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1f;
        int mantissa = bits & 0x3ff;
        if (exponent == 0) {
            float value = mantissa * 0x1p-24f;
            return sign == 0 ? value : -value;
        }
        if (exponent == 31) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** {@code matrix[rows, :]} as a new float32 C-order array [rows.length, columns]; matrix is float16 [n, columns]. */
    static INDArray gather(INDArray matrix, int[] rows) {
        // every value is written
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, rows.length, matrix.size(1));
        gather(matrix, rows, out);
        return out;
    }

    /**
     * {@code out = matrix[rows, :]}, widened; matrix is float16 [n, columns], out a dense float32 C-order array
     * (or a view of whole rows of one) [rows.length, columns].
     */
    static void gather(INDArray matrix, int[] rows, INDArray out) {
        gather(matrix, rows, out, VECTORS);
    }

    /** As {@link #gather(INDArray, int[], INDArray)}, widening by {@link VectorHalves} or by the table. */
    static void gather(INDArray matrix, int[] rows, INDArray out, boolean vectors) {
        if (matrix.dataType() != DataType.HALF || matrix.rank() != 2 || matrix.ordering() != 'c'
                || matrix.elementWiseStride() != 1) {
            throw new IllegalArgumentException("needs a dense float16 C-order matrix, got " + matrix.shapeInfoToString());
        }
        int columns = (int) matrix.size(1);
        if (out.dataType() != DataType.FLOAT || out.ordering() != 'c' || out.elementWiseStride() != 1
                || out.rank() != 2 || out.size(0) != rows.length || out.size(1) != columns) {
            throw new IllegalArgumentException("needs a dense float32 C-order [" + rows.length + ", " + columns
                    + "] output, got " + out.shapeInfoToString());
        }
        long n = matrix.size(0);
        for (int row : rows) {
            if (row < 0 || row >= n) {
                throw new IndexOutOfBoundsException("row " + row + " of " + n);
            }
        }
        // asNio() starts at the allocation; a view's elements start at its offset
        long base = matrix.offset();
        long outBase = out.offset();
        ByteBuffer src = matrix.data().asNio().order(ByteOrder.nativeOrder());
        ByteBuffer dst = out.data().asNio().order(ByteOrder.nativeOrder());
        int chunks = Math.min(rows.length, Runtime.getRuntime().availableProcessors());
        int size = chunks == 0 ? 0 : (rows.length + chunks - 1) / chunks;
        if (vectors && !VECTORS) {
            throw new IllegalStateException("the vector API is not usable in this JVM (--add-modules="
                    + VECTOR_MODULE + ", 256-bit vectors)");
        }
        IntStream.range(0, chunks).parallel().forEach(c -> {
            RowWidener widener = vectors ? new VectorRows(src, dst) : new TableRows(src, dst, columns);
            for (int r = c * size; r < Math.min(rows.length, (c + 1) * size); r++) {
                widener.widen(Math.toIntExact(base + (long) rows[r] * columns),
                        Math.toIntExact(outBase + (long) r * columns), columns);
            }
        });
        // the buffers hold no reference to the arrays, and ND4J frees an array's memory once the collector finds
        // it unreachable: a caller's last use of either may be this call (CI read freed memory so, in a test)
        Reference.reachabilityFence(matrix);
        Reference.reachabilityFence(out);
    }

    /** One thread's way of widening a row: element offsets into the store's and the batch's memory. */
    private interface RowWidener {
        void widen(int from, int to, int columns);
    }

    private record VectorRows(ByteBuffer src, ByteBuffer dst) implements RowWidener {
        @Override
        public void widen(int from, int to, int columns) {
            VectorHalves.widen(src, Math.multiplyExact(from, Short.BYTES), dst, Math.multiplyExact(to, Float.BYTES),
                    columns, HALF_TO_FLOAT);
        }
    }

    /** Bulk copies in and out of plain arrays: the lookup loop then runs without buffer bounds checks. */
    private static final class TableRows implements RowWidener {
        private final ShortBuffer src;
        private final FloatBuffer dst;
        private final short[] halves;
        private final float[] line;

        TableRows(ByteBuffer src, ByteBuffer dst, int columns) {
            this.src = src.asShortBuffer();
            this.dst = dst.asFloatBuffer();
            halves = new short[columns];
            line = new float[columns];
        }

        @Override
        public void widen(int from, int to, int columns) {
            src.get(from, halves);
            for (int k = 0; k < columns; k++) {
                line[k] = HALF_TO_FLOAT[halves[k] & 0xffff];
            }
            dst.put(to, line);
        }
    }
}
