package io.featurerelay.learning.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Fine-tuning on the committed sample (small label budgets, one epoch each): the features were bit-identical to the
 * base's until fine-tuning began, and fine-tuning changes them; it resumes bit for bit; Adadelta's step is scaled.
 */
class FineTuningTest {

    static final NetworkFactory FACTORY = NetworkFactory.standard();
    static final Hyperparameters ADAM = new Hyperparameters(Optimizer.ADAM, 1e-3, 42);

    static TrainTestSplit target;
    static ModelSpec baseSpec;
    static Map<String, Map<String, float[]>> baseParams;

    @BeforeAll
    static void trainBase() {
        TrainTestSplit all = FashionMnistSample.load();
        TrainTestSplit source = all.subset(List.of(0, 1, 2, 3, 4)).withTrainPerClass(40, 42);
        target = all.subset(List.of(5, 6, 7, 8, 9)).withTrainPerClass(40, 42);
        target = new TrainTestSplit(target.train(), target.test().firstPerClass(20));
        baseSpec = ModelSpec.reference(5);
        Network base = FACTORY.create(baseSpec, ADAM);
        Trainer.train(base, TrainingData.of(source.train()), TrainingData.of(source.test().firstPerClass(20)),
                new TrainingConfig(1, 32, ADAM), TrainingListener.NONE, () -> false);
        baseParams = base.parameters(baseSpec.parameterShapes().keySet());
    }

