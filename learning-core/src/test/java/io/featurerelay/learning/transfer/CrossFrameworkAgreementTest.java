package io.featurerelay.learning.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.PythonProcess;
import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Another framework reads the weights and agrees: a base network trained for one epoch on the committed sample
 * (classes 0-4) goes into a real envelope; model 2 (its frozen features, a fresh head trained one epoch on the
 * featurized path, classes 5-9) is exported by the same codec; PyTorch (clients/python/torch_agreement.py,
 * Debian's python3-torch, which .ci/run installs) builds the reference network from the two, reads the 500 test
 * images of classes 5-9 from the sample's IDX files itself, and must give the most probable class DL4J gives
 * on every image and every probability within 1e-4 of DL4J's (float32 in both, summed in different orders: the
 * largest difference measured was 3.6e-7).
 */
class CrossFrameworkAgreementTest {

    private static final TrainingConfig ONE_EPOCH = new TrainingConfig(1, 32,
            new Hyperparameters(Optimizer.ADAM, 1e-3, 42));
    private static final List<Integer> SOURCE = List.of(0, 1, 2, 3, 4);
    private static final List<Integer> TARGET = List.of(5, 6, 7, 8, 9);

    @Test
    void pytorchPredictsWhatDl4jPredictsFromTheEnvelopes(@TempDir Path dir) throws Exception {
        NetworkFactory factory = NetworkFactory.standard();
        TrainTestSplit all = FashionMnistSample.load();
        TrainTestSplit source = all.subset(SOURCE);
        TrainTestSplit target = all.subset(TARGET);
        ModelSpec spec = ModelSpec.reference(5);
        Network base = factory.create(spec, ONE_EPOCH.hyperparameters());
        Trainer.train(base, TrainingData.of(source.train()), TrainingData.of(source.test()), ONE_EPOCH,
                TrainingListener.NONE, () -> false);
        FeatureWeightsCodec codec = new FeatureWeightsCodec();
        Instant now = Instant.parse("2026-12-02T00:00:00Z");
        byte[] envelope = codec.encode("base-agreement", now, new DatasetInfo("fashion-mnist", SOURCE,
                source.classNames(), spec.inputShape(), DatasetInfo.PIXELS_OVER_255), spec,
                base.parameters(spec.parameterShapes().keySet()), List.of(), 1);
        Files.write(dir.resolve("base.frw"), envelope);

        // model 2 as the transfer service builds it: from the decoded envelope, not from the base network
        TransferLearner learner = new TransferLearner(factory);
        Network model2 = learner.model2(spec, codec.decode(envelope).parameters(), TARGET.size(), HeadMode.FRESH,
                ONE_EPOCH.hyperparameters());
        learner.trainFeaturized(model2, target, ONE_EPOCH, TrainingListener.NONE, () -> false);
        ModelSpec spec2 = model2.spec();
        Files.write(dir.resolve("model2.frw"), codec.encode("model2-agreement", now, new DatasetInfo("fashion-mnist",
                TARGET, target.classNames(), spec2.inputShape(), DatasetInfo.PIXELS_OVER_255), spec2,
                model2.parameters(spec2.parameterShapes().keySet()), List.of(), 1));

        int count = target.test().size();
        assertThat(count).isEqualTo(500);
        float[] probabilities = model2.output(ImageBatches.batch(target.test(), IntStream.range(0, count).toArray())
                .getFeatures()).reshape((long) count * TARGET.size()).toFloatVector();
        ByteBuffer probs = ByteBuffer.allocate(probabilities.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float p : probabilities) {
            probs.putFloat(p);
        }
        Files.write(dir.resolve("probabilities.f32"), probs.array());
        ByteBuffer labels = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            labels.putInt(target.test().labels()[i]);
        }
        Files.write(dir.resolve("labels.i32"), labels.array());

        PythonProcess.Result result = PythonProcess.run(300, "torch_agreement.py",
                "--base", dir.resolve("base.frw").toString(), "--model2", dir.resolve("model2.frw").toString(),
                "--idx-dir", FashionMnistSample.directory().toString(), "--classes", "5,6,7,8,9",
                "--dl4j-probabilities", dir.resolve("probabilities.f32").toString(),
                "--dl4j-labels", dir.resolve("labels.i32").toString(), "--count", String.valueOf(count),
                "--tolerance", "1e-4");
        // the figures (agreeing images, largest difference) in the test's report
        System.out.println(result.output());
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).contains("500/500 images with DL4J's most probable class").contains("agree");
    }
}
