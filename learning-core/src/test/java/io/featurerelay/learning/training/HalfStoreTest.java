package io.featurerelay.learning.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class HalfStoreTest {

    @Test
    void holdsWhatIsWrittenIntoItsRowsAndIsGoneAfterClose() {
        HalfStore store = HalfStore.allocate(3, 5);
        INDArray matrix = store.matrix();
        assertThat(matrix.shape()).isEqualTo(new long[] {3, 5});
        assertThat(matrix.dataType()).isEqualTo(DataType.HALF);
        INDArray values = Nd4j.linspace(DataType.FLOAT, 0, 0.5, 15).reshape(3, 5);
        // as featurizing writes it: a batch of rows at a time, into a view
        matrix.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all()).assign(values.get(NDArrayIndex.interval(0, 2),
                NDArrayIndex.all()));
        matrix.get(NDArrayIndex.interval(2, 3), NDArrayIndex.all()).assign(values.getRow(2, true));
        assertThat(matrix.castTo(DataType.FLOAT).equalsWithEps(values, 1e-3)).isTrue();
        INDArray gathered = HalfRows.gather(matrix, new int[] {2, 0});
        assertThat(gathered.getFloat(0, 4)).isEqualTo(7f);
        assertThat(gathered.getFloat(1, 1)).isEqualTo(0.5f);

        store.close();
        store.close();
        assertThatThrownBy(store::matrix).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aStoreOfNoRowsIsEmptyAndSizesAreChecked() {
        try (HalfStore empty = HalfStore.allocate(0, 4)) {
            assertThat(empty.matrix().length()).isZero();
        }
        assertThatThrownBy(() -> HalfStore.allocate(-1, 4)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HalfStore.allocate(4, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HalfStore.allocate(Long.MAX_VALUE / 2, 4)).isInstanceOf(ArithmeticException.class);
    }
}
