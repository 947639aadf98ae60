package io.featurerelay.trainer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.EpochResult;
import java.util.ArrayList;
import java.util.List;

/**
 * What a training job records while it runs and after (the job table's {@code details} document): every replica
 * answers a GET from it, and a replica that resumes the job continues it.
 */
public record TrainingDetails(TrainingStatus.Progress progress, List<EpochResult> history, ModelSummary summary,
        Double trainingSeconds, String envelopeSha256, int publishAttempts, TrainingStatus.Published published) {

    public TrainingDetails {
        history = history == null ? List.of() : List.copyOf(history);
    }

    static TrainingDetails empty() {
        return new TrainingDetails(null, List.of(), null, null, null, 0, null);
    }

    TrainingDetails withProgress(TrainingStatus.Progress p) {
        return new TrainingDetails(p, history, summary, trainingSeconds, envelopeSha256, publishAttempts, published);
    }

    TrainingDetails withSummary(ModelSummary s) {
        return new TrainingDetails(progress, history, s, trainingSeconds, envelopeSha256, publishAttempts, published);
    }

    TrainingDetails withEpoch(EpochResult r) {
        List<EpochResult> more = new ArrayList<>(history);
        more.removeIf(e -> e.epoch() >= r.epoch());
        more.add(r);
        return new TrainingDetails(progress, more, summary, trainingSeconds, envelopeSha256, publishAttempts,
                published);
    }

    TrainingDetails withHistory(List<EpochResult> h) {
        return new TrainingDetails(progress, h, summary, trainingSeconds, envelopeSha256, publishAttempts, published);
    }

    TrainingDetails trained(double seconds, String sha256) {
        return new TrainingDetails(progress, history, summary, seconds, sha256, publishAttempts, published);
    }

    TrainingDetails publishFailed() {
        return new TrainingDetails(progress, history, summary, trainingSeconds, envelopeSha256, publishAttempts + 1,
                published);
    }

    TrainingDetails published(TrainingStatus.Published where) {
        return new TrainingDetails(progress, history, summary, trainingSeconds, envelopeSha256, publishAttempts + 1,
                where);
    }
}
