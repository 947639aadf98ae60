package io.featurerelay.learning.model;

import java.util.Map;

/** Builds {@link Network}s from specs; the one place that knows which implementation is in use. */
public interface NetworkFactory {

    /** A freshly initialised network, every layer trainable (the base model and the from-scratch baseline). */
    Network create(ModelSpec spec, Hyperparameters hyperparameters);

    /**
     * A network whose feature layers are frozen: it starts as {@link #create} would, then takes the given
     * parameters (the features, and the head too when it is reused) and freezes every feature layer.
     */
    Network withFrozenFeatures(ModelSpec spec, Hyperparameters hyperparameters,
            Map<String, Map<String, float[]>> parameters);

    /**
     * A network for fine-tuning: every layer trainable, starting from {@code parameters} (all of model 2's
     * layers). With Adam the learning rate is the step size as usual; with Adadelta, which has no learning rate,
     * every step is scaled by it (1 would be plain Adadelta), as Keras's Adadelta applies its learning rate.
     */
    Network forFineTuning(ModelSpec spec, Hyperparameters hyperparameters,
            Map<String, Map<String, float[]>> parameters);

    /** The head layers alone, reading flattened feature vectors of length {@link ModelSpec#featureSize()}. */
    Network headOnly(ModelSpec spec, Hyperparameters hyperparameters);

    /**
     * Reads a network that {@link Network#save} wrote, for the same spec.
     *
     * @throws java.io.IOException when the stream is no saved network
     */
    Network restore(ModelSpec spec, Hyperparameters hyperparameters, java.io.InputStream in) throws java.io.IOException;

    /**
     * The implementation in use: the network run as libnd4j ops ({@code conv2d}, {@code conv2d_bp}, ...) on
     * the libnd4j build {@link NativeBackend} picks for this CPU. Saved models are DL4J model zips.
     */
    static NetworkFactory standard() {
        NativeBackend.configure();
        return new OpsNetworkFactory();
    }

    /** DL4J's layer API ({@code MultiLayerNetwork}): kept for comparison in the benchmark and the tests. */
    static NetworkFactory layerApi() {
        NativeBackend.configure();
        return new LayerApiNetworkFactory();
    }
}
