package io.featurerelay.learning.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.NetworkState;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.IncompatibleCheckpointException;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An interrupted run resumed from its checkpoint ends bit for bit where the uninterrupted run ends: for the base
 * training, model 2 on both paths, and the scratch baseline. Each case trains two short epochs uninterrupted,
 * keeps the bytes of the checkpoint after epoch 1, and trains epoch 2 again in a fresh network built from the same
 * spec and hyperparameters, restored from those bytes. Small subsets of the sample keep it quick.
 */
class CheckpointResumeTest {

    static final NetworkFactory FACTORY = NetworkFactory.standard();
    static final Hyperparameters ADAM = new Hyperparameters(Optimizer.ADAM, 1e-3, 42);
    static final Hyperparameters ADADELTA = new Hyperparameters(Optimizer.ADADELTA, 1e-3, 43);
    static final long LIMIT = 64L << 20;

    static TrainTestSplit source;
    static TrainTestSplit target;
    static ModelSpec baseSpec;
    static Map<String, Map<String, float[]>> baseParams;

    @BeforeAll
    static void load() {
        TrainTestSplit all = FashionMnistSample.load();
        TrainTestSplit s = all.subset(List.of(0, 1, 2, 3, 4));
        TrainTestSplit t = all.subset(List.of(5, 6, 7, 8, 9));
        source = new TrainTestSplit(s.train().firstPerClass(60), s.test().firstPerClass(20));
        target = new TrainTestSplit(t.train().firstPerClass(60), t.test().firstPerClass(20));
        baseSpec = ModelSpec.reference(5);
        // features of an untrained base do as well as trained ones for equality, and cost nothing
        baseParams = FACTORY.create(baseSpec, ADAM).parameters(baseSpec.parameterShapes().keySet());
    }

    /** Records epochs, batches and the bytes of every checkpoint. */
    static final class Recorder implements TrainingListener {
        final List<EpochResult> epochs = new ArrayList<>();
        final List<BatchProgress> batches = new ArrayList<>();
        final List<byte[]> checkpoints = new ArrayList<>();
        final List<Integer> order = new ArrayList<>();

        @Override
        public void onBatch(BatchProgress progress) {
            batches.add(progress);
        }

        @Override
        public void onEpoch(EpochResult result) {
            epochs.add(result);
            order.add(result.epoch());
        }

