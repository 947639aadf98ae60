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

    @Test
    void profileWritesEachSectionsTimeAndTheyAddUpToTheBatch(@TempDir Path target) throws Exception {
        for (String phase : java.util.List.of("training", "featurizing", "head")) {
            Path json = target.resolve(phase + ".json");
            int code = run("profile", "--data-dir", FashionMnistSample.directory().toString(), "--phase", phase,
                    "--batch-size", "32", "--warmup", "1", "--batches", "3", "--out", json.toString());
            assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isEqualTo(FeatureRelayCli.OK);
            var profile = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
            assertThat(profile.get("phase").asText()).isEqualTo(phase);
            assertThat(profile.get("batches").asInt()).isEqualTo(3);
            var sections = profile.get("sectionMillis");
            if (phase.equals("head")) {
                // model 2's head alone: its input is the float16 store, no convolution runs in its steps
                assertThat(sections.fieldNames()).toIterable().anyMatch(name -> name.startsWith("batch: float16"))
                        .anyMatch(name -> name.startsWith("dense backward")).noneMatch(name -> name.startsWith("conv"));
            } else {
                assertThat(sections.fieldNames()).toIterable().anyMatch(name -> name.startsWith("conv2 forward"));
            }
            if (phase.equals("training")) {
                assertThat(sections.fieldNames()).toIterable().anyMatch(name -> name.startsWith("conv1 backward"))
                        .anyMatch(name -> name.startsWith("updater"));
            }
            double sum = 0;
            for (var v : sections) {
                assertThat(v.asDouble()).isNotNegative();
                sum += v.asDouble();
            }
            // the sections follow one another on one thread: they are the batch, bar the loop around them
            assertThat(sum).isPositive().isLessThanOrEqualTo(profile.get("batchMillis").asDouble() * 1.001);
        }
        assertThat(run("profile", "--data-dir", FashionMnistSample.directory().toString(), "--phase", "inference",
                "--out", target.resolve("x.json").toString())).isEqualTo(FeatureRelayCli.USAGE_ERROR);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("--phase must be training, featurizing or head");
    }
}
