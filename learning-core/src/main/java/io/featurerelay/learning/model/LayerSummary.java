package io.featurerelay.learning.model;

import java.util.List;

/** One row of a model summary. */
public record LayerSummary(String name, String type, List<Integer> outputShape, long params, boolean trainable) {
}
