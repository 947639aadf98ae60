package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageConverter;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingCancelledException;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.transfer.FeaturizedTraining;
import io.featurerelay.learning.transfer.HeadMode;
import io.featurerelay.learning.transfer.TransferLearner;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.EnvelopeException;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.DurableFiles;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.transfer.config.TransferConfig;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Receives base models (verified, stored durably, deduplicated), runs one transfer job per configured target
 * task on a worker pool (model 2 beside the scratch baseline), and answers predictions with model 2.
 */
@ApplicationScoped
public class TransferService {

    private static final Logger LOG = Logger.getLogger(TransferService.class);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final int CACHED_MODELS = 4;
    static final String MANUAL = "manual";

    /** What became of a received record. */
    public enum Receipt { ACCEPTED, DUPLICATE }

    private final TransferConfig config;
    private final TransferStore store;
    private final TransferResultPublisher results;
    private final MeterRegistry registry;
    private final RunMetrics runMetrics;
    private final FeatureWeightsCodec codec;
    private final List<byte[]> signingKeys;
    private final NetworkFactory factory = NetworkFactory.standard();
    private final Map<String, BaseModel> baseModels = new ConcurrentHashMap<>();
    private final Map<String, TransferJob> jobs = new ConcurrentHashMap<>();
    private final Map<String, Network> model2Cache = java.util.Collections.synchronizedMap(
            new LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Network> eldest) {
                    return size() > CACHED_MODELS;
                }
            });
    private ThreadPoolExecutor workers;

    public TransferService(TransferConfig config, TransferStore store, TransferResultPublisher results,
            MeterRegistry registry) {
        this.config = config;
        this.store = store;
        this.results = results;
        this.registry = registry;
        this.runMetrics = new RunMetrics(registry, config.keptRuns());
        this.codec = new FeatureWeightsCodec(new DecodeLimits(config.maxEnvelopeBytes(), 1 << 20));
        this.signingKeys = config.signingKeys().orElse(List.of()).stream().map(String::strip)
                .filter(k -> !k.isEmpty()).map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        for (JobState s : JobState.values()) {
            registry.gauge("featurerelay.jobs", Tags.of("state", s.name()), this, svc -> svc.count(s));
        }
    }

    void onStart(@Observes StartupEvent event) {
        AtomicInteger threads = new AtomicInteger();
        // unbounded: jobs that Kafka records start must never be refused; REST re-runs check queueSize themselves
        workers = new ThreadPoolExecutor(config.concurrency(), config.concurrency(), 0, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "transfer-worker-" + threads.incrementAndGet());
                    // a training in progress must not keep a stopping JVM alive: the job runs again at the next start
                    t.setDaemon(true);
                    return t;
                });
        warmUp();
        recover();
    }

    /**
     * Loads ND4J and runs the verify-and-decode path once before the first record, so that a published base
     * model becomes a running transfer within a second (measured by bench/ and PipelineIT) rather than after
     * a second or more of native loading and class initialisation.
     */
    private void warmUp() {
        long start = System.nanoTime();
        NativeBackend.warmUp();
        ModelSpec spec = new ModelSpec(List.of(1, 8, 8), List.of(2), 3, 2, 0, 4, 0, 2);
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        spec.parameterShapes().forEach((layer, arrays) -> {
            Map<String, float[]> values = new LinkedHashMap<>();
            arrays.forEach((key, shape) -> values.put(key,
                    new float[shape.stream().mapToInt(Integer::intValue).reduce(1, (a, b) -> a * b)]));
            params.put(layer, values);
        });
        byte[] envelope = codec.encode("warm-up", Instant.now(), new DatasetInfo("warm-up", List.of(0, 1),
                List.of("a", "b"), spec.inputShape(), DatasetInfo.PIXELS_OVER_255), spec, params, List.of(), 0);
        byte[] key = "warm-up".getBytes(StandardCharsets.UTF_8);
        FeatureWeightsCodec.verifySignature(envelope, FeatureWeightsCodec.sign(envelope, key), key);
        codec.decode(envelope);
        FeatureWeightsCodec.sha256(envelope);
        LOG.infof("ND4J and the envelope path warmed up in %d ms", (System.nanoTime() - start) / 1_000_000);
    }

    void onStop(@Observes ShutdownEvent event) {
        // running jobs stay RUNNING in the store, so that the next start runs them again
        if (workers != null) {
            workers.shutdownNow();
        }
    }

    /** Stored base models come back; unfinished jobs (and jobs never created) run again. */
    private void recover() {
        store.loadBaseModels().forEach(b -> baseModels.put(b.id(), b));
        for (TransferStatus status : store.loadStatuses()) {
            TransferJob job = TransferJob.restore(status);
            jobs.put(job.id(), job);
            if (!status.state().isFinal()) {
                LOG.infof("transfer %s did not finish before the last stop: running it again", job.id());
                job.requeue();
                enqueue(job);
            }
        }
        for (BaseModel base : baseModels.values()) {
            createTargetJobs(base);
        }
    }

    // ---- receiving -------------------------------------------------------------------------------------------

    /**
     * Verifies a record of the feature-weights topic and stores it durably; when this returns the offset may be
     * committed. Training is handed to the workers.
     *
     * @throws EnvelopeException naming why the record is rejected
     * @throws IOException       when the store cannot write it
     */
    public Receipt receive(String key, byte[] envelope, String signature) throws IOException {
        if (!signingKeys.isEmpty()) {
            FeatureWeightsCodec.verifySignature(envelope, signature, signingKeys);
        }
        FeatureWeights weights = codec.decode(envelope);
        String id = weights.header().baseModelId();
        if (key != null && !key.equals(id)) {
            throw new EnvelopeException.MalformedHeader("the record key " + key
                    + " differs from the envelope's base model id " + id);
        }
        for (var target : enabledTargets().entrySet()) {
            DatasetKind kind = dataset(target.getValue().dataset(), "transfer.targets." + target.getKey());
            if (kind.shape().isPresent()) {
                FeatureWeightsCodec.checkCompatible(weights, kind.shape().get());
            }
        }
        String sha = FeatureWeightsCodec.sha256(envelope);
        if (store.hasEnvelope(id, sha)) {
            LOG.infof("base model %s (%s) was received before: no new jobs", id, sha.substring(0, 12));
            return Receipt.DUPLICATE;
        }
        var h = weights.header();
        BaseModel base = new BaseModel(id, sha, h.dataset().name(), h.dataset().classes(), h.dataset().classNames(),
                h.spec().inputShape(), h.history(), h.trainingSeconds(), Instant.now(), envelope.length);
        store.saveBaseModel(base, envelope);
        baseModels.put(id, base);
        LOG.infof("stored base model %s (%d bytes, classes %s)", id, envelope.length, base.sourceClasses());
        createTargetJobs(base);
        return Receipt.ACCEPTED;
    }

    private Map<String, TransferConfig.TargetTask> enabledTargets() {
        Map<String, TransferConfig.TargetTask> out = new LinkedHashMap<>();
        config.targets().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .filter(e -> e.getValue().enabled()).forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private void createTargetJobs(BaseModel base) {
        for (var target : enabledTargets().entrySet()) {
            String id = "transfer-" + base.id().replaceFirst("^base-", "") + "-" + base.sha256().substring(0, 6) + "-"
                    + target.getKey();
            if (jobs.containsKey(id)) {
                continue;
            }
            TransferConfig.TargetTask t = target.getValue();
            DatasetKind kind = dataset(t.dataset(), "transfer.targets." + target.getKey() + ".dataset");
            TransferParameters p = new TransferParameters(target.getKey(), kind.id(),
                    t.dataDir().orElse(kind.defaultDirectory()).toString(), List.copyOf(t.classes()), t.epochs(),
                    t.batchSize(), t.head(), t.baseline(), t.featurized(), t.optimizer(), t.learningRate(), t.seed());
            TransferJob job = new TransferJob(id, base.id(), p, Instant.now(), base);
            jobs.put(id, job);
            store.saveStatus(job);
            enqueue(job);
            LOG.infof("queued transfer %s: %s from %s", id, target.getKey(), base.id());
        }
    }

    private static DatasetKind dataset(String id, String where) {
        return DatasetKind.byId(id).orElseThrow(() -> new IllegalStateException(where + ": unknown dataset " + id));
    }

    // ---- the API ---------------------------------------------------------------------------------------------

    public List<BaseModel> baseModels() {
        return baseModels.values().stream().sorted(Comparator.comparing(BaseModel::receivedAt).reversed()).toList();
    }

    public List<TransferStatus> list() {
        return jobs.values().stream().map(TransferJob::snapshot)
                .sorted(Comparator.comparing(TransferStatus::createdAt).reversed()).toList();
    }

    public TransferStatus get(String id) {
        return job(id).snapshot();
    }

    public TransferStatus cancel(String id) {
        TransferJob job = job(id);
        if (!job.requestCancel()) {
            throw ProblemException.conflict("transfer " + id + " is " + job.state() + " and can no longer be cancelled");
        }
        store.saveStatus(job);
        return job.snapshot();
    }

    /** A re-run from a stored base model with other classes, epochs or head mode. */
    public TransferStatus rerun(TransferParameters parameters, String baseModelId) {
        BaseModel base = baseModels.get(baseModelId);
        if (base == null) {
            throw ProblemException.invalidField("baseModelId", "no stored base model " + baseModelId
                    + "; GET /api/v1/base-models lists them");
        }
        if (workers.getQueue().size() >= config.queueSize()) {
            throw ProblemException.tooManyRequests("the transfer queue is full (" + config.queueSize()
                    + " waiting); try again when a job has finished");
        }
        String id = "transfer-" + ID_TIME.format(Instant.now()) + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        TransferJob job = new TransferJob(id, baseModelId, parameters, Instant.now(), base);
        jobs.put(id, job);
        store.saveStatus(job);
        enqueue(job);
        LOG.infof("queued re-run %s from %s: %s", id, baseModelId, parameters);
        return job.snapshot();
    }

    /** Defaults for a re-run: the first enabled target task, or the built-in defaults. */
    public TransferConfig.TargetTask defaultTarget() {
        return enabledTargets().values().stream().findFirst()
                .orElseGet(() -> config.targets().values().stream().findFirst().orElse(null));
    }

    public TransferConfig config() {
        return config;
    }

    private TransferJob job(String id) {
        TransferJob job = jobs.get(id);
        if (job == null) {
            throw ProblemException.notFound("transfer", id);
        }
        return job;
    }

    int count(JobState state) {
        return (int) jobs.values().stream().filter(j -> j.state() == state).count();
    }

    /** The saved model 2 of a finished transfer. */
    public Path model2File(String id) {
        job(id);
        Path file = store.model2(id);
        if (!Files.exists(file)) {
            throw new ProblemException(404, "Not found", "transfer " + id + " has no saved model 2 (yet)", null);
        }
        return file;
    }

    // ---- predictions -----------------------------------------------------------------------------------------

    public Prediction predict(String id, byte[] upload) {
        TransferJob job = job(id);
        if (job.state() != JobState.SUCCEEDED) {
            throw ProblemException.conflict("transfer " + id + " is " + job.state() + ": it has no trained model 2 yet");
        }
        if (upload == null || upload.length == 0) {
            throw ProblemException.invalidField("image", "the upload is empty: send a PNG or JPEG image as the body");
        }
        if (upload.length > config.maxUploadBytes()) {
            throw new ProblemException(413, "Payload too large", "the image has " + upload.length
                    + " bytes, more than the " + config.maxUploadBytes() + " accepted", "image");
        }
        BufferedImage image;
        try {
            image = ImageConverter.decode(upload).orElseThrow(() -> ProblemException.invalidField("image",
                    "the upload is not a PNG or JPEG image"));
        } catch (IllegalArgumentException tooLarge) {
            throw new ProblemException(413, "Payload too large", tooLarge.getMessage(), "image");
        }
        Network model2 = model2(job);
        ModelSpec spec = model2.spec();
        float[] probabilities;
        synchronized (model2) {
            probabilities = model2.output(ImageBatches.single(ImageConverter.toChw(image, spec.imageShape()),
                    spec.imageShape())).toFloatVector();
        }
        List<String> names = job.snapshot().classNames();
        List<Prediction.ClassProbability> out = new ArrayList<>();
        for (int i = 0; i < probabilities.length; i++) {
            out.add(new Prediction.ClassProbability(i, i < names.size() ? names.get(i) : Integer.toString(i),
                    probabilities[i]));
        }
        out.sort(Comparator.comparingDouble(Prediction.ClassProbability::probability).reversed());
        return new Prediction(id, out);
    }

    private Network model2(TransferJob job) {
        Network cached = model2Cache.get(job.id());
        if (cached != null) {
            return cached;
        }
        try {
            FeatureWeights weights = codec.decode(store.readEnvelope(baseModels.get(job.baseModelId())));
            ModelSpec spec = weights.header().spec().withNumClasses(job.parameters().classes().size());
            try (InputStream in = Files.newInputStream(store.model2(job.id()))) {
                Network restored = factory.restore(spec, hyperparameters(job.parameters()), in);
                model2Cache.put(job.id(), restored);
                return restored;
            }
        } catch (IOException e) {
            throw new ProblemException(500, "Internal Server Error", "model 2 of " + job.id()
                    + " cannot be read: " + e.getMessage(), null);
        }
    }

    // ---- training --------------------------------------------------------------------------------------------

    private void enqueue(TransferJob job) {
        workers.execute(() -> run(job));
    }

    private static Hyperparameters hyperparameters(TransferParameters p) {
        return new Hyperparameters(Optimizer.byId(p.optimizer()).orElse(Optimizer.ADADELTA), p.learningRate(),
                p.seed());
    }

    private void run(TransferJob job) {
        if (!job.start()) {
            return;
        }
        String id = job.id();
        TransferParameters p = job.parameters();
        try {
            store.saveStatus(job);
            BaseModel base = baseModels.get(job.baseModelId());
            FeatureWeights weights = codec.decode(store.readEnvelope(base));
            TrainTestSplit target = dataset(p.dataset(), "transfer " + id).load(Path.of(p.dataDir()))
                    .subset(p.classes());
            FeatureWeightsCodec.checkCompatible(weights, target.shape());
            Hyperparameters hp = hyperparameters(p);
            TrainingConfig training = new TrainingConfig(p.epochs(), p.batchSize(), hp);
            TransferLearner learner = new TransferLearner(factory);
            HeadMode head = HeadMode.byId(p.head()).orElse(HeadMode.FRESH);
            Network model2 = learner.model2(weights.header().spec(), weights.parameters(), p.classes().size(), head,
                    hp);
            job.prepared(target.classNames(), model2.summary());
            runMetrics.info(id, "kind", TransferJob.TRANSFER, "base_run", base.id(), "target", p.target(),
                    "dataset", p.dataset(), "classes", p.classes().toString());
            runMetrics.parameters(id, TransferJob.TRANSFER, model2.summary());
            LOG.infof("transfer %s: model 2 (%s head) on %d images of %s", id, head.id(), target.train().size(),
                    target.classNames());

            double featurizeSeconds = 0;
            TrainingHistory transferHistory;
            if (p.featurized()) {
                job.phase(TransferJob.TRANSFER, "featurizing");
                store.saveStatus(job);
                FeaturizedTraining fast = learner.trainFeaturized(model2, target, training,
                        new JobListener(job, TransferJob.TRANSFER), job::cancelRequested);
                featurizeSeconds = fast.featurizeSeconds();
                transferHistory = fast.head();
            } else {
                transferHistory = learner.trainPlain(model2, target, training,
                        new JobListener(job, TransferJob.TRANSFER), job::cancelRequested);
            }
            double transferSeconds = featurizeSeconds + transferHistory.trainingSeconds();
            job.transferDone(featurizeSeconds, transferSeconds);
            runMetrics.finished(id, TransferJob.TRANSFER, transferSeconds,
                    target.train().size() * (double) p.epochs() / transferSeconds);
            DurableFiles.write(store.model2(id), model2::save);
            model2Cache.put(id, model2);
            store.saveStatus(job);

            if (p.baseline()) {
                Network scratch = learner.scratch(weights.header().spec(), p.classes().size(), hp);
                runMetrics.parameters(id, TransferJob.SCRATCH, scratch.summary());
                job.phase(TransferJob.SCRATCH, "training");
                TrainingHistory scratchHistory = Trainer.train(scratch, TrainingData.of(target.train()),
                        TrainingData.of(target.test()), training, new JobListener(job, TransferJob.SCRATCH),
                        job::cancelRequested);
                job.scratchDone(scratchHistory.trainingSeconds());
                runMetrics.finished(id, TransferJob.SCRATCH, scratchHistory.trainingSeconds(),
                        scratchHistory.imagesPerSecond(target.train().size()));
            }
            job.finish(JobState.SUCCEEDED, null);
            LOG.infof("transfer %s done: model 2 %.4f in %.1f s%s", id, transferHistory.last().validationAccuracy(),
                    transferSeconds, p.baseline() ? String.format(", scratch %.4f in %.1f s",
                            job.snapshot().scratchHistory().get(p.epochs() - 1).validationAccuracy(),
                            job.snapshot().scratchSeconds()) : "");
            publishResult(job);
        } catch (TrainingCancelledException e) {
            job.finish(JobState.CANCELLED, null);
            LOG.infof("transfer %s cancelled", id);
        } catch (DatasetException | EnvelopeException e) {
            job.finish(JobState.FAILED, e.getMessage());
            LOG.errorf("transfer %s failed: %s", id, e.getMessage());
        } catch (Exception e) {
            if (workers.isShutdown()) {
                LOG.infof("transfer %s interrupted by the shutdown; it runs again at the next start", id);
                return;
            }
            job.finish(JobState.FAILED, e.getClass().getSimpleName() + ": " + e.getMessage());
            LOG.errorf(e, "transfer %s failed", id);
        } finally {
            if (job.state().isFinal()) {
                store.saveStatus(job);
                registry.counter("featurerelay.jobs.finished", "outcome", job.state().name().toLowerCase())
                        .increment();
            }
        }
    }

    private void publishResult(TransferJob job) {
        TransferStatus s = job.snapshot();
        TransferResult result = new TransferResult(s.id(), s.baseModelId(), s.lineage().sha256(),
                s.parameters().target(), s.parameters().classes(), s.parameters().head(), s.transferHistory(),
                s.scratchHistory(), s.featurizeSeconds(), s.transferSeconds(), s.scratchSeconds(),
                s.summary().frozenParams(), s.summary().trainableParams());
        results.publish(s.id(), result).whenComplete((ok, failure) -> {
            if (failure == null) {
                job.resultPublished();
                store.saveStatus(job);
            } else {
                LOG.warnf("the result of %s did not reach %s: %s", s.id(), TransferResultPublisher.CHANNEL,
                        failure.getMessage());
            }
        });
    }

    /** Feeds one model's progress to the job, the metrics and (every 10 s) the log. */
    private final class JobListener implements TrainingListener {

        private final TransferJob job;
        private final String role;
        private long lastLog = System.nanoTime();

        JobListener(TransferJob job, String role) {
            this.job = job;
            this.role = role;
        }

        @Override
        public void onBatch(BatchProgress progress) {
            job.progress(role, progress);
            runMetrics.progress(job.id(), role, progress);
            long now = System.nanoTime();
            if (now - lastLog > LOG_INTERVAL_NANOS) {
                lastLog = now;
                LOG.infof("transfer %s %s: epoch %d/%d batch %d/%d, %.0f images/s, ETA %.0f s", job.id(), role,
                        progress.epoch(), progress.epochs(), progress.batch(), progress.batches(),
                        progress.imagesPerSecond(), progress.etaSeconds());
            }
        }

        @Override
        public void onEpoch(EpochResult result) {
            job.epoch(role, result);
            runMetrics.epoch(job.id(), role, result);
            store.saveStatus(job);
        }
    }
}
