package io.featurerelay.learning.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The float16 gather against ND4J's own row gather and cast. */
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
