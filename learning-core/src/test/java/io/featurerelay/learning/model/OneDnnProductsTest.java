package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The dense layers' products through oneDNN's matmul primitive against Nd4j.matmul: two implementations agree. */
class OneDnnProductsTest {

    @BeforeAll
    static void nativeBackend() {
        NativeBackend.configure();
    }

    /**
     * c = op(a)·op(b) as Nd4j.matmul computes it, for the products the dense layers run (forward a·b, weight gradient
     * aᵀ·b, input gradient a·bᵀ) and aᵀ·bᵀ; the reference head's shapes, a partial last batch and a single row, each
     * twice on one instance (one primitive per shape), with b and c views at an offset of a flat array, as a
     * layer's weights and their gradients are. Within float32 summation order (the same kernel gives the same bits).
     */
    @ParameterizedTest
    @CsvSource({"128,4608,128", "77,4608,128", "1,300,5", "128,128,5", "3,7,11"})
    void equalsNd4jMatmul(int m, int k, int n) {
        OneDnnProducts products = new OneDnnProducts();
        for (boolean transposeA : new boolean[] {false, true}) {
            for (boolean transposeB : new boolean[] {false, true}) {
                for (int repeat = 0; repeat < 2; repeat++) {
                    SplittableRandom random = new SplittableRandom(m * 31L + k * 7L + n + (transposeA ? 1 : 0));
                    INDArray a = transposeA ? RandomArrays.uniform(random, k, m) : RandomArrays.uniform(random, m, k);
                    INDArray flat = Nd4j.create(DataType.FLOAT, 3 + (long) k * n + (long) m * n).assign(Float.NaN);
                    INDArray b = flat.get(NDArrayIndex.interval(3, 3 + (long) k * n))
                            .reshape('c', transposeB ? new long[] {n, k} : new long[] {k, n})
                            .assign(transposeB ? RandomArrays.uniform(random, n, k) : RandomArrays.uniform(random, k, n));
                    INDArray c = flat.get(NDArrayIndex.interval(3 + (long) k * n, 3 + (long) k * n + (long) m * n))
                            .reshape('c', m, n);
                    products.multiply(a, b, c, transposeA, transposeB);
                    INDArray expected = Nd4j.create(DataType.FLOAT, m, n);
                    Nd4j.matmul(a, b, expected, transposeA, transposeB, false);
                    double scale = Math.max(1e-6, expected.amaxNumber().doubleValue());
                    assertThat(c.sub(expected).amaxNumber().doubleValue() / scale)
                            .as("%dx%dx%d, transposes %s %s", m, k, n, transposeA, transposeB).isLessThan(1e-5);
                    assertThat(flat.getFloat(0)).as("nothing written before c's view").isNaN();
                }
            }
        }
    }

    @Test
    void anEmptyInnerDimensionGivesZeros() {
        INDArray c = Nd4j.create(DataType.FLOAT, 2, 3).assign(7);
        new OneDnnProducts().multiply(Nd4j.create(DataType.FLOAT, 2, 0), Nd4j.create(DataType.FLOAT, 0, 3), c, false,
                false);
        assertThat(c.sumNumber().doubleValue()).isZero();
    }

    @Test
    void refusesMismatchedShapesAndStridedViews() {
        OneDnnProducts products = new OneDnnProducts();
        assertThatThrownBy(() -> products.multiply(Nd4j.create(DataType.FLOAT, 4, 5), Nd4j.create(DataType.FLOAT, 6, 3),
                Nd4j.create(DataType.FLOAT, 4, 3), false, false)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot multiply");
        INDArray columns = Nd4j.create(DataType.FLOAT, 4, 10).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 5));
        if (OneDnnConvolution.available()) {
            assertThatThrownBy(() -> products.multiply(columns, Nd4j.create(DataType.FLOAT, 5, 3),
                    Nd4j.create(DataType.FLOAT, 4, 3), false, false)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dense in C order");
        }
    }
}
