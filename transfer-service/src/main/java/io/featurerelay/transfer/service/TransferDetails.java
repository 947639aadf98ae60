package io.featurerelay.transfer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import java.util.ArrayList;
import java.util.List;

/**
 * What a transfer job records while it runs and after (the job table's {@code details} document): every replica
 * answers a GET from it, and a replica that resumes the job continues from it.
 *
 * @param lineage the base model the job starts from (fixed when the job is created)
 */
public record TransferDetails(BaseModel lineage, List<String> classNames, TransferStatus.Progress progress,
        List<EpochResult> transferHistory, List<EpochResult> scratchHistory, Double featurizeSeconds,
        Double transferSeconds, Double scratchSeconds, ModelSummary summary, boolean resultPublished) {

    public TransferDetails {
        classNames = classNames == null ? List.of() : List.copyOf(classNames);
        transferHistory = transferHistory == null ? List.of() : List.copyOf(transferHistory);
        scratchHistory = scratchHistory == null ? List.of() : List.copyOf(scratchHistory);
    }

    static TransferDetails of(BaseModel lineage) {
        return new TransferDetails(lineage, List.of(), null, List.of(), List.of(), null, null, null, null, false);
    }

    TransferDetails prepared(List<String> names, ModelSummary model2) {
        return new TransferDetails(lineage, names, progress, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, scratchSeconds, model2, resultPublished);
    }

    TransferDetails withProgress(TransferStatus.Progress p) {
        return new TransferDetails(lineage, classNames, p, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, scratchSeconds, summary, resultPublished);
    }

    TransferDetails withHistory(String role, List<EpochResult> history) {
        boolean transfer = TransferJobHandler.TRANSFER.equals(role);
        return new TransferDetails(lineage, classNames, progress, transfer ? history : transferHistory,
                transfer ? scratchHistory : history, featurizeSeconds, transferSeconds, scratchSeconds, summary,
                resultPublished);
    }

    TransferDetails withEpoch(String role, EpochResult r) {
        List<EpochResult> more = new ArrayList<>(TransferJobHandler.TRANSFER.equals(role) ? transferHistory
                : scratchHistory);
        more.removeIf(e -> e.epoch() >= r.epoch());
        more.add(r);
        return withHistory(role, more);
    }

    TransferDetails transferDone(double featurize, double total) {
        return new TransferDetails(lineage, classNames, progress, transferHistory, scratchHistory, featurize, total,
                scratchSeconds, summary, resultPublished);
    }

    TransferDetails scratchDone(double seconds) {
        return new TransferDetails(lineage, classNames, progress, transferHistory, scratchHistory, featurizeSeconds,
                transferSeconds, seconds, summary, resultPublished);
    }
}
