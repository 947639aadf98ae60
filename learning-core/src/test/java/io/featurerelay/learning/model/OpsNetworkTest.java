package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The ops network against DL4J's layer-API network: the same parameters and batch must give the same loss,
 * the same updated parameters and the same outputs. Dropout is off in the comparisons (the two draw their
 * masks differently); its own behaviour is checked through training in TransferLearningTest.
 */
class OpsNetworkTest {

    private static final ModelSpec NO_DROPOUT = new ModelSpec(List.of(1, 28, 28), List.of(8, 8), 3, 2, 0, 16, 0, 5);

    private static DataSet batch(int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.rand(DataType.FLOAT, n, 1, 28, 28);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, 5);
        for (int i = 0; i < n; i++) {
            y.putScalar(i, (i * 7 + seed) % 5, 1f);
        }
        return new DataSet(x, y);
    }

    private static float[] flat(INDArray a) {
        return Nd4j.toFlattened('c', a).toFloatVector();
    }

    @Test
    void oneStepEqualsTheLayerApiStep() {
        for (Optimizer optimizer : Optimizer.values()) {
            Hyperparameters hp = new Hyperparameters(optimizer, 1e-3, 7);
            Network layers = NetworkFactory.layerApi().create(NO_DROPOUT, hp);
            Network ops = NetworkFactory.standard().create(NO_DROPOUT, hp);
            List<String> all = List.copyOf(NO_DROPOUT.parameterShapes().keySet());
            ops.setParameters(layers.parameters(all));
            Map<String, Map<String, float[]>> before = ops.parameters(all);
            DataSet data = batch(12, 1);

            for (int step = 0; step < 3; step++) {
                double expectedLoss = layers.fitBatch(data);
                double loss = ops.fitBatch(data);
                assertThat(loss).as(optimizer + " loss, step " + step).isCloseTo(expectedLoss, within(1e-4));
            }
            Map<String, Map<String, float[]>> expected = layers.parameters(all);
            Map<String, Map<String, float[]>> actual = ops.parameters(all);
            for (String layer : all) {
                for (String key : List.of("W", "b")) {
                    float[] e = expected.get(layer).get(key);
                    float[] a = actual.get(layer).get(key);
                    float[] b = before.get(layer).get(key);
                    double moved = 0;
                    double diff = 0;
                    for (int i = 0; i < e.length; i++) {
                        moved = Math.max(moved, Math.abs(e[i] - b[i]));
                        diff = Math.max(diff, Math.abs(e[i] - a[i]));
                    }
                    // every array moves, and both networks move it the same way
                    assertThat(moved).as(optimizer + " " + layer + "." + key + " moved").isGreaterThan(1e-6);
                    assertThat(diff).as(optimizer + " " + layer + "." + key + " differs").isLessThan(moved * 0.01 + 1e-7);
                }
            }
            DataSet other = batch(7, 2);
            assertThat(flat(ops.output(other.getFeatures())))
                    .containsExactly(flat(layers.output(other.getFeatures())), within(1e-5f));
        }
    }

    @Test
    void frozenFeaturesStayFrozenAndTheHeadLearns() {
        Hyperparameters hp = Hyperparameters.defaults();
        ModelSpec spec = ModelSpec.reference(5);
        Network base = NetworkFactory.standard().create(spec, hp);
        Network model2 = NetworkFactory.standard().withFrozenFeatures(spec, hp, base.parameters(spec.featureLayers()));
        Map<String, Map<String, float[]>> before = model2.parameters(spec.parameterShapes().keySet());
        DataSet data = batch(32, 3);
        double first = model2.fitBatch(data);
        double last = first;
        for (int i = 0; i < 20; i++) {
            last = model2.fitBatch(data);
        }
        assertThat(last).isLessThan(first);
        Map<String, Map<String, float[]>> after = model2.parameters(spec.parameterShapes().keySet());
        for (String layer : spec.featureLayers()) {
            assertThat(after.get(layer).get("W")).containsExactly(before.get(layer).get("W"));
            assertThat(after.get(layer).get("b")).containsExactly(before.get(layer).get("b"));
        }
        assertThat(after.get("dense").get("W")).isNotEqualTo(before.get("dense").get("W"));
        assertThat(model2.summary().frozenParams()).isEqualTo(320 + 9248);
    }

    @Test
    void theHeadOnFeatureActivationsEqualsTheWholeNetwork() {
        ModelSpec spec = ModelSpec.reference(5);
        Hyperparameters hp = Hyperparameters.defaults();
        Network full = NetworkFactory.standard().create(spec, hp);
        Network head = NetworkFactory.standard().headOnly(spec, hp);
        head.setParameters(full.parameters(spec.headLayers()));
        INDArray images = batch(9, 4).getFeatures();
        INDArray features = full.featureActivations(images);
        assertThat(features.shape()).containsExactly(9, spec.featureSize());
        assertThat(flat(head.output(features)))
                .containsExactly(flat(full.output(images)), within(1e-6f));
        // the layer API flattens the same way
        Network layers = NetworkFactory.layerApi().create(spec, hp);
        layers.setParameters(full.parameters(spec.parameterShapes().keySet()));
        assertThat(flat(layers.featureActivations(images)))
                .containsExactly(flat(features), within(1e-5f));
    }

    @Test
    void savedModelsAreDl4jZipsAndRestoreWithTheirFrozenLayers() throws Exception {
        ModelSpec spec = ModelSpec.reference(5);
        Hyperparameters hp = Hyperparameters.defaults();
        Network base = NetworkFactory.standard().create(spec, hp);
        Network model2 = NetworkFactory.standard().withFrozenFeatures(spec, hp, base.parameters(spec.featureLayers()));
        model2.fitBatch(batch(16, 5));
        ByteArrayOutputStream zip = new ByteArrayOutputStream();
        model2.save(zip);

        Network restored = NetworkFactory.standard().restore(spec, hp, new ByteArrayInputStream(zip.toByteArray()));
        Network asLayers = NetworkFactory.layerApi().restore(spec, hp, new ByteArrayInputStream(zip.toByteArray()));
        INDArray images = batch(6, 6).getFeatures();
        assertThat(flat(restored.output(images))).containsExactly(flat(model2.output(images)),
                within(1e-6f));
        assertThat(flat(asLayers.output(images))).containsExactly(flat(model2.output(images)),
                within(1e-5f));
        assertThat(restored.summary()).isEqualTo(model2.summary());
        assertThat(asLayers.summary().frozenParams()).isEqualTo(model2.summary().frozenParams());
    }
}
