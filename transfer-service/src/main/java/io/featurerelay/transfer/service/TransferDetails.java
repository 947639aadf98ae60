package io.featurerelay.transfer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import java.util.ArrayList;
import java.util.List;

/**
 * What a transfer job records while it runs and after (the job table's {@code details} document): every replica
 * answers a GET from it, and a replica that resumes the job continues from it.
 *
 * @param lineage          the base model the job starts from (fixed when the job is created)
 * @param fineTuneHistory  the fine-tuning epochs (empty without fine-tuning)
 * @param fineTuneSeconds  fine-tuning's training time
 * @param trainImages      training images per epoch (the label budget's, when there is one)
 */
public record TransferDetails(BaseModel lineage, List<String> classNames, TransferStatus.Progress progress,
        List<EpochResult> transferHistory, List<EpochResult> scratchHistory, Double featurizeSeconds,
        Double transferSeconds, Double scratchSeconds, ModelSummary summary, boolean resultPublished,
        List<EpochResult> fineTuneHistory, Double fineTuneSeconds, Integer trainImages) {

    public TransferDetails {
        classNames = classNames == null ? List.of() : List.copyOf(classNames);
        transferHistory = transferHistory == null ? List.of() : List.copyOf(transferHistory);
        scratchHistory = scratchHistory == null ? List.of() : List.copyOf(scratchHistory);
        fineTuneHistory = fineTuneHistory == null ? List.of() : List.copyOf(fineTuneHistory);
    }

    static TransferDetails of(BaseModel lineage) {
        return new TransferDetails(lineage, List.of(), null, List.of(), List.of(), null, null, null, null, false,
                List.of(), null, null);
    }

    TransferDetails prepared(List<String> names, ModelSummary model2, int images) {
        return new TransferDetails(lineage, names, progress, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, scratchSeconds, model2, resultPublished, fineTuneHistory, fineTuneSeconds, images);
    }

    TransferDetails withProgress(TransferStatus.Progress p) {
        return new TransferDetails(lineage, classNames, p, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, scratchSeconds, summary, resultPublished, fineTuneHistory, fineTuneSeconds,
                trainImages);
    }

    /** The history of {@code role} (transfer, scratch or fine-tune). */
    List<EpochResult> history(String role) {
        return switch (role) {
            case TransferJobHandler.TRANSFER -> transferHistory;
            case TransferJobHandler.FINE_TUNE -> fineTuneHistory;
            default -> scratchHistory;
        };
    }

    TransferDetails withHistory(String role, List<EpochResult> history) {
        boolean transfer = TransferJobHandler.TRANSFER.equals(role);
        boolean fineTune = TransferJobHandler.FINE_TUNE.equals(role);
        boolean scratch = !transfer && !fineTune;
        return new TransferDetails(lineage, classNames, progress, transfer ? history : transferHistory,
                scratch ? history : scratchHistory, featurizeSeconds, transferSeconds, scratchSeconds, summary,
                resultPublished, fineTune ? history : fineTuneHistory, fineTuneSeconds, trainImages);
    }

    TransferDetails withEpoch(String role, EpochResult r) {
        List<EpochResult> more = new ArrayList<>(history(role));
        more.removeIf(e -> e.epoch() >= r.epoch());
        more.add(r);
        return withHistory(role, more);
    }

    TransferDetails transferDone(double featurize, double total) {
        return new TransferDetails(lineage, classNames, progress, transferHistory, scratchHistory, featurize, total,
                scratchSeconds, summary, resultPublished, fineTuneHistory, fineTuneSeconds, trainImages);
    }

    TransferDetails scratchDone(double seconds) {
        return new TransferDetails(lineage, classNames, progress, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, seconds, summary, resultPublished, fineTuneHistory, fineTuneSeconds, trainImages);
    }

    TransferDetails fineTuneDone(double seconds) {
        return new TransferDetails(lineage, classNames, progress, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, scratchSeconds, summary, resultPublished, fineTuneHistory, seconds, trainImages);
    }

    /**
     * The model that predictions use unless told otherwise: fine-tune when its last validation accuracy is above
     * model 2's, else transfer (the tie goes to the model that cost less); null before model 2 has an epoch.
     */
    String bestModel() {
        if (transferHistory.isEmpty()) {
            return null;
        }
        double transfer = transferHistory.get(transferHistory.size() - 1).validationAccuracy();
        if (!fineTuneHistory.isEmpty()
                && fineTuneHistory.get(fineTuneHistory.size() - 1).validationAccuracy() > transfer) {
            return TransferJobHandler.FINE_TUNE;
        }
        return TransferJobHandler.TRANSFER;
    }
}
