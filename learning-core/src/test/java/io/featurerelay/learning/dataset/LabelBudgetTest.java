package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.learning.FashionMnistSample;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Label budgets on the committed sample: the same images for the same seed, other images for another seed. */
class LabelBudgetTest {

    private final ImageDataset target = FashionMnistSample.load().subset(List.of(5, 6, 7, 8, 9)).train();

    @Test
    void theSameSeedDrawsTheSameImages() {
        ImageDataset a = target.samplePerClass(10, 42);
        ImageDataset b = target.samplePerClass(10, 42);
        assertThat(a.size()).isEqualTo(50);
        assertThat(a.countsPerClass()).containsExactly(10, 10, 10, 10, 10);
        assertThat(a.pixels()).isEqualTo(b.pixels());
        assertThat(a.labels()).isEqualTo(b.labels());
        assertThat(a.classNames()).isEqualTo(target.classNames());
    }

    @Test
    void anotherSeedDrawsOtherImagesAndNotTheFirstOnes() {
        Set<String> seed42 = images(target.samplePerClass(10, 42));
        Set<String> seed43 = images(target.samplePerClass(10, 43));
        Set<String> first = images(target.firstPerClass(10));
        assertThat(seed42).hasSize(50).isNotEqualTo(seed43).isNotEqualTo(first);
        assertThat(images(target)).containsAll(seed42);
    }

    @Test
    void aSmallerBudgetsImagesAreAmongALargerOnes() {
        assertThat(images(target.samplePerClass(100, 7))).containsAll(images(target.samplePerClass(10, 7)));
    }

    @Test
    void budgetsOutOfRangeAreRefused() {
        assertThat(target.smallestClass()).isEqualTo(400);
        assertThat(target.samplePerClass(400, 1).size()).isEqualTo(target.size());
        assertThatThrownBy(() -> target.samplePerClass(401, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 400 training images, fewer than the 401 per class");
        assertThatThrownBy(() -> target.samplePerClass(0, 1)).hasMessageContaining("at least 1");
    }

    @Test
    void theSplitKeepsEveryTestImage() {
        TrainTestSplit split = FashionMnistSample.load().subset(List.of(5, 6)).withTrainPerClass(5, 42);
        assertThat(split.train().size()).isEqualTo(10);
        assertThat(split.test().size()).isEqualTo(200);
        TrainTestSplit all = FashionMnistSample.load().subset(List.of(5, 6));
        assertThat(all.withTrainPerClass(0, 42)).isSameAs(all);
    }

    /** Each image as its pixels and label, so that sets compare content. */
    private static Set<String> images(ImageDataset d) {
        Set<String> out = new HashSet<>();
        int n = d.shape().size();
        for (int i = 0; i < d.size(); i++) {
            out.add(d.labels()[i] + ":" + Arrays.toString(Arrays.copyOfRange(d.pixels(), i * n, (i + 1) * n)));
        }
        return out;
    }
}
