package io.featurerelay.learning.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.ShortBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The float16 gather against ND4J's own row gather and cast, and its two ways (vectors, table) against each other. */
class HalfRowsTest {

    @Test
    void everyHalfWidensAsNd4jWidensIt() {
        INDArray halves = Nd4j.create(DataType.HALF, 1 << 16);
        ShortBuffer bits = halves.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer();
        for (int b = 0; b < 1 << 16; b++) {
            bits.put(b, (short) b);
        }
        float[] expected = halves.castTo(DataType.FLOAT).toFloatVector();
        for (int b = 0; b < 1 << 16; b++) {
            float actual = HalfRows.widen(b);
            if (Float.isNaN(expected[b])) {
                assertThat(actual).as("bits %04x", b).isNaN();
            } else {
                assertThat(Float.floatToIntBits(actual)).as("bits %04x", b).isEqualTo(Float.floatToIntBits(expected[b]));
            }
        }
    }

    @Test
    void theProjectsJvmsWidenWithTheVectorApi() {
        // the tests run with the services' JVM options (production.jvm.args), which add the module: without it
        // the vector path would go untested and the services would quietly take the table
        assertThat(HalfRows.VECTORS).as("--add-modules=" + HalfRows.VECTOR_MODULE + " on a 256-bit CPU").isTrue();
    }

    @ParameterizedTest(name = "{0} columns")
    @ValueSource(ints = {65536, 3, 7, 8, 9, 4608, 4613})
    void bothWaysGiveEveryHalfItsExactFloat(int columns) {
        // every bit pattern (subnormals, both zeros, infinities, NaNs with their payloads), in rows whose lengths
        // leave the vector loop's remainder 0..7 values, gathered from an offset view into another offset view
        int rows = Math.max(3, (1 << 16) / columns + 1);
        INDArray store = Nd4j.create(DataType.HALF, rows + 1, columns);
        ShortBuffer bits = store.data().asNio().order(ByteOrder.nativeOrder()).asShortBuffer();
        for (int i = 0; i < (rows + 1) * columns; i++) {
            bits.put(i, (short) (i * 40503 + 17));
        }
        INDArray matrix = store.get(NDArrayIndex.interval(1, rows + 1), NDArrayIndex.all());
        int[] order = new int[rows];
        for (int r = 0; r < rows; r++) {
            order[r] = rows - 1 - r;
        }
        INDArray table = Nd4j.create(DataType.FLOAT, rows + 2, columns);
        INDArray vectors = Nd4j.create(DataType.FLOAT, rows + 2, columns);
        HalfRows.gather(matrix, order, table.get(NDArrayIndex.interval(2, rows + 2), NDArrayIndex.all()), false);
        assertThat(matrix.offset()).isPositive();
        HalfRows.gather(matrix, order, vectors.get(NDArrayIndex.interval(2, rows + 2), NDArrayIndex.all()), true);
        int[] expected = DirectBits.of(table);
        int[] actual = DirectBits.of(vectors);
        try {
            for (int i = 0; i < expected.length; i++) {
                if (actual[i] != expected[i]) {
                    int row = i / columns - 2;
                    short half = row < 0 ? 0 : bits.get((1 + order[row]) * columns + i % columns);
                    throw new AssertionError(String.format(
                            "value %d (half %04x, widened %08x): table %08x, vectors %08x", i, half, Float.floatToRawIntBits(HalfRows.widen(half & 0xffff)), expected[i], actual[i]));
                }
            }
        } finally {
            // the buffer the message reads holds no reference to the store, whose memory ND4J frees once unreachable
            Reference.reachabilityFence(store);
        }
        // the two rows above the gathered ones stay untouched
        assertThat(table.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all()).sumNumber().doubleValue()).isZero();
        assertThat(vectors.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all()).sumNumber().doubleValue()).isZero();
    }

    /** The float32 bits of an array, NaN payloads kept. */
    private static final class DirectBits {
        static int[] of(INDArray a) {
            IntBuffer ints = a.data().asNio().order(ByteOrder.nativeOrder()).asIntBuffer();
            int[] out = new int[(int) a.length()];
            ints.get(0, out);
            Reference.reachabilityFence(a);
            return out;
        }
    }

    @Test
    void gatheredRowsEqualPullRowsThenCast() {
        Nd4j.getRandom().setSeed(3);
        INDArray features = Nd4j.randn(DataType.FLOAT, 50, 37).castTo(DataType.HALF);
        int[] rows = {49, 0, 7, 7, 23};
        INDArray expected = Nd4j.pullRows(features, 1, rows).castTo(DataType.FLOAT);
        INDArray actual = HalfRows.gather(features, rows);
        assertThat(actual.shape()).containsExactly(5, 37);
        assertThat(actual.dataType()).isEqualTo(DataType.FLOAT);
        assertThat(actual.toFloatMatrix()).isDeepEqualTo(expected.toFloatMatrix());
        assertThatThrownBy(() -> HalfRows.gather(features, new int[] {50})).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
