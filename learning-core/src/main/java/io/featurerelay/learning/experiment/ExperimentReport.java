package io.featurerelay.learning.experiment;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.TrainingHistory;
import java.util.List;
import java.util.Locale;

/**
 * What the experiment measured.
 *
 * @param base             the base model's epochs on the source classes
 * @param transfer         model 2's epochs on the target classes (head epochs on the featurized path)
 * @param featurizeSeconds time spent computing the training images' frozen activations once (0 on the plain
 *                         path)
 * @param scratch          the baseline's epochs, or null when it was not trained
 * @param model2Summary    model 2's layers with frozen and trainable counts
 */
public record ExperimentReport(TrainingHistory base, TrainingHistory transfer, double featurizeSeconds,
        TrainingHistory scratch, ModelSummary model2Summary) {

    /** Per-epoch table of the three models, then times and model 2's summary. */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-6s | %-22s | %-22s | %-22s%n", "epoch", "base acc (time)",
                "transfer acc (time)", "scratch acc (time)"));
        int epochs = Math.max(base.epochs().size(), transfer.epochs().size());
        for (int i = 0; i < epochs; i++) {
            sb.append(String.format(Locale.ROOT, "%-6d | %-22s | %-22s | %-22s%n", i + 1, cell(base, i),
                    cell(transfer, i), scratch == null ? "-" : cell(scratch, i)));
        }
        sb.append(String.format(Locale.ROOT, "%ntraining time: base %.1f s, transfer %.1f s (featurize %.1f s + head "
                + "%.1f s), scratch %s%n", base.trainingSeconds(), featurizeSeconds + transfer.trainingSeconds(),
                featurizeSeconds, transfer.trainingSeconds(),
                scratch == null ? "-" : String.format(Locale.ROOT, "%.1f s", scratch.trainingSeconds())));
        sb.append(String.format("%nmodel 2:%n")).append(model2Summary.toTable());
        return sb.toString();
    }

    private static String cell(TrainingHistory h, int i) {
        List<EpochResult> epochs = h.epochs();
        if (i >= epochs.size()) {
            return "-";
        }
        EpochResult r = epochs.get(i);
        return String.format(Locale.ROOT, "%.4f (%.1f s)", r.validationAccuracy(), r.seconds());
    }
}
