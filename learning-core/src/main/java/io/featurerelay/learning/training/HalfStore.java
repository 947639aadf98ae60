package io.featurerelay.learning.training;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.indexer.HalfIndexer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A float16 matrix [rows, columns] in memory of its own, for pre-computed features: taken from the C allocator
 * unwritten and freed by {@link #close}, which the owner calls once nothing reads the matrix any more.
 *
 * <p>Why not {@code Nd4j.createUninitialized}: libnd4j clears every new buffer, so a feature store of 277 MB
 * (30,000 Fashion-MNIST images) was written twice and page-faulted in on one thread before featurizing began:
 * 100 ms alone, 400-600 ms inside a benchmark's process. Unwritten memory is faulted in by the featurizing
 * workers as they write their rows, on every core. Like libnd4j's own buffers it is not counted against
 * JavaCPP's {@code maxbytes} ({@code maxphysicalbytes}, the resident size, still sees it).
 */
public final class HalfStore implements AutoCloseable {

    /** Null once freed, and for a store of no rows. */
    private Pointer memory;
    private INDArray matrix;

    private HalfStore(Pointer memory, INDArray matrix) {
        this.memory = memory;
        this.matrix = matrix;
    }

    /** A store whose every element the caller writes before reading it. */
    public static HalfStore allocate(long rows, int columns) {
        if (rows < 0 || columns < 1) {
            throw new IllegalArgumentException("a feature store of " + rows + " x " + columns + " values");
        }
        if (rows == 0) {
            return new HalfStore(null, Nd4j.create(DataType.HALF, 0, columns));
        }
        long length = Math.multiplyExact(rows, (long) columns);
        Pointer memory = Pointer.malloc(Math.multiplyExact(length, (long) Short.BYTES));
        if (memory == null || memory.isNull()) {
            throw new OutOfMemoryError("no native memory for a feature store of " + rows + " x " + columns
                    + " float16 values");
        }
        ShortPointer halves = new ShortPointer(memory).capacity(length);
        DataBuffer buffer = Nd4j.createBuffer(halves, DataType.HALF, length, HalfIndexer.create(halves));
        INDArray matrix = Nd4j.create(buffer, new long[] {rows, columns}, new long[] {columns, 1}, 0, 'c');
        return new HalfStore(memory, matrix);
    }

    /** The matrix; valid until {@link #close}. */
    public synchronized INDArray matrix() {
        if (matrix == null) {
            throw new IllegalStateException("the feature store was freed");
        }
        return matrix;
    }

    /** Frees the memory; the matrix must not be read afterwards. Idempotent. */
    @Override
    public synchronized void close() {
        if (matrix != null) {
            Trainer.close(matrix);
            matrix = null;
        }
        if (memory != null) {
            Pointer.free(memory);
            memory = null;
        }
    }
}
