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

    /** Re-seeds the random streams used in training (dropout) from the hyperparameters' seed. */
    void reseed();

    /**
     * Re-seeds the random streams used in training (dropout) from {@code seed}: the training loop calls it at the
     * start of every epoch with a seed derived from the run's seed and the epoch, so that an epoch's masks
     * depend on nothing before it and a resumed run draws what an uninterrupted one draws.
     */
    void reseed(long seed);

    /**
     * A copy of everything the next training step reads besides the batch and the dropout stream: parameters,
     * optimizer state and step count (for a checkpoint).
     *
     * @throws UnsupportedOperationException where the implementation cannot expose its optimizer state
     */
    NetworkState state();

    /**
     * Puts back a state that {@link #state()} took from a network built the same way (same implementation,
     * structure, spec and hyperparameters), so that training continues as the other network would have. Frozen
     * parameters are not overwritten: they must equal the state's bit for bit.
     *
     * @throws IllegalArgumentException naming the first mismatch; the network is unchanged then
     */
    void restoreState(NetworkState state);
}
