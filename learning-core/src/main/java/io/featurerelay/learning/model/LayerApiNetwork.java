package io.featurerelay.learning.model;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** A {@link Network} on DL4J's {@link MultiLayerNetwork}. */
final class LayerApiNetwork implements Network {

    enum Kind { FULL, HEAD_ONLY }

    private final ModelSpec spec;
    private final Hyperparameters hyperparameters;
    private final MultiLayerNetwork net;
    private final Kind kind;

    LayerApiNetwork(ModelSpec spec, Hyperparameters hyperparameters, MultiLayerNetwork net, Kind kind) {
        this.spec = spec;
        this.hyperparameters = hyperparameters;
        this.net = net;
        this.kind = kind;
    }

    MultiLayerNetwork dl4j() {
        return net;
    }

    /** Index of the dropout after pooling: the last layer of the feature extractor. */
    static int lastFeatureIndex(ModelSpec spec) {
        return spec.convFilters().size() + 1;
    }

    private int indexOf(String layer) {
        int convs = spec.convFilters().size();
        int headStart = kind == Kind.FULL ? convs + 2 : 0;
        if (ModelSpec.DENSE.equals(layer)) {
            return headStart;
        }
        if (ModelSpec.OUTPUT.equals(layer)) {
            return headStart + 2;
        }
        for (int i = 0; i < convs && kind == Kind.FULL; i++) {
            if (ModelSpec.convName(i).equals(layer)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no layer named " + layer + " in this " + kind + " network");
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    @Override
    public double fitBatch(DataSet batch) {
        net.fit(batch);
        return net.score();
    }

    @Override
    public INDArray output(INDArray features) {
        return net.output(features, false);
    }

    @Override
    public INDArray featureActivations(INDArray images) {
        if (kind != Kind.FULL) {
            throw new UnsupportedOperationException("a head-only network has no feature layers");
        }
        List<INDArray> acts = net.feedForwardToLayer(lastFeatureIndex(spec), images, false);
        INDArray last = acts.get(acts.size() - 1);
        // the same C-order flattening as the CNN-to-dense preprocessor in front of the head
        return last.reshape('c', last.size(0), spec.featureSize()).dup('c');
    }

    @Override
    public Map<String, Map<String, float[]>> parameters(Iterable<String> layers) {
        Map<String, Map<String, float[]>> out = new LinkedHashMap<>();
        for (String name : layers) {
            Layer layer = net.getLayer(indexOf(name));
            Map<String, float[]> arrays = new LinkedHashMap<>();
            for (String key : List.of("W", "b")) {
                INDArray p = layer.getParam(key);
                arrays.put(key, Nd4j.toFlattened('c', p.castTo(DataType.FLOAT)).toFloatVector());
            }
            out.put(name, arrays);
        }
        return out;
    }

    @Override
    public void setParameters(Map<String, Map<String, float[]>> params) {
        Map<String, Map<String, List<Integer>>> shapes = spec.parameterShapes();
        for (var layerEntry : params.entrySet()) {
            Layer layer = net.getLayer(indexOf(layerEntry.getKey()));
            for (var arrayEntry : layerEntry.getValue().entrySet()) {
                INDArray target = layer.getParam(arrayEntry.getKey());
                if (target == null) {
                    throw new IllegalArgumentException("layer " + layerEntry.getKey() + " has no parameter "
                            + arrayEntry.getKey());
                }
                float[] values = arrayEntry.getValue();
                if (values.length != target.length()) {
                    throw new IllegalArgumentException("parameter " + layerEntry.getKey() + "." + arrayEntry.getKey()
                            + " needs " + target.length() + " values, got " + values.length);
                }
                long[] specShape = shapes.get(layerEntry.getKey()).get(arrayEntry.getKey()).stream()
                        .mapToLong(Integer::longValue).toArray();
                INDArray source = Nd4j.create(values, specShape, 'c');
                // assign() copies element by element whatever the target's order ('f' for dense weights)
                target.assign(source.reshape(target.shape()));
            }
        }
    }

    @Override
    public ModelSummary summary() {
        List<LayerSummary> rows = new ArrayList<>();
        int[] hw = {spec.imageShape().height(), spec.imageShape().width()};
        int channels = spec.imageShape().channels();
        if (kind == Kind.FULL) {
            for (int i = 0; i < spec.convFilters().size(); i++) {
                hw = new int[] {hw[0] - spec.kernel() + 1, hw[1] - spec.kernel() + 1};
                channels = spec.convFilters().get(i);
                rows.add(row(ModelSpec.convName(i), "Conv2D", List.of(channels, hw[0], hw[1]), net.getLayer(i)));
            }
            int[] pooled = spec.pooledSize();
            int convs = spec.convFilters().size();
            rows.add(row("pool", "MaxPool2D", List.of(channels, pooled[0], pooled[1]), net.getLayer(convs)));
            rows.add(row("conv-dropout", "Dropout", List.of(channels, pooled[0], pooled[1]), net.getLayer(convs + 1)));
            rows.add(new LayerSummary("flatten", "Flatten", List.of(spec.featureSize()), 0, true));
        }
        int headStart = indexOf(ModelSpec.DENSE);
        rows.add(row(ModelSpec.DENSE, "Dense", List.of(spec.denseUnits()), net.getLayer(headStart)));
        rows.add(row("dense-dropout", "Dropout", List.of(spec.denseUnits()), net.getLayer(headStart + 1)));
        rows.add(row(ModelSpec.OUTPUT, "Softmax", List.of(spec.numClasses()), net.getLayer(headStart + 2)));
        return ModelSummary.of(rows);
    }

    private static LayerSummary row(String name, String type, List<Integer> shape, Layer layer) {
        boolean frozen = layer instanceof FrozenLayer || layer instanceof FrozenLayerWithBackprop;
        return new LayerSummary(name, type, shape, layer.numParams(), !frozen);
    }

    @Override
    public void save(OutputStream out) throws IOException {
        ModelSerializer.writeModel(net, out, true);
    }

    @Override
    public void reseed() {
        reseed(hyperparameters.seed());
    }

    @Override
    public void reseed(long seed) {
        // DL4J's dropout draws from ND4J's (thread-local) stream
        Nd4j.getRandom().setSeed(seed);
    }

    static final String IMPLEMENTATION = "layer-api";

    private String structure() {
        if (kind == Kind.HEAD_ONLY) {
            return NetworkState.HEAD_ONLY;
        }
        return net.getLayer(0) instanceof FrozenLayer || net.getLayer(0) instanceof FrozenLayerWithBackprop
                ? NetworkState.FULL_FROZEN_FEATURES : NetworkState.FULL;
    }

    private List<String> layerNames() {
        List<String> names = new ArrayList<>();
        if (kind == Kind.FULL) {
            names.addAll(spec.featureLayers());
        }
        names.addAll(spec.headLayers());
        return names;
    }

    /**
     * Parameters as {@code param/<layer>/<key>} in the spec's layouts; the updater's state as DL4J keeps it, one
     * flat array {@code updater/dl4j} (its state view: the trainable layers' blocks in DL4J's order).
     */
    @Override
    public NetworkState state() {
        List<NetworkState.Array> arrays = new ArrayList<>();
        Map<String, Map<String, List<Integer>>> shapes = spec.parameterShapes();
        parameters(layerNames()).forEach((layer, values) -> values.forEach((key, v) -> arrays.add(
                NetworkState.Array.wrap(NetworkState.parameterName(layer, key),
                        shapes.get(layer).get(key).stream().mapToLong(Integer::longValue).toArray(), v))));
        INDArray view = net.getUpdater().getStateViewArray();
        if (view != null && view.length() > 0) {
            arrays.add(NetworkState.Array.wrap("updater/dl4j", new long[] {view.length()},
                    Nd4j.toFlattened('c', view.castTo(DataType.FLOAT)).toFloatVector()));
        }
        return new NetworkState(IMPLEMENTATION, structure(), spec, hyperparameters, net.getIterationCount(), arrays);
    }

    @Override
    public void restoreState(NetworkState state) {
        state.requireCompatibleWith(state());
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        boolean frozen = NetworkState.FULL_FROZEN_FEATURES.equals(structure());
        Map<String, Map<String, float[]>> current = frozen ? parameters(spec.featureLayers()) : Map.of();
        for (String layer : layerNames()) {
            for (String key : List.of("W", "b")) {
                float[] v = state.array(NetworkState.parameterName(layer, key)).toFloatArray();
                if (frozen && spec.featureLayers().contains(layer)) {
                    if (!java.util.Arrays.equals(v, current.get(layer).get(key))) {
                        throw new IllegalArgumentException("frozen parameter " + layer + "." + key
                                + " differs from the state's: the state belongs to a network on other features");
                    }
                    continue;
                }
                params.computeIfAbsent(layer, l -> new LinkedHashMap<>()).put(key, v);
            }
        }
        setParameters(params);
        NetworkState.Array updater = state.array("updater/dl4j");
        if (updater != null) {
            INDArray view = net.getUpdater().getStateViewArray();
            view.assign(Nd4j.create(updater.toFloatArray(), view.shape(), 'c'));
        }
        net.setIterationCount(Math.toIntExact(state.iterations()));
    }
}
