package io.featurerelay.learning.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.TrainTestSplit;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FeatureRelayCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return FeatureRelayCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void missingDatasetNamesTheFileAndHowToGetIt(@TempDir Path empty) {
        int code = run("experiment", "--data-dir", empty.toString(), "--epochs", "1");
        assertThat(code).isEqualTo(FeatureRelayCli.DATA_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("train-images-idx3-ubyte.gz: file is missing")
                .contains("sudo apt-get install -y dataset-fashion-mnist");
    }

    @Test
    void badOptionsAreUsageErrors() {
        assertThat(run("experiment", "--epochs", "zero")).isEqualTo(FeatureRelayCli.USAGE_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--epochs must be an integer, got zero")
                .contains("usage:");
        assertThat(run("experiment", "--dataset", "imagenet")).isEqualTo(FeatureRelayCli.USAGE_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--dataset must be one of [fashion-mnist, mnist, "
                + "cifar-10, image-folder], got imagenet");
        assertThat(run("experiment", "--epochs", "0")).isEqualTo(FeatureRelayCli.USAGE_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("epochs must be positive");
        assertThat(run("launch")).isEqualTo(FeatureRelayCli.USAGE_ERROR);
    }

    @Test
    void sampleWritesABalancedReadableSubset(@TempDir Path target) {
        int code = run("sample", "--data-dir", FashionMnistSample.directory().toString(), "--out", target.toString(),
                "--train-per-class", "3", "--test-per-class", "2");
        assertThat(code).isEqualTo(FeatureRelayCli.OK);

        TrainTestSplit sample = DatasetKind.FASHION_MNIST.load(target);
        assertThat(sample.train().size()).isEqualTo(30);
        assertThat(sample.test().size()).isEqualTo(20);
        for (int c = 0; c < 10; c++) {
            int cls = c;
            assertThat(java.util.Arrays.stream(sample.train().labels()).filter(l -> l == cls).count()).isEqualTo(3);
        }
    }
}
