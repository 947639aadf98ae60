package io.featurerelay.learning.model;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * A trainable network as the rest of Feature Relay sees it. The training loop, the transfer code and the
 * services go through this interface only, so the implementation behind it (DL4J's layer API today) can be
 * swapped without touching them.
 */
public interface Network {

    /** The spec this network was built from. */
    ModelSpec spec();

    /** One optimisation step on a batch; returns the batch's loss. */
    double fitBatch(DataSet batch);

    /** Class probabilities, one row per input, in inference mode (no dropout). */
    INDArray output(INDArray features);

    /**
     * Parameter arrays of the given layers as float32 copies, by layer name then key ({@code W}, {@code b}),
     * in the layouts of {@link ModelSpec#parameterShapes()}.
     */
    Map<String, Map<String, float[]>> parameters(Iterable<String> layers);

    /** Overwrites the parameters of the layers present in {@code params}; shapes must match. */
    void setParameters(Map<String, Map<String, float[]>> params);

    /**
     * Activations of the last feature layer for a batch of images, flattened to [n, featureSize] in the order
     * the head reads them; computed in inference mode.
     *
     * @throws UnsupportedOperationException for a head-only network
     */
    INDArray featureActivations(INDArray images);

    /**
     * {@link #featureActivations(INDArray)} written into {@code target} [n, featureSize] (any data type, e.g. a
     * float16 slice of a larger array), without a new array in between.
     */
    default void featureActivations(INDArray images, INDArray target) {
        INDArray activations = featureActivations(images);
        target.assign(activations);
        activations.close();
    }

    /** Per-layer summary with trainable and frozen counts. */
    ModelSummary summary();

    /** Writes the whole model (configuration, parameters, updater state) in the implementation's format. */
    void save(OutputStream out) throws IOException;

    /** Re-seeds the random streams used in training (dropout), so that two runs draw the same masks. */
    void reseed();
}
