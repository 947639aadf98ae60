package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelSpecTest {

    @Test
    void jsonRoundTrips() {
        ModelSpec spec = ModelSpec.cifar10(5);
        assertThat(ModelSpec.fromJson(spec.toJson())).isEqualTo(spec);
        assertThat(spec.toJson()).contains("\"convFilters\":[64,64]").doesNotContain("featureLayers");
    }

    @Test
    void invalidJsonNamesTheProblem() {
        String json = ModelSpec.reference(5).toJson().replace("\"kernel\":3", "\"kernel\":0");
        assertThatThrownBy(() -> ModelSpec.fromJson(json)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernel must be in 1..11");
        assertThatThrownBy(() -> ModelSpec.fromJson("{")).hasMessageContaining("invalid model spec");
    }

    @Test
    void referenceNetworkHasTheArticlesParameterCounts() {
        Network net = NetworkFactory.standard().create(ModelSpec.reference(5), Hyperparameters.defaults());
        ModelSummary summary = net.summary();
        assertThat(summary.totalParams()).isEqualTo(600_165);
        assertThat(summary.frozenParams()).isZero();
        assertThat(summary.layers()).extracting(LayerSummary::name).containsExactly("conv1", "conv2", "pool",
                "conv-dropout", "flatten", "dense", "dense-dropout", "output");
        assertThat(summary.layers().get(1).outputShape()).containsExactly(32, 24, 24);
        assertThat(summary.layers().get(5).params()).isEqualTo(589_952);
    }

    @Test
    void parameterShapesMatchTheBuiltNetwork() {
        for (ModelSpec spec : List.of(ModelSpec.reference(5), ModelSpec.cifar10(10))) {
            Network net = NetworkFactory.standard().create(spec, Hyperparameters.defaults());
            Map<String, Map<String, float[]>> params = net.parameters(spec.parameterShapes().keySet());
            spec.parameterShapes().forEach((layer, arrays) -> arrays.forEach((key, shape) -> {
                long elements = shape.stream().mapToLong(Integer::longValue).reduce(1, (a, b) -> a * b);
                assertThat(params.get(layer).get(key)).as(layer + "." + key).hasSize((int) elements);
            }));
        }
    }

    @Test
    void setParametersThenGetIsIdentity() {
        ModelSpec spec = ModelSpec.reference(3);
        Network a = NetworkFactory.standard().create(spec, new Hyperparameters(Optimizer.ADAM, 1e-3, 1));
        Network b = NetworkFactory.standard().create(spec, new Hyperparameters(Optimizer.ADAM, 1e-3, 2));
        var params = a.parameters(spec.parameterShapes().keySet());
        assertThat(b.parameters(List.of("dense")).get("dense").get("W")).isNotEqualTo(params.get("dense").get("W"));
        b.setParameters(params);
        var copied = b.parameters(spec.parameterShapes().keySet());
        params.forEach((layer, arrays) -> arrays.forEach((key, values) ->
                assertThat(copied.get(layer).get(key)).as(layer + "." + key).isEqualTo(values)));
    }

    @Test
    void tooSmallInputIsRejected() {
        assertThatThrownBy(() -> new ModelSpec(List.of(1, 5, 5), List.of(8, 8), 3, 2, 0.25, 16, 0.5, 2))
                .hasMessageContaining("too small");
    }
}
