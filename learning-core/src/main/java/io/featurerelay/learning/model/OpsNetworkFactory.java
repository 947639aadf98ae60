package io.featurerelay.learning.model;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/** Networks run as libnd4j ops ({@link OpsNetwork}); saved models stay DL4J model zips. */
final class OpsNetworkFactory implements NetworkFactory {

    private final LayerApiNetworkFactory layers = new LayerApiNetworkFactory();

    @Override
    public Network create(ModelSpec spec, Hyperparameters hp) {
        return new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, false);
    }

    @Override
    public Network withFrozenFeatures(ModelSpec spec, Hyperparameters hp, Map<String, Map<String, float[]>> parameters) {
        OpsNetwork net = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, true);
        net.setParameters(parameters);
        return net;
    }

    @Override
    public Network forFineTuning(ModelSpec spec, Hyperparameters hp, Map<String, Map<String, float[]>> parameters) {
        OpsNetwork net = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, false, true);
        net.setParameters(parameters);
        return net;
    }

    @Override
    public Network headOnly(ModelSpec spec, Hyperparameters hp) {
        return new OpsNetwork(spec, hp, OpsNetwork.Kind.HEAD_ONLY, false);
    }

    @Override
    public Network restore(ModelSpec spec, Hyperparameters hp, InputStream in) throws IOException {
        Network saved = layers.restore(spec, hp, in);
        boolean frozen = saved.summary().layers().stream()
                .anyMatch(l -> spec.featureLayers().contains(l.name()) && !l.trainable());
        OpsNetwork net = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, frozen);
        net.setParameters(saved.parameters(net.layerNames()));
        return net;
    }
}
