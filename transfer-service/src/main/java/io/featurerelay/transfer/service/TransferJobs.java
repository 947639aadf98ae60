package io.featurerelay.transfer.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.model.MemoryBudget;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.transfer.TransferLearner;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.Database;
import io.featurerelay.service.jobs.JobHandler;
import io.featurerelay.service.jobs.JobMachinery;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.featurerelay.service.jobs.ReplicaConfig;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.transfer.config.TransferConfig;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.featurerelay.transfer.rest.TransferRequest;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Transfer jobs on the shared job table: created for every configured target of a received base model, or by a
 * re-run request; claimed and trained by whichever replica has a free worker ({@link TransferJobHandler}); their
 * result records published from the outbox. Also this replica's part in the machinery: start, stop, metrics.
 */
@ApplicationScoped
public class TransferJobs {

    private static final Logger LOG = Logger.getLogger(TransferJobs.class);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);
    static final String MANUAL = "manual";
    static final String WITHOUT_JOBS = "featurerelay.base.models.without.jobs";

    private final TransferConfig config;
    private final JobMachinery machinery;
    private final BaseModelStore baseModels;
    private final TargetSelection targets;
    private final Map<TargetSelection.NoJob, Counter> withoutJobs = new EnumMap<>(TargetSelection.NoJob.class);

    public TransferJobs(TransferConfig config, DataSource dataSource, ObjectMapper json, ReplicaConfig replica,
            TransferResultPublisher results, MeterRegistry registry) {
        this.config = config;
        for (String name : config.targets().keySet()) {
            // a target name becomes part of job ids and the target label
            Identifier.TARGET_NAME.problem(name).ifPresent(problem -> {
                throw new IllegalArgumentException("transfer.targets." + Identifier.quote(name) + ": the name "
                        + problem + " (1-16 lowercase letters, digits and dashes: it becomes part of job ids)");
            });
        }
        this.targets = new TargetSelection(config);
        for (TargetSelection.NoJob noJob : TargetSelection.NoJob.values()) {
            withoutJobs.put(noJob, Counter.builder(WITHOUT_JOBS).tag("reason", noJob.tag)
                    .description("base models stored without a transfer job, by why").register(registry));
        }
        Database database = new Database(dataSource);
        this.baseModels = new BaseModelStore(database, json);
        RunMetrics runMetrics = new RunMetrics(registry, config.keptRuns());
        TransferJobHandler handler = new TransferJobHandler(config, baseModels, runMetrics, json);
        LearningCurveHandler curves = new LearningCurveHandler(config, baseModels, runMetrics);
        // two kinds of job on one table, told apart by their ids: no column to add, and a replica of either
        // version claims both
        JobHandler byKind = job -> (LearningCurves.isCurve(job.id()) ? curves : handler).run(job);
        this.machinery = new JobMachinery(dataSource, json, replica, registry, new JobMachinery.Parts("transfer",
                config.concurrency(), byKind, results, new ResultPublished(), Duration.ofSeconds(1),
                Duration.ofSeconds(30), 1 << 20));
        handler.outbox(machinery.outbox(), machinery::recordAdded);
    }

    void onStart(@Observes StartupEvent event) {
        NativeBackend.warmUp();
        // before the first job is claimed: its featurizing then runs compiled code from its first batch
        new TransferLearner(NetworkFactory.standard()).warmUpFeaturizing();
        machinery.start();
    }

    /** Running jobs go back to the queue: another replica (or this one, restarted) resumes them. */
    void onStop(@Observes ShutdownEvent event) {
        machinery.close();
    }

    JobMachinery machinery() {
        return machinery;
    }

    Database database() {
        return machinery.store().database();
    }

    BaseModelStore baseModels() {
        return baseModels;
    }

    void jobsAdded() {
        machinery.jobAdded();
    }

    TargetSelection targets() {
        return targets;
    }

    static DatasetKind dataset(String id, String where) {
        return DatasetKind.byId(id).orElseThrow(() -> new IllegalStateException(where + ": unknown dataset " + id));
    }

    /**
     * The jobs of a base model just stored, in the intake's transaction; returns their ids. With no job to start,
     * the registry notes why and the no-job counter counts it.
     */
    List<String> createTargetJobs(Connection c, BaseModel base, TargetSelection.Plan plan) throws SQLException {
        List<String> created = new ArrayList<>();
        for (TargetSelection.Planned target : plan.targets()) {
            String id = "transfer-" + base.id().replaceFirst("^base-", "") + "-" + base.sha256().substring(0, 6) + "-"
                    + target.name();
            if (id.length() <= 127 && machinery.store().insert(c, id, target.parameters(), TransferDetails.of(base))) {
                created.add(id);
            }
        }
        if (created.isEmpty()) {
            TargetSelection.NoJob noJob = plan.targets().isEmpty() ? plan.noJob() : TargetSelection.NoJob.JOBS_EXIST;
            String reason = plan.targets().isEmpty() ? plan.reason() : "its target jobs exist already";
            baseModels.noJobs(c, base.id(), base.sha256(), reason);
            withoutJobs.get(noJob).increment();
        }
        return created;
    }

    /** The configured memory budget of one network, or the one the JVM's limits give. */
    static MemoryBudget budget(TransferConfig config) {
        return config.maxTrainingBytes().map(MemoryBudget::withMaximum).orElseGet(MemoryBudget::fromJvmLimits);
    }

    /** A re-run from a stored base model with other classes, epochs or head mode. */
    public TransferStatus rerun(TransferRequest request) {
        BaseModel base = storedBase(request == null ? null : request.baseModelId());
        TransferParameters parameters = validated(request, base);
        String id = "transfer-" + ID_TIME.format(Instant.now()) + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        boolean accepted = machinery.store().insertWithinQueue(id, parameters, TransferDetails.of(base),
                config.queueSize());
        if (!accepted) {
            throw ProblemException.tooManyRequests("the transfer queue is full (" + config.queueSize()
                    + " waiting); try again when a job has finished");
        }
        jobsAdded();
        LOG.infof("queued re-run %s from %s: %s", id, base.id(), parameters);
        return status(machinery.store().find(id).orElseThrow());
    }

    /** The latest stored envelope of base model {@code baseModelId}, or a 400 naming {@code baseModelId}. */
    BaseModel storedBase(String baseModelId) {
        if (baseModelId == null || baseModelId.isBlank()) {
            throw ProblemException.invalidField("baseModelId", "baseModelId is required");
        }
        Identifier.BASE_MODEL_ID.require("baseModelId", baseModelId);
        return baseModels.latest(baseModelId).orElseThrow(() -> ProblemException.invalidField("baseModelId",
                "no stored base model " + baseModelId + "; GET /api/v1/base-models lists them"));
    }

    /**
     * A re-run request (or a learning curve's) checked against its stored base model, whose target task gives
     * the defaults: every field filled in, or a 400 naming the field.
     */
    TransferParameters validated(TransferRequest request) {
        return validated(request, storedBase(request == null ? null : request.baseModelId()));
    }

    private TransferParameters validated(TransferRequest request, BaseModel base) {
        TransferParameters parameters = RerunValidator.validate(request, rerunDefaults(base), targets,
                config.maxEpochs(), config.maxBatchSize());
        FeatureWeights weights = new FeatureWeightsCodec(new DecodeLimits(config.maxEnvelopeBytes(), 1 << 20))
                .decode(baseModels.envelope(base.id(), base.sha256()));
        // the scratch baseline trains every layer of the base's spec: the larger of the job's two networks
        ModelSpec spec = weights.header().spec().withNumClasses(parameters.classes().size());
        try {
            budget(config).check(spec, parameters.batchSize());
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalidField("batchSize", "base model " + base.id() + ": " + e.getMessage());
        }
        if (parameters.fineTuneEpochs() > 0) {
            requireFineTunable(base, weights);
        }
        return parameters;
    }

    /**
     * Fine-tuning unfreezes the base's feature layers; a base model whose envelope carries none (a head-only
     * model) has nothing to unfreeze, so fine-tuning it would only train the head again: a 400.
     */
    private static void requireFineTunable(BaseModel base, FeatureWeights weights) {
        boolean carried = !weights.header().featureLayers().isEmpty()
                && weights.parameters().keySet().containsAll(weights.header().featureLayers());
        if (!carried) {
            throw ProblemException.invalidField("fineTuneEpochs", "base model " + base.id() + " carries no feature"
                    + " layers to unfreeze (a head-only model): fine-tuning needs them; send fineTuneEpochs 0");
        }
    }

    public TransferStatus cancel(String id) {
        JobRecord before = row(id);
        if (before.state() != JobState.QUEUED && before.state() != JobState.RUNNING) {
            throw ProblemException.conflict("transfer " + id + " is " + before.state()
                    + " and can no longer be cancelled");
        }
        return status(machinery.store().requestCancel(id).orElseThrow(() -> ProblemException.notFound("transfer",
                id)));
    }

    /**
     * What a re-run from {@code base} trains where the request is silent: the first target task the base feeds (a
     * configured one that fits, or the derived one); with none, the request must name dataset and classes.
     */
    private RerunValidator.Defaults rerunDefaults(BaseModel base) {
        TargetSelection.Plan plan = targets.plan(base);
        if (!plan.targets().isEmpty()) {
            TransferParameters p = plan.targets().get(0).parameters();
            TransferConfig.TrainingSettings settings = p.target().equals(TargetSelection.DERIVED)
                    ? config.derivedTarget() : config.targets().get(p.target());
            return new RerunValidator.Defaults(p.dataset(), java.nio.file.Path.of(p.dataDir()), p.classes(), settings,
                    null);
        }
        return new RerunValidator.Defaults(null, null, null, config.derivedTarget(), plan.reason());
    }

    public TransferConfig config() {
        return config;
    }

    /** A transfer's row; a learning curve's id is no transfer's (404). */
    JobRecord row(String id) {
        return (LearningCurves.isCurve(id) ? java.util.Optional.<JobRecord>empty() : machinery.store().find(id))
                .orElseThrow(() -> ProblemException.notFound("transfer", id));
    }

    TransferStatus status(JobRecord row) {
        return TransferStatus.of(row, machinery.store().read(row.parameters(), TransferParameters.class),
                machinery.store().read(row.details(), TransferDetails.class));
    }

    /** Once Kafka has a result record, the job says so. */
    private final class ResultPublished implements OutboxRelay.PublishedHook {
        @Override
        public void published(Connection c, OutboxRecord record, OutboxRelay.Delivery delivery) throws SQLException {
            try (PreparedStatement s = c.prepareStatement(
                    "UPDATE jobs SET details = jsonb_set(details, '{resultPublished}', 'true') WHERE id = ?")) {
                s.setString(1, record.jobId());
                s.executeUpdate();
            }
        }
    }
}
