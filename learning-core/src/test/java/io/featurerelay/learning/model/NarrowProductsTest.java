package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The output layer's Java products against libnd4j's matmul: two implementations agree. */
class NarrowProductsTest {

    /** The reference head (128 x 128 x 5), ten classes, one image, a single class; weights as views at an offset. */
    @ParameterizedTest
    @CsvSource({"128,128,5", "64,128,10", "1,7,3", "5,9,1", "3,16,32"})
    void productsEqualMatmul(int n, int units, int classes) {
        SplittableRandom random = new SplittableRandom(n * 13L + units + classes);
        INDArray in = RandomArrays.uniform(random, n, units);
        INDArray grad = RandomArrays.uniform(random, n, classes);
        INDArray flat = Nd4j.create(DataType.FLOAT, 2 + 2L * units * classes).assign(Float.NaN);
        INDArray w = flat.get(NDArrayIndex.interval(1, 1 + units * classes)).reshape('c', units, classes)
                .assign(RandomArrays.uniform(random, units, classes));
        INDArray gw = flat.get(NDArrayIndex.interval(1 + units * classes, 1 + 2 * units * classes))
                .reshape('c', units, classes);
        INDArray out = Nd4j.create(DataType.FLOAT, n, classes).assign(Float.NaN);
        INDArray inGrad = Nd4j.create(DataType.FLOAT, n, units).assign(Float.NaN);

        NarrowProducts.forward(in, w, out);
        NarrowProducts.backward(in, grad, w, gw, inGrad);

        assertClose(out, Nd4j.matmul(in, w.dup()));
        assertClose(gw, Nd4j.matmul(in.transpose().dup('c'), grad));
        assertClose(inGrad, Nd4j.matmul(grad, w.transpose().dup('c')));
        assertThat(flat.getFloat(0)).as("the element before the weights is left alone").isNaN();
        assertThat(flat.getFloat(1 + 2 * units * classes)).as("the element after the gradient").isNaN();
    }

    @Test
    void refusesShapesThatDoNotFit() {
        assertThatThrownBy(() -> NarrowProducts.forward(Nd4j.create(DataType.FLOAT, 2, 3),
                Nd4j.create(DataType.FLOAT, 4, 5), Nd4j.create(DataType.FLOAT, 2, 5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("do not fit");
        assertThatThrownBy(() -> NarrowProducts.forward(Nd4j.create(DataType.FLOAT, 3, 2).transpose(),
                Nd4j.create(DataType.FLOAT, 3, 5), Nd4j.create(DataType.FLOAT, 2, 5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dense C-order");
    }

    private static void assertClose(INDArray actual, INDArray expected) {
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        assertThat(actual.sub(expected).amaxNumber().doubleValue()).isLessThan(1e-5 * scale);
    }
}