        @Override
        public void onCheckpoint(Checkpoint checkpoint) {
            // after onEpoch of the same epoch
            order.add(-checkpoint.epochsDone());
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try {
                checkpoint.writeTo(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            checkpoints.add(out.toByteArray());
        }

        Checkpoint checkpoint(int epochsDone) {
            try {
                return Checkpoint.readFrom(new ByteArrayInputStream(checkpoints.get(epochsDone - 1)), LIMIT);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static TrainingConfig twoEpochs(Hyperparameters hp) {
        return new TrainingConfig(2, 32, hp);
    }

    private static Map<String, Map<String, float[]>> all(Network n) {
        return n.parameters(n.spec().parameterShapes().keySet());
    }

    private static void assertBitIdentical(Map<String, Map<String, float[]>> actual,
            Map<String, Map<String, float[]>> expected) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        expected.forEach((layer, arrays) -> arrays.forEach((key, values) ->
                assertThat(actual.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));
    }

    /** Epoch 2 of the resumed run equals the uninterrupted one's, all but the wall time; epoch 1 is restored. */
    private static void assertContinuous(TrainingHistory resumed, TrainingHistory uninterrupted, Checkpoint after1) {
        assertThat(resumed.epochs()).hasSize(2);
        assertThat(resumed.epochs().get(0)).isEqualTo(uninterrupted.epochs().get(0)).isEqualTo(after1.history().get(0));
        EpochResult mine = resumed.epochs().get(1);
        EpochResult theirs = uninterrupted.epochs().get(1);
        assertThat(mine.epoch()).isEqualTo(2);
        assertThat(mine.loss()).isEqualTo(theirs.loss());
        assertThat(mine.validationAccuracy()).isEqualTo(theirs.validationAccuracy());
        assertThat(resumed.trainingSeconds()).isEqualTo(after1.history().get(0).seconds() + mine.seconds());
    }

    @Test
    void baseTrainingResumesBitForBit() {
        TrainingData train = TrainingData.of(source.train());
        TrainingData test = TrainingData.of(source.test());
        Recorder straight = new Recorder();
        Network a = FACTORY.create(baseSpec, ADAM);
        TrainingHistory uninterrupted = Trainer.train(a, train, test, twoEpochs(ADAM), straight, () -> false);
        assertThat(straight.order).containsExactly(1, -1, 2, -2);
        assertThat(straight.checkpoints).hasSize(2);

        Checkpoint after1 = straight.checkpoint(1);
        Network b = FACTORY.create(baseSpec, ADAM);
        Recorder resumedListener = new Recorder();
        TrainingHistory resumed = Trainer.train(b, train, test, twoEpochs(ADAM), resumedListener, () -> false, after1);

        assertBitIdentical(all(b), all(a));
        assertContinuous(resumed, uninterrupted, after1);
        // progress continues: epoch 2's batches only, numbered as such
        assertThat(resumedListener.batches).hasSize(10).allMatch(p -> p.epoch() == 2 && p.epochs() == 2);
        assertThat(resumedListener.batches.get(9).fractionDone()).isEqualTo(1.0);
        assertThat(resumedListener.epochs).extracting(EpochResult::epoch).containsExactly(2);
        // and the final checkpoints agree, updater state and step count included
        assertThat(resumedListener.checkpoint(1).state()).isEqualTo(straight.checkpoint(2).state());
        assertThat(resumedListener.checkpoint(1).epochsDone()).isEqualTo(2);
        assertThat(resumedListener.checkpoint(1).state().iterations()).isEqualTo(20);
    }

    @Test
    void scratchBaselineResumesBitForBit() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Recorder straight = new Recorder();
        Network a = learner.scratch(baseSpec, 5, ADADELTA);
        TrainingHistory uninterrupted = learner.trainScratch(a, target, twoEpochs(ADADELTA), straight, () -> false,
                null);

        Checkpoint after1 = straight.checkpoint(1);
        assertThat(after1.state().array("updater/adadelta/msg")).isNotNull();
        Network b = learner.scratch(baseSpec, 5, ADADELTA);
        TrainingHistory resumed = learner.trainScratch(b, target, twoEpochs(ADADELTA), TrainingListener.NONE,
                () -> false, after1);

        assertBitIdentical(all(b), all(a));
        assertContinuous(resumed, uninterrupted, after1);

        // cancelled in the middle of epoch 2, then resumed in the same network: epoch 2's partial steps are undone
        Network c = learner.scratch(baseSpec, 5, ADADELTA);
        Recorder interrupted = new Recorder();
        assertThatThrownBy(() -> learner.trainScratch(c, target, twoEpochs(ADADELTA), interrupted,
                () -> interrupted.batches.size() >= 14, null))
                .isInstanceOf(io.featurerelay.learning.training.TrainingCancelledException.class)
                .hasMessageContaining("epoch 2 before batch 5");
        assertThat(interrupted.checkpoints).hasSize(1);
        TrainingHistory again = learner.trainScratch(c, target, twoEpochs(ADADELTA), TrainingListener.NONE,
                () -> false, interrupted.checkpoint(1));
        assertBitIdentical(all(c), all(a));
        assertThat(again.last().loss()).isEqualTo(uninterrupted.last().loss());
    }

    @Test
    void featurizedTransferResumesBitForBitWithTheFeaturesUntouched() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Recorder straight = new Recorder();
        Network a = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADADELTA);
        FeaturizedTraining uninterrupted = learner.trainFeaturized(a, target, twoEpochs(ADADELTA), straight,
                () -> false, null);

        Checkpoint after1 = straight.checkpoint(1);
        assertThat(after1.state().structure()).isEqualTo(NetworkState.HEAD_ONLY);
        Network b = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADADELTA);
        FeaturizedTraining resumed = learner.trainFeaturized(b, target, twoEpochs(ADADELTA), TrainingListener.NONE,
                () -> false, after1);

        assertBitIdentical(all(b), all(a));
        assertContinuous(resumed.head(), uninterrupted.head(), after1);
        assertBitIdentical(b.parameters(baseSpec.featureLayers()), baseParams.entrySet().stream()
                .filter(e -> baseSpec.featureLayers().contains(e.getKey()))
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        // model 2 itself scores what its head scored in the last epoch
        assertThat(Trainer.accuracy(b, TrainingData.of(target.test())))
                .isEqualTo(resumed.head().last().validationAccuracy());
        // a checkpoint of the plain path does not fit the featurized one
        Recorder plain = new Recorder();
        learner.trainPlain(learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADADELTA), target,
                new TrainingConfig(1, 32, ADADELTA), plain, () -> false, null);
        assertThatThrownBy(() -> learner.trainFeaturized(learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH,
                ADADELTA), target, twoEpochs(ADADELTA), TrainingListener.NONE, () -> false, plain.checkpoint(1)))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("head-only");
    }

