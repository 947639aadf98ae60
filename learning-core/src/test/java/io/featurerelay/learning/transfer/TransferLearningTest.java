package io.featurerelay.learning.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.HalfStore;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingCancelledException;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Learning happens on real data: the committed Fashion-MNIST sample, one epoch each. The base network is
 * trained once for the whole class.
 */
class TransferLearningTest {

    /** Small batches give one epoch on 2,000 images enough steps to learn. */
    static final TrainingConfig ONE_EPOCH = new TrainingConfig(1, 32, new Hyperparameters(Optimizer.ADAM, 1e-3, 42));
    static final NetworkFactory FACTORY = NetworkFactory.standard();

    static TrainTestSplit source;
    static TrainTestSplit target;
    static ModelSpec baseSpec;
    static Network base;
    static TrainingHistory baseHistory;
    static List<BatchProgress> baseProgress = new ArrayList<>();
    static List<EpochResult> baseEpochs = new ArrayList<>();

    @BeforeAll
    static void trainBase() {
        TrainTestSplit all = FashionMnistSample.load();
        source = all.subset(List.of(0, 1, 2, 3, 4));
        target = all.subset(List.of(5, 6, 7, 8, 9));
        baseSpec = ModelSpec.reference(5);
        base = FACTORY.create(baseSpec, ONE_EPOCH.hyperparameters());
        baseHistory = Trainer.train(base, TrainingData.of(source.train()), TrainingData.of(source.test()), ONE_EPOCH,
                new TrainingListener() {
                    @Override
                    public void onBatch(BatchProgress progress) {
                        baseProgress.add(progress);
                    }

                    @Override
                    public void onEpoch(EpochResult result) {
                        baseEpochs.add(result);
                    }
                }, () -> false);
    }

    private static Map<String, Map<String, float[]>> baseParameters() {
        return base.parameters(baseSpec.parameterShapes().keySet());
    }

    @Test
    void baseNetworkLearnsTheSourceClassesInOneEpoch() {
        assertThat(source.train().size()).isEqualTo(2000);
        assertThat(baseHistory.epochs()).hasSize(1);
        EpochResult epoch = baseHistory.last();
        assertThat(epoch.validationAccuracy()).isGreaterThan(0.80);
        assertThat(epoch.loss()).isPositive().isLessThan(Math.log(5));
        assertThat(epoch.imagesPerSecond()).isPositive();
        assertThat(baseEpochs).containsExactly(epoch);
        assertThat(baseProgress).hasSize(63);
        assertThat(baseProgress.get(62).batch()).isEqualTo(63);
        assertThat(baseProgress.get(62).etaSeconds()).isZero();
        assertThat(baseProgress.get(0).etaSeconds()).isPositive();
    }

    @Test
    void transferredModelLearnsTheTargetClassesWithFrozenFeatures() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        var featuresBefore = model2.parameters(baseSpec.featureLayers());
        var headBefore = model2.parameters(baseSpec.headLayers());

        FeaturizedTraining fast = learner.trainFeaturized(model2, target, ONE_EPOCH, TrainingListener.NONE, () -> false);

        assertThat(fast.head().last().validationAccuracy()).isGreaterThan(0.60);
        assertThat(fast.featurizeSeconds()).isPositive();
        // the trained head was written back: model 2 itself scores what the head scored
        assertThat(Trainer.accuracy(model2, TrainingData.of(target.test())))
                .isCloseTo(fast.head().last().validationAccuracy(), org.assertj.core.data.Offset.offset(0.005));
        var featuresAfter = model2.parameters(baseSpec.featureLayers());
        featuresBefore.forEach((layer, arrays) -> arrays.forEach((key, values) -> {
            assertThat(featuresAfter.get(layer).get(key)).as("frozen " + layer + "." + key).isEqualTo(values);
            assertThat(baseParameters().get(layer).get(key)).as("base " + layer + "." + key).isEqualTo(values);
        }));
        var headAfter = model2.parameters(baseSpec.headLayers());
        assertThat(headAfter.get("dense").get("W")).isNotEqualTo(headBefore.get("dense").get("W"));
        assertThat(headAfter.get("output").get("W")).isNotEqualTo(headBefore.get("output").get("W"));