    @Test
    void fineTuningChangesTheFeaturesThatWereBitIdenticalBeforeIt() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADAM);
        Map<String, Map<String, float[]>> headBefore = model2.parameters(baseSpec.headLayers());
        learner.trainFeaturized(model2, target, new TrainingConfig(1, 32, ADAM), TrainingListener.NONE, () -> false);
        // the frozen phase: features bit for bit the base's, the head trained
        assertFeatures(model2);
        assertThat(model2.parameters(baseSpec.headLayers()).get(ModelSpec.DENSE).get("W"))
                .isNotEqualTo(headBefore.get(ModelSpec.DENSE).get("W"));
        Map<String, Map<String, float[]>> model2Head = model2.parameters(baseSpec.headLayers());

        Hyperparameters tuneHp = new Hyperparameters(Optimizer.ADAM,
                TransferLearner.defaultFineTuneLearningRate(ADAM), 42);
        FineTuning tuned = learner.fineTune(model2, target, new TrainingConfig(1, 32, tuneHp), TrainingListener.NONE,
                () -> false, null);

        assertThat(tuned.history().epochs()).hasSize(1);
        assertThat(tuned.network().summary().frozenParams()).isZero();
        for (String layer : baseSpec.featureLayers()) {
            assertThat(tuned.network().parameters(List.of(layer)).get(layer).get("W")).as(layer)
                    .isNotEqualTo(baseParams.get(layer).get("W"));
        }
        assertThat(tuned.network().parameters(baseSpec.headLayers()).get(ModelSpec.OUTPUT).get("W"))
                .isNotEqualTo(model2Head.get(ModelSpec.OUTPUT).get("W"));
        // model 2 itself is left as it was: it is stored and served beside the fine-tuned one
        assertFeatures(model2);
        assertThat(model2.parameters(baseSpec.headLayers()).get(ModelSpec.OUTPUT).get("W"))
                .isEqualTo(model2Head.get(ModelSpec.OUTPUT).get("W"));
    }

    @Test
    void fineTuningResumesBitForBit() {
        TransferLearner learner = new TransferLearner(FACTORY);
        Network model2 = learner.model2(baseSpec, baseParams, 5, HeadMode.FRESH, ADAM);
        TrainTestSplit tiny = target.withTrainPerClass(12, 1);
        Hyperparameters hp = new Hyperparameters(Optimizer.ADADELTA, 0.1, 42);
        List<Checkpoint> checkpoints = new ArrayList<>();
        FineTuning straight = learner.fineTune(model2, tiny, new TrainingConfig(2, 16, hp),
                new TrainingListener() {
                    @Override
                    public void onCheckpoint(Checkpoint c) {
                        checkpoints.add(c);
                    }
                }, () -> false, null);
        FineTuning resumed = learner.fineTune(model2, tiny, new TrainingConfig(2, 16, hp), TrainingListener.NONE,
                () -> false, checkpoints.get(0));
        assertThat(resumed.history().epochs().get(0)).isEqualTo(straight.history().epochs().get(0));
        assertThat(resumed.history().epochs().get(1).loss()).isEqualTo(straight.history().epochs().get(1).loss());
        var mine = resumed.network().state().arrays();
        var theirs = straight.network().state().arrays();
        assertThat(mine).hasSameSizeAs(theirs);
        for (int i = 0; i < mine.size(); i++) {
            assertThat(mine.get(i).toFloatArray()).as(mine.get(i).name()).isEqualTo(theirs.get(i).toFloatArray());
        }
    }

    /**
     * With Adadelta the fine-tuning step is scaled: from the same parameters, the first step at 0.1 moves every
     * parameter a tenth as far as plain Adadelta's (whose running averages start from zero either way).
     */
    @Test
    void adadeltaFineTuningScalesItsStep() {
        List<String> layers = new ArrayList<>(baseSpec.parameterShapes().keySet());
        Map<String, Map<String, float[]>> start = FACTORY.create(baseSpec, ADAM).parameters(layers);
        Network plain = FACTORY.forFineTuning(baseSpec, new Hyperparameters(Optimizer.ADADELTA, 1.0, 42), start);
        Network scaled = FACTORY.forFineTuning(baseSpec, new Hyperparameters(Optimizer.ADADELTA, 0.1, 42), start);
        int[] indices = new int[32];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = i * 6;
        }
        DataSet batch = ImageBatches.batch(target.train(), indices);
        plain.reseed(1);
        scaled.reseed(1);
        plain.fitBatch(batch);
        scaled.fitBatch(batch);
        // the output layer's biases start at zero and their gradient is a plain column sum, so their step is
        // exactly what was subtracted: a tenth, to float rounding
        assertThat(stepRatio(start, plain, scaled, layers, ModelSpec.OUTPUT, "b")).isCloseTo(0.1,
                org.assertj.core.api.Assertions.within(1e-4));
        // the features too, more loosely: a step far below a weight's float resolution rounds away, and the
        // convolution's backward pass sums its gradients in an order that varies from call to call
        assertThat(stepRatio(start, plain, scaled, layers, ModelSpec.convName(0), "W")).isBetween(0.08, 0.12);
        assertThat(TransferLearner.defaultFineTuneLearningRate(new Hyperparameters(Optimizer.ADADELTA, 1e-3, 1)))
                .isEqualTo(0.1);
        assertThat(TransferLearner.defaultFineTuneLearningRate(ADAM)).isEqualTo(1e-4);
    }

    /** Summed absolute change of {@code layer.key} in {@code scaled} over that in {@code plain}, from {@code start}. */
    private static double stepRatio(Map<String, Map<String, float[]>> start, Network plain, Network scaled,
            List<String> layers, String layer, String key) {
        float[] before = start.get(layer).get(key);
        float[] p = plain.parameters(layers).get(layer).get(key);
        float[] s = scaled.parameters(layers).get(layer).get(key);
        double plainStep = 0;
        double scaledStep = 0;
        for (int i = 0; i < before.length; i++) {
            plainStep += Math.abs(p[i] - before[i]);
            scaledStep += Math.abs(s[i] - before[i]);
        }
        assertThat(plainStep).as(layer + "." + key).isPositive();
        return scaledStep / plainStep;
    }

    private static void assertFeatures(Network model2) {
        for (String layer : baseSpec.featureLayers()) {
            Map<String, float[]> mine = model2.parameters(List.of(layer)).get(layer);
            assertThat(mine.get("W")).as(layer).isEqualTo(baseParams.get(layer).get("W"));
            assertThat(mine.get("b")).as(layer).isEqualTo(baseParams.get(layer).get("b"));
        }
    }
}
