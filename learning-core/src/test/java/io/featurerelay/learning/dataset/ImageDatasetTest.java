package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class ImageDatasetTest {

    private final ImageDataset ten = new ImageDataset("t", new ImageShape(1, 1, 2),
            new byte[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, (byte) 255},
            new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, List.of("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"));

    @Test
    void subsetRemapsLabelsAndNames() {
        ImageDataset target = ten.subset(List.of(5, 6, 7, 8, 9));
        assertThat(target.labels()).containsExactly(0, 1, 2, 3, 4);
        assertThat(target.classNames()).containsExactly("c5", "c6", "c7", "c8", "c9");
        assertThat(target.pixels()).containsExactly(10, 11, 12, 13, 14, 15, 16, 17, 18, (byte) 255);
    }

    @Test
    void subsetRejectsBadClassLists() {
        assertThatThrownBy(() -> ten.subset(List.of())).hasMessageContaining("must not be empty");
        assertThatThrownBy(() -> ten.subset(List.of(1, 1))).hasMessageContaining("class 1 is listed twice");
        assertThatThrownBy(() -> ten.subset(List.of(10))).hasMessageContaining("class 10 is out of range 0..9");
    }

    @Test
    void imagesGoIntoAReusedBatchAsIntoAFreshOne() {
        INDArray reused = Nd4j.create(DataType.FLOAT, 4, 1, 1, 2).assign(-1);
        INDArray firstThree = reused.get(NDArrayIndex.interval(0, 3), NDArrayIndex.all(), NDArrayIndex.all(),
                NDArrayIndex.all());
        ImageBatches.imagesInto(ten, 7, firstThree);
        DataSet fresh = ImageBatches.batch(ten, new int[] {7, 8, 9});
        assertThat(firstThree.dup().data().asFloat()).containsExactly(fresh.getFeatures().data().asFloat());
        // the fourth image's place is left alone
        assertThat(reused.get(NDArrayIndex.point(3)).dup().data().asFloat()).containsExactly(-1f, -1f);
        ImageBatches.imagesInto(ten, 0, reused);
        assertThat(reused.data().asFloat()).containsExactly(ImageBatches.batch(ten, new int[] {0, 1, 2, 3})
                .getFeatures().data().asFloat());
        assertThatThrownBy(() -> ImageBatches.imagesInto(ten, 7, reused)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("images 7..10 of 10");
        assertThatThrownBy(() -> ImageBatches.imagesInto(ten, 0, Nd4j.create(DataType.FLOAT, 2, 1, 2, 1)))
                .hasMessageContaining("[n, 1, 1, 2]");
    }

    @Test
    void batchesAreNchwInZeroToOneWithOneHotLabels() {
        DataSet batch = ImageBatches.batch(ten, new int[] {9, 0});
        assertThat(batch.getFeatures().shape()).containsExactly(2, 1, 1, 2);
        assertThat(batch.getFeatures().getFloat(0, 0, 0, 1)).isEqualTo(1f);
        assertThat(batch.getFeatures().getFloat(0, 0, 0, 0)).isEqualTo(18 / 255f);
        assertThat(batch.getLabels().getFloat(0, 9)).isEqualTo(1f);
        assertThat(batch.getLabels().getFloat(1, 0)).isEqualTo(1f);
        assertThat(batch.getLabels().sumNumber().intValue()).isEqualTo(2);
    }
}
