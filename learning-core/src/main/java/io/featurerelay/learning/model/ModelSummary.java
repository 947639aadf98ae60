package io.featurerelay.learning.model;

import java.util.List;

/** Per layer name, type, output shape, parameters and whether they train; with totals. */
public record ModelSummary(List<LayerSummary> layers, long totalParams, long trainableParams, long frozenParams) {

    public static ModelSummary of(List<LayerSummary> layers) {
        long total = 0;
        long trainable = 0;
        for (LayerSummary l : layers) {
            total += l.params();
            if (l.trainable()) {
                trainable += l.params();
            }
        }
        return new ModelSummary(List.copyOf(layers), total, trainable, total - trainable);
    }

    /** The summary as a fixed-width text table, like the one the reference article prints. */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-14s %-10s %-16s %12s  %s%n", "Layer", "Type", "Output shape", "Params", "Trainable"));
        for (LayerSummary l : layers) {
            sb.append(String.format("%-14s %-10s %-16s %,12d  %s%n", l.name(), l.type(), l.outputShape(), l.params(),
                    l.params() == 0 ? "-" : l.trainable() ? "yes" : "frozen"));
        }
        sb.append(String.format("Total params: %,d%nTrainable params: %,d%nFrozen params: %,d%n", totalParams,
                trainableParams, frozenParams));
        return sb.toString();
    }
}
