package io.featurerelay.learning.training;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.PythonProcess;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Same start, same learning: DL4J (the ops network) and PyTorch (bench/same_start.py) train the reference
 * network without dropout from the same initial weights (DL4J's, exported as an envelope) on the same batches
 * in the same order (Trainer.epochOrder) for one epoch of the committed sample, and must end within 1.5 points
 * of validation accuracy (500 images: one image is 0.2 points) and 3% of the epoch's mean training loss, with
 * Adadelta and with Adam. Why that much: the order in which float32 sums are taken moves the result by images,
 * and it follows the CPU and the BLAS. On one AVX-512 machine with AMX, PyTorch's Adadelta run ends at 0.844
 * with OpenBLAS (0.848 with oneDNN capped at AVX2, 0.848 and 0.850 on the reference BLAS), on an earlier
 * machine at 0.842, against DL4J's 0.838-0.840; its Adam run at 0.868 (0.862 capped at AVX2) against DL4J's
 * 0.868. Training losses: Adadelta 0.7157-0.7232 against 0.7287, Adam 0.6239-0.6246 against 0.6240. A tolerance
 * of 0.5 points failed on that machine with unchanged code. What the
 * frameworks' epoch-1 accuracies differ by beyond that in bench runs then comes from their initialisation,
 * shuffling and dropout, not their arithmetic. One difference of definition it found, at the old tolerance:
 * DL4J's Adam (libnd4j's adamUpdater) adds epsilon to the uncorrected root of v, torch's Adam to the corrected
 * one; with torch.optim.Adam the same start ended 1.0 point apart (0.858 against 0.868), with the script's
 * replica of DL4J's Adam 0.2 points. That replica is what runs here; a difference of that size is now within
 * the tolerance, a wrong update rule (points or tens of points) is not.
 */
class SameStartTest {

    private static final List<Integer> CLASSES = List.of(0, 1, 2, 3, 4);

    @ParameterizedTest
    @EnumSource(Optimizer.class)
    void oneEpochFromTheSameWeightsAndOrderEndsAtTheSameAccuracyInBothFrameworks(Optimizer optimizer)
            throws Exception {
        // under target/, not a temporary folder: the exported weights and order stay for a look with the script
        Path dir = Files.createDirectories(Path.of("target/same-start", optimizer.id())).toAbsolutePath();
        ModelSpec spec = new ModelSpec(List.of(1, 28, 28), List.of(32, 32), 3, 2, 0, 128, 0, CLASSES.size());
        TrainingConfig config = new TrainingConfig(1, 32, new Hyperparameters(optimizer, 1e-3, 42));
        TrainTestSplit data = FashionMnistSample.load().subset(CLASSES);
        Network network = NetworkFactory.standard().create(spec, config.hyperparameters());
        Files.write(dir.resolve("init.frw"), new FeatureWeightsCodec().encode("base-same-start",
                Instant.parse("2026-12-02T00:00:00Z"), new DatasetInfo("fashion-mnist", CLASSES, data.classNames(),
                        spec.inputShape(), DatasetInfo.PIXELS_OVER_255), spec,
                network.parameters(spec.parameterShapes().keySet()), List.of(), 0));
        int[] order = Trainer.epochOrder(data.train().size(), config.hyperparameters().seed(), 1);
        ByteBuffer orderBytes = ByteBuffer.allocate(order.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : order) {
            orderBytes.putInt(i);
        }
        Files.write(dir.resolve("order.i32"), orderBytes.array());

        EpochResult epoch = Trainer.train(network, TrainingData.of(data.train()), TrainingData.of(data.test()),
                config, TrainingListener.NONE, () -> false).last();
        double dl4j = epoch.validationAccuracy();

        PythonProcess.Result result = PythonProcess.run(600, Path.of("../bench/same_start.py").toAbsolutePath()
                        .toString(), "--init-envelope", dir.resolve("init.frw").toString(),
                "--order", dir.resolve("order.i32").toString(), "--data-dir",
                FashionMnistSample.directory().toString(), "--classes", "0,1,2,3,4", "--batch-size", "32",
                "--optimizer", optimizer.id(), "--learning-rate", "0.001", "--out", dir.resolve("torch.json").toString());
        assertThat(result.exitCode()).as(result.output()).isZero();
        JsonNode reference = new ObjectMapper().readTree(dir.resolve("torch.json").toFile());
        double torch = reference.get("validationAccuracy").get(0).asDouble();
        double torchLoss = reference.get("trainingLoss").get(0).asDouble();
        System.out.printf("same start, one epoch, %s: DL4J %.4f (loss %.5f), PyTorch %.4f (loss %.5f)%n",
                optimizer.id(), dl4j, epoch.loss(), torch, torchLoss);
        assertThat(dl4j).as("DL4J learned (PyTorch: %s)", torch).isGreaterThan(0.7);
        assertThat(Math.abs(dl4j - torch)).as("DL4J %s against PyTorch %s", dl4j, torch).isLessThanOrEqualTo(0.015);
        assertThat(Math.abs(epoch.loss() - torchLoss) / torchLoss)
                .as("training loss: DL4J %s against PyTorch %s", epoch.loss(), torchLoss).isLessThanOrEqualTo(0.03);
    }
}
