package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;

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
