package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.transfer.rest.LearningCurveRequest;
import io.featurerelay.transfer.rest.TransferRequest;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jboss.logging.Logger;

/**
 * Learning-curve jobs: a second kind of job on the shared job table, told apart from transfers by their ids
 * ({@code curve-...}), trained by {@link LearningCurveHandler}; submitted, listed, read and cancelled here.
 */
@ApplicationScoped
public class LearningCurves {

    private static final Logger LOG = Logger.getLogger(LearningCurves.class);
    static final String ID_PREFIX = "curve-";
    /** More budgets would make one job run for hours; a curve on a log axis needs a handful. */
    static final int MAX_BUDGETS = 10;
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    private final TransferJobs jobs;

    public LearningCurves(TransferJobs jobs) {
        this.jobs = jobs;
    }

    /** Whether a job id names a learning curve (the job table holds transfers beside them). */
    static boolean isCurve(String jobId) {
        return jobId.startsWith(ID_PREFIX);
    }

    /** Validates, queues and returns the new job's status; 400 naming the field at fault, 429 when full. */
    public LearningCurveStatus submit(LearningCurveRequest r) {
        LearningCurveParameters p = validate(r);
        // validate checked it against the stored base model (fine-tuning included) already
        BaseModel base = jobs.storedBase(p.baseModelId());
        String id = ID_PREFIX + ID_TIME.format(Instant.now()) + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        if (!jobs.machinery().store().insertWithinQueue(id, p, LearningCurveDetails.of(base),
                jobs.config().queueSize())) {
            throw ProblemException.tooManyRequests("the job queue is full (" + jobs.config().queueSize()
                    + " waiting); try again when a job has finished");
        }
        jobs.jobsAdded();
        LOG.infof("queued learning curve %s from %s: budgets %s, roles %s", id, p.baseModelId(), p.budgets(),
                p.roles());
        return status(jobs.machinery().store().find(id).orElseThrow());
    }

    public List<LearningCurveStatus> list() {
        return jobs.machinery().store().list().stream().filter(row -> isCurve(row.id())).map(this::status).toList();
    }

    public LearningCurveStatus get(String id) {
        return status(row(id));
    }

    public LearningCurveStatus cancel(String id) {
        JobRecord before = row(id);
        if (before.state() != JobState.QUEUED && before.state() != JobState.RUNNING) {
            throw ProblemException.conflict("learning curve " + id + " is " + before.state()
                    + " and can no longer be cancelled");
        }
        return status(jobs.machinery().store().requestCancel(id)
                .orElseThrow(() -> ProblemException.notFound("learning curve", id)));
    }

    private JobRecord row(String id) {
        return (isCurve(id) ? jobs.machinery().store().find(id) : java.util.Optional.<JobRecord>empty())
                .orElseThrow(() -> ProblemException.notFound("learning curve", id));
    }

    private LearningCurveStatus status(JobRecord row) {
        return LearningCurveStatus.of(row, jobs.machinery().store().read(row.parameters(),
                LearningCurveParameters.class), jobs.machinery().store().read(row.details(),
                LearningCurveDetails.class));
    }

    /**
     * The request's fields, as a transfer re-run's are checked (the same 400s, the same field names), and its
     * budgets: 1 to {@value #MAX_BUDGETS}, each 0 (all) or 1..the smallest class's training images, none twice.
     */
    LearningCurveParameters validate(LearningCurveRequest r) {
        if (r == null) {
            throw ProblemException.invalidField("baseModelId", "baseModelId is required");
        }
        // fine-tuning only when asked for, whatever the default target does
        TransferParameters t = jobs.validated(new TransferRequest(r.baseModelId(), r.dataset(), r.dataDir(),
                r.classes(), r.epochs(), r.batchSize(), null, r.baseline(), true, r.optimizer(), r.learningRate(),
                r.seed(), r.fineTuneEpochs() != null ? r.fineTuneEpochs() : 0, r.fineTuneLearningRate(), 0));
        List<Integer> budgets = r.budgets();
        if (budgets == null || budgets.isEmpty() || budgets.size() > MAX_BUDGETS) {
            throw ProblemException.invalidField("budgets", "budgets must list 1 to " + MAX_BUDGETS
                    + " label budgets (images per class, 0 for all), got "
                    + (budgets == null ? "none" : budgets.size()));
        }
        Set<Integer> seen = new HashSet<>();
        int largest = 0;
        for (Integer b : budgets) {
            if (b == null || b < 0) {
                throw ProblemException.invalidField("budgets", "every budget must be 0 (all images) or a positive"
                        + " number of images per class, got " + b);
            }
            if (!seen.add(b)) {
                throw ProblemException.invalidField("budgets", "budget " + b + " is listed twice");
            }
            largest = Math.max(largest, b);
        }
        DatasetKind kind = DatasetKind.byId(t.dataset()).orElseThrow();
        TrainingSetSizes.requireBudget("budgets", largest, kind, Path.of(t.dataDir()), t.classes());
        List<Integer> ordered = new ArrayList<>(budgets.stream().filter(b -> b > 0).sorted().toList());
        if (seen.contains(0)) {
            ordered.add(0);
        }
        return new LearningCurveParameters(r.baseModelId(), t.dataset(), t.dataDir(), t.classes(), ordered,
                t.epochs(), t.batchSize(), t.optimizer(), t.learningRate(), t.seed(), t.baseline(),
                t.fineTuneEpochs(), t.fineTuneLearningRate());
    }
}