    @Test
    void plainTransferResumesBitForBitAndChecksTheFrozenFeatures() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Recorder straight = new Recorder();
        Network a = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADAM);
        var frozenBefore = a.parameters(baseSpec.featureLayers());
        TrainingHistory uninterrupted = learner.trainPlain(a, target, twoEpochs(ADAM), straight, () -> false, null);

        Checkpoint after1 = straight.checkpoint(1);
        assertThat(after1.state().structure()).isEqualTo(NetworkState.FULL_FROZEN_FEATURES);
        assertThat(after1.state().array("updater/adam/m").elements())
                .isEqualTo(baseSpec.featureSize() * 128 + 128 + 128 * 5 + 5);
        Network b = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADAM);
        TrainingHistory resumed = learner.trainPlain(b, target, twoEpochs(ADAM), TrainingListener.NONE, () -> false,
                after1);

        assertBitIdentical(all(b), all(a));
        assertBitIdentical(b.parameters(baseSpec.featureLayers()), frozenBefore);
        assertContinuous(resumed, uninterrupted, after1);

        // model 2 on other features refuses the checkpoint, and is left as it was
        Map<String, Map<String, float[]>> otherBase = FACTORY.create(baseSpec,
                new Hyperparameters(Optimizer.ADAM, 1e-3, 99)).parameters(baseSpec.parameterShapes().keySet());
        Network c = learner.model2(baseSpec, otherBase, 5, HeadMode.FRESH, ADAM);
        var cBefore = all(c);
        assertThatThrownBy(() -> learner.trainPlain(c, target, twoEpochs(ADAM), TrainingListener.NONE, () -> false,
                after1)).isInstanceOf(IncompatibleCheckpointException.class)
                .hasMessageContaining("frozen parameter conv1.W differs");
        assertBitIdentical(all(c), cBefore);
    }

    @Test
    void resumingInAnotherProcessEndsWhereTheUninterruptedRunEnds(@TempDir Path dir) throws Exception {
        Recorder base = new Recorder();
        Trainer.train(FACTORY.create(baseSpec, ADAM), TrainingData.of(source.train()), TrainingData.of(source.test()),
                twoEpochs(ADAM), base, () -> false);
        TransferLearner learner = new TransferLearner(FACTORY);
        Recorder featurized = new Recorder();
        learner.trainFeaturized(learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADADELTA), target,
                twoEpochs(ADADELTA), featurized, () -> false, null);
        Files.write(dir.resolve("base-1.frc"), base.checkpoints.get(0));
        Files.write(dir.resolve("featurized-1.frc"), featurized.checkpoints.get(0));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-Xmx1g", "-cp", System.getProperty("java.class.path")));
        for (String property : List.of("org.bytedeco.javacpp.maxbytes", "org.bytedeco.javacpp.maxphysicalbytes")) {
            if (System.getProperty(property) != null) {
                command.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        command.addAll(List.of(ResumeInAnotherProcess.class.getName(),
                "base", dir.resolve("base-1.frc").toString(), dir.resolve("base-2.frc").toString(),
                "featurized", dir.resolve("featurized-1.frc").toString(), dir.resolve("featurized-2.frc").toString()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile()).start();
        if (!child.waitFor(5, TimeUnit.MINUTES)) {
            child.destroyForcibly();
            throw new AssertionError("the resuming process did not finish:\n" + Files.readString(dir.resolve("child.log")));
        }
        assertThat(child.exitValue()).as(Files.readString(dir.resolve("child.log"))).isZero();

        for (String name : List.of("base", "featurized")) {
            Checkpoint expected = (name.equals("base") ? base : featurized).checkpoint(2);
            Checkpoint actual;
            try (var in = Files.newInputStream(dir.resolve(name + "-2.frc"))) {
                actual = Checkpoint.readFrom(in, LIMIT);
            }
            assertThat(actual.epochsDone()).isEqualTo(2);
            assertThat(actual.state()).as(name + " state").isEqualTo(expected.state());
            assertThat(actual.history().get(0)).isEqualTo(expected.history().get(0));
            assertThat(actual.history().get(1).loss()).isEqualTo(expected.history().get(1).loss());
            assertThat(actual.history().get(1).validationAccuracy())
                    .isEqualTo(expected.history().get(1).validationAccuracy());
        }
    }

    @Test
    void layerApiNetworksResumeToo() {
        // DL4J's layer API (the benchmark's comparison): its state is its parameters and its updater's state view
        NetworkFactory layers = NetworkFactory.layerApi();
        ModelSpec small = new ModelSpec(List.of(1, 28, 28), List.of(4), 3, 2, 0.25, 16, 0.5, 5);
        TrainingData train = TrainingData.of(source.train());
        TrainingData test = TrainingData.of(source.test());
        Recorder straight = new Recorder();
        Network a = layers.create(small, ADAM);
        TrainingHistory uninterrupted = Trainer.train(a, train, test, twoEpochs(ADAM), straight, () -> false);

        Checkpoint after1 = straight.checkpoint(1);
        assertThat(after1.state().implementation()).isEqualTo("layer-api");
        Network b = layers.create(small, ADAM);
        TrainingHistory resumed = Trainer.train(b, train, test, twoEpochs(ADAM), TrainingListener.NONE, () -> false,
                after1);
        assertBitIdentical(all(b), all(a));
        assertContinuous(resumed, uninterrupted, after1);
        // an ops-network checkpoint does not fit a layer-API network
        Recorder ops = new Recorder();
        Trainer.train(FACTORY.create(small, ADAM), train, test, new TrainingConfig(1, 32, ADAM), ops, () -> false);
        assertThatThrownBy(() -> Trainer.train(layers.create(small, ADAM), train, test, twoEpochs(ADAM),
                TrainingListener.NONE, () -> false, ops.checkpoint(1)))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("layer-api");
    }
}