        var summary = model2.summary();
        assertThat(summary.frozenParams()).isEqualTo(320 + 9_248);
        assertThat(summary.trainableParams()).isEqualTo(589_952 + 645);
    }

    @Test
    void plainPathFreezesFeaturesAndMatchesTheFeaturizedPath() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network plain = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        Network fast = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        var frozenBefore = plain.parameters(baseSpec.featureLayers());

        TrainingHistory plainHistory = learner.trainPlain(plain, target, ONE_EPOCH, TrainingListener.NONE, () -> false);
        FeaturizedTraining fastTraining = learner.trainFeaturized(fast, target, ONE_EPOCH, TrainingListener.NONE,
                () -> false);

        var frozenAfter = plain.parameters(baseSpec.featureLayers());
        frozenBefore.forEach((layer, arrays) -> arrays.forEach((key, values) ->
                assertThat(frozenAfter.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));
        assertThat(plainHistory.last().validationAccuracy()).isGreaterThan(0.60);
        assertThat(fastTraining.head().last().validationAccuracy())
                .isCloseTo(plainHistory.last().validationAccuracy(), org.assertj.core.data.Offset.offset(0.005));
    }

    /** The start-up warm-up runs every pipeline's batches and leaves featurizing as it was. */
    @Test
    void featurizingWarmUpRunsAndChangesNothing() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        INDArray images = ImageBatches.batch(target.train(), new int[] {3, 4, 5}).getFeatures();
        INDArray before = model2.featureActivations(images);

        assertThat(learner.warmUpFeaturizing()).isTrue();

        assertThat(model2.featureActivations(images).equals(before)).isTrue();
    }

    @Test
    void featurizingInParallelWritesWhatOneThreadWrites() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        // 2,000 images: 8 batches of 256, the last one short, over 3 workers
        HalfStore oneStore = learner.featurize(model2, target.train(), ONE_EPOCH.hyperparameters(), 1, () -> false);
        HalfStore threeStore = learner.featurize(model2, target.train(), ONE_EPOCH.hyperparameters(), 3, () -> false);
        INDArray one = oneStore.matrix();
        INDArray three = threeStore.matrix();

        assertThat(three.shape()).isEqualTo(new long[] {2000, baseSpec.featureSize()});
        assertThat(three.dataType()).isEqualTo(DataType.HALF);
        assertThat(three.equals(one)).isTrue();
        // and they are the network's own activations, row by row
        INDArray direct = model2.featureActivations(ImageBatches.batch(target.train(), new int[] {0, 1999})
                .getFeatures());
        assertThat(three.getRow(1999).castTo(DataType.FLOAT).sub(direct.getRow(1)).amaxNumber().doubleValue())
                .isLessThan(1e-2);
        assertThat(three.getRow(0).castTo(DataType.FLOAT).sub(direct.getRow(0)).amaxNumber().doubleValue())
                .isLessThan(1e-2);
        oneStore.close();
        threeStore.close();
        assertThatThrownBy(oneStore::matrix).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void cancellingStopsEveryFeaturizingWorker() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParameters(), 5, HeadMode.FRESH, ONE_EPOCH.hyperparameters());
        AtomicInteger polls = new AtomicInteger();
        assertThatThrownBy(() -> learner.featurize(model2, target.train(), ONE_EPOCH.hyperparameters(), 2,
                () -> polls.incrementAndGet() > 3)).isInstanceOf(TrainingCancelledException.class);
        // each worker stops at its next batch: at most the batches already begun were computed
        assertThat(polls.get()).isLessThanOrEqualTo(6);
    }

    @Test
    void reusedHeadStartsFromTheBaseHead() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParameters(), 5, HeadMode.REUSE, ONE_EPOCH.hyperparameters());
        assertThat(model2.parameters(List.of("output")).get("output").get("W"))
                .isEqualTo(baseParameters().get("output").get("W"));
        assertThatThrownBy(() -> learner.model2(baseSpec, baseParameters(), 3, HeadMode.REUSE,
                ONE_EPOCH.hyperparameters())).hasMessageContaining("reuse needs as many target classes");
    }

    @Test
    void scratchBaselineTrainsEveryLayer() {
        Network scratch = new TransferLearner(FACTORY).scratch(baseSpec, 5, ONE_EPOCH.hyperparameters());
        assertThat(scratch.summary().frozenParams()).isZero();
        var conv1Before = scratch.parameters(List.of("conv1")).get("conv1").get("W");
        TrainingConfig few = new TrainingConfig(1, 32, ONE_EPOCH.hyperparameters());
        AtomicInteger batches = new AtomicInteger();
        assertThatThrownBy(() -> Trainer.train(scratch, TrainingData.of(target.train()),
                TrainingData.of(target.test()), few, new TrainingListener() {
                    @Override
                    public void onBatch(BatchProgress progress) {
                        batches.incrementAndGet();
                    }
                }, () -> batches.get() >= 5)).isInstanceOf(TrainingCancelledException.class)
                .hasMessageContaining("before batch 6");
        assertThat(batches).hasValue(5);
        assertThat(scratch.parameters(List.of("conv1")).get("conv1").get("W")).isNotEqualTo(conv1Before);
    }
}
