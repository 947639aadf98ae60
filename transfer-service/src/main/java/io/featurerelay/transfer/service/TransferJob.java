package io.featurerelay.transfer.service;

import io.featurerelay.learning.model.ModelSummary;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.jobs.JobLifecycle;
import io.featurerelay.service.jobs.JobState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** One transfer job's mutable state; the worker writes it, REST threads read snapshots. */
final class TransferJob extends JobLifecycle {

    static final String TRANSFER = "transfer";
    static final String SCRATCH = "scratch";

    private final String id;
    private final String baseModelId;
    private final TransferParameters parameters;
    private List<String> classNames = List.of();
    private TransferStatus.Progress progress;
    private final List<EpochResult> transferHistory = new ArrayList<>();
    private final List<EpochResult> scratchHistory = new ArrayList<>();
    private Double featurizeSeconds;
    private Double transferSeconds;
    private Double scratchSeconds;
    private ModelSummary summary;
    private BaseModel lineage;
    private boolean resultPublished;

    TransferJob(String id, String baseModelId, TransferParameters parameters, Instant createdAt, BaseModel lineage) {
        super(createdAt);
        this.id = id;
        this.baseModelId = baseModelId;
        this.parameters = parameters;
        this.lineage = lineage;
    }

    static TransferJob restore(TransferStatus s) {
        TransferJob job = new TransferJob(s.id(), s.baseModelId(), s.parameters(), s.createdAt(), s.lineage());
        job.restore(s.state(), s.error(), s.startedAt(), s.finishedAt());
        job.classNames = s.classNames() == null ? List.of() : s.classNames();
        job.progress = s.progress();
        if (s.transferHistory() != null) {
            job.transferHistory.addAll(s.transferHistory());
        }
        if (s.scratchHistory() != null) {
            job.scratchHistory.addAll(s.scratchHistory());
        }
        job.featurizeSeconds = s.featurizeSeconds();
        job.transferSeconds = s.transferSeconds();
        job.scratchSeconds = s.scratchSeconds();
        job.summary = s.summary();
        job.resultPublished = s.resultPublished();
        return job;
    }

    String id() {
        return id;
    }

    String baseModelId() {
        return baseModelId;
    }

    TransferParameters parameters() {
        return parameters;
    }

    /** Back to the queue after a restart: whatever was half done is done again. */
    synchronized void requeue() {
        requeueLifecycle();
        progress = null;
        transferHistory.clear();
        scratchHistory.clear();
        featurizeSeconds = null;
        transferSeconds = null;
        scratchSeconds = null;
    }

    synchronized void prepared(List<String> names, ModelSummary model2) {
        classNames = List.copyOf(names);
        summary = model2;
    }

    synchronized void phase(String role, String phase) {
        progress = new TransferStatus.Progress(role, phase, 0, parameters.epochs(), 0, 0, 0, 0, 0);
    }

    synchronized void progress(String role, BatchProgress p) {
        progress = new TransferStatus.Progress(role, "training", p.epoch(), p.epochs(), p.batch(), p.batches(),
                p.fractionDone(), p.imagesPerSecond(), p.etaSeconds());
    }

    synchronized void epoch(String role, EpochResult r) {
        (TRANSFER.equals(role) ? transferHistory : scratchHistory).add(r);
    }

    synchronized void transferDone(double featurize, double total) {
        featurizeSeconds = featurize;
        transferSeconds = total;
    }

    synchronized void scratchDone(double seconds) {
        scratchSeconds = seconds;
    }

    synchronized void resultPublished() {
        resultPublished = true;
    }

    synchronized TransferStatus snapshot() {
        List<TransferStatus.EpochComparison> comparison = new ArrayList<>();
        int epochs = Math.max(transferHistory.size(), scratchHistory.size());
        for (int i = 0; i < epochs; i++) {
            comparison.add(new TransferStatus.EpochComparison(i + 1,
                    i < transferHistory.size() ? transferHistory.get(i).validationAccuracy() : null,
                    i < scratchHistory.size() ? scratchHistory.get(i).validationAccuracy() : null));
        }
        return new TransferStatus(id, baseModelId, state(), error(), parameters, classNames, createdAt(), startedAt(),
                finishedAt(), progress, List.copyOf(transferHistory), List.copyOf(scratchHistory), comparison,
                featurizeSeconds, transferSeconds, scratchSeconds, summary, lineage, resultPublished);
    }
}
