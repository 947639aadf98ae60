package io.featurerelay.trainer.service;

import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
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
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.DurableFiles;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.trainer.config.TrainerConfig;
import io.featurerelay.trainer.messaging.FeatureWeightsPublisher;
import io.featurerelay.trainer.rest.TrainingRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Training jobs: validated, queued on a bounded worker pool (never the event loop), trained, stored, and
 * their envelopes published until Kafka acknowledges them, across restarts too.
 */
@ApplicationScoped
public class TrainingService {

    private static final Logger LOG = Logger.getLogger(TrainingService.class);
    static final String ROLE = "base";
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final TrainerConfig config;
    private final ModelStore store;
    private final FeatureWeightsPublisher publisher;
    private final MeterRegistry registry;
    private final RunMetrics runMetrics;
    private final RequestValidator validator;
    private final NetworkFactory factory = NetworkFactory.standard();
    private final FeatureWeightsCodec codec = new FeatureWeightsCodec();
    private final Map<String, TrainingJob> jobs = new ConcurrentHashMap<>();
    private final Counter published;
    private final Counter publishFailures;
    private ThreadPoolExecutor workers;
    private ScheduledExecutorService retries;

    public TrainingService(TrainerConfig config, ModelStore store, FeatureWeightsPublisher publisher,
            MeterRegistry registry) {
        this.config = config;
        this.store = store;
        this.publisher = publisher;
        this.registry = registry;
        this.runMetrics = new RunMetrics(registry, config.keptRuns());
        this.validator = new RequestValidator(config);
        this.published = Counter.builder("featurerelay.envelopes.published")
                .description("FeatureWeights envelopes acknowledged by Kafka").register(registry);
        this.publishFailures = Counter.builder("featurerelay.envelopes.publish.failures")
                .description("Failed attempts to publish an envelope (each is retried)").register(registry);
        for (JobState s : JobState.values()) {
            registry.gauge("featurerelay.jobs", Tags.of("state", s.name()), this, svc -> svc.count(s));
        }
    }

    void onStart(@Observes StartupEvent event) {
        // native libraries and the training path loaded now, not in the first job's time
        NativeBackend.warmUp();
        AtomicInteger threads = new AtomicInteger();
        workers = new ThreadPoolExecutor(config.concurrency(), config.concurrency(), 0, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(Math.max(1, config.queueSize())),
                r -> daemon(new Thread(r, "training-worker-" + threads.incrementAndGet())));
        retries = Executors.newSingleThreadScheduledExecutor(r -> daemon(new Thread(r, "envelope-publisher")));
        recover();
        if (config.autostart()) {
            TrainingStatus s = submit(null);
            LOG.infof("autostart: queued training %s", s.id());
        }
    }

    /** Daemon threads: a training in progress must not keep a stopping JVM alive. */
    private static Thread daemon(Thread t) {
        t.setDaemon(true);
        return t;
    }

    /**
     * Running jobs stay RUNNING in the store and are reported as interrupted at the next start; stored
     * envelopes not yet acknowledged are published again then.
     */
    void onStop(@Observes ShutdownEvent event) {
        if (workers != null) {
            workers.shutdownNow();
            retries.shutdownNow();
        }
    }

    /** Jobs of an earlier run: finished ones are listed again, pending envelopes are published again. */
    private void recover() {
        for (TrainingStatus status : store.loadAll()) {
            TrainingJob job = TrainingJob.restore(status);
            jobs.put(job.id(), job);
            switch (status.state()) {
                case QUEUED, RUNNING -> {
                    job.finish(JobState.FAILED, "the trainer stopped before this job finished; submit it again");
                    store.saveStatus(job);
                }
                case PUBLISH_PENDING -> {
                    LOG.infof("publishing the stored envelope of %s again", job.id());
                    publish(job, config.publish().initialBackoff());
                }
                default -> {
                }
            }
        }
    }

    public TrainingStatus submit(TrainingRequest request) {
        TrainingParameters parameters = validator.validate(request);
        String id = "base-" + ID_TIME.format(Instant.now()) + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        TrainingJob job = new TrainingJob(id, parameters, Instant.now());
        jobs.put(id, job);
        store.saveStatus(job);
        try {
            workers.execute(() -> run(job));
        } catch (RejectedExecutionException e) {
            jobs.remove(id);
            store.delete(id);
            throw ProblemException.tooManyRequests("the training queue is full (" + config.queueSize()
                    + " waiting); try again when a job has finished");
        }
        LOG.infof("queued training %s: %s", id, parameters);
        return job.snapshot();
    }

    public List<TrainingStatus> list() {
        return jobs.values().stream().map(TrainingJob::snapshot)
                .sorted(Comparator.comparing(TrainingStatus::createdAt).reversed()).toList();
    }

    public TrainingStatus get(String id) {
        return job(id).snapshot();
    }

    public TrainingStatus cancel(String id) {
        TrainingJob job = job(id);
        if (!job.requestCancel()) {
            throw ProblemException.conflict("training " + id + " is " + job.state() + " and can no longer be cancelled");
        }
        store.saveStatus(job);
        return job.snapshot();
    }

    /** The saved full model of a finished training. */
    public Path model(String id) {
        job(id);
        Path model = store.model(id);
        if (!Files.exists(model)) {
            throw new ProblemException(404, "Not found", "training " + id + " has no saved model (yet)", null);
        }
        return model;
    }

    /** The stored envelope of a finished training. */
    public Path envelope(String id) {
        job(id);
        Path envelope = store.envelope(id);
        if (!Files.exists(envelope)) {
            throw new ProblemException(404, "Not found", "training " + id + " has no envelope (yet)", null);
        }
        return envelope;
    }

    private TrainingJob job(String id) {
        TrainingJob job = jobs.get(id);
        if (job == null) {
            throw ProblemException.notFound("training", id);
        }
        return job;
    }

    int count(JobState state) {
        return (int) jobs.values().stream().filter(j -> j.state() == state).count();
    }

    private void run(TrainingJob job) {
        if (!job.start()) {
            return;
        }
        TrainingParameters p = job.parameters();
        String id = job.id();
        try {
            store.saveStatus(job);
            TrainTestSplit data = DatasetKind.byId(p.dataset()).orElseThrow()
                    .load(Path.of(p.dataDir())).subset(p.classes());
            ModelSpec spec = p.spec() != null ? p.spec() : ModelSpec.forInput(data.shape(), p.classes().size());
            Hyperparameters hp = new Hyperparameters(Optimizer.byId(p.optimizer()).orElseThrow(), p.learningRate(),
                    p.seed());
            Network network = factory.create(spec, hp);
            job.summary(network.summary());
            runMetrics.parameters(id, ROLE, network.summary());
            runMetrics.info(id, "kind", ROLE, "dataset", p.dataset(), "classes", p.classes().toString());
            LOG.infof("training %s on %d images of %s, %d epochs", id, data.train().size(), data.classNames(),
                    p.epochs());
            TrainingHistory history = Trainer.train(network, TrainingData.of(data.train()),
                    TrainingData.of(data.test()), new TrainingConfig(p.epochs(), p.batchSize(), hp),
                    new JobListener(job), job::cancelRequested);
            runMetrics.finished(id, ROLE, history.trainingSeconds(), history.imagesPerSecond(data.train().size()));

            DurableFiles.write(store.model(id), network::save);
            byte[] envelope = codec.encode(id, Instant.now(),
                    new DatasetInfo(p.dataset(), p.classes(), data.classNames(), spec.inputShape(),
                            DatasetInfo.PIXELS_OVER_255),
                    spec, network.parameters(spec.parameterShapes().keySet()), history.epochs(),
                    history.trainingSeconds());
            String signature = config.signingKey()
                    .map(k -> FeatureWeightsCodec.sign(envelope, k.getBytes(StandardCharsets.UTF_8))).orElse(null);
            store.saveEnvelope(id, envelope, signature);
            job.trained(history.trainingSeconds(), FeatureWeightsCodec.sha256(envelope));
            store.saveStatus(job);
            LOG.infof("training %s done: validation accuracy %.4f; envelope of %d bytes stored, publishing", id,
                    history.last().validationAccuracy(), envelope.length);
            publish(job, config.publish().initialBackoff());
        } catch (TrainingCancelledException e) {
            job.finish(JobState.CANCELLED, null);
            LOG.infof("training %s cancelled", id);
        } catch (DatasetException e) {
            job.finish(JobState.FAILED, e.getMessage());
            LOG.errorf("training %s failed: %s", id, e.getMessage());
        } catch (Exception e) {
            job.finish(JobState.FAILED, e.getClass().getSimpleName() + ": " + e.getMessage());
            LOG.errorf(e, "training %s failed", id);
        } finally {
            if (job.state().isFinal()) {
                finished(job);
            }
        }
    }

    private void finished(TrainingJob job) {
        store.saveStatus(job);
        registry.counter("featurerelay.jobs.finished", "outcome", job.state().name().toLowerCase()).increment();
    }

    /** Sends the stored envelope; on failure schedules another try with doubled back-off. */
    private void publish(TrainingJob job, Duration backoff) {
        byte[] envelope;
        String signature;
        try {
            envelope = store.readEnvelope(job.id());
            signature = store.readSignature(job.id()).orElse(null);
        } catch (Exception e) {
            job.finish(JobState.FAILED, "the stored envelope cannot be read: " + e.getMessage());
            finished(job);
            return;
        }
        int attempt = job.publishAttempted();
        publisher.publish(job.id(), envelope, signature).whenComplete((delivery, failure) -> {
            if (failure == null) {
                job.published(new TrainingStatus.Published(delivery.topic(), delivery.partition(), delivery.offset(),
                        Instant.now()));
                published.increment();
                finished(job);
                LOG.infof("published %s to %s-%d at offset %d", job.id(), delivery.topic(), delivery.partition(),
                        delivery.offset());
            } else {
                publishFailures.increment();
                Duration next = backoff.multipliedBy(2).compareTo(config.publish().maxBackoff()) > 0
                        ? config.publish().maxBackoff() : backoff.multipliedBy(2);
                LOG.warnf("publishing %s failed (attempt %d: %s); retrying in %d ms", job.id(), attempt,
                        failure.getMessage(), backoff.toMillis());
                store.saveStatus(job);
                try {
                    retries.schedule(() -> publish(job, next), backoff.toMillis(), TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException shuttingDown) {
                    LOG.infof("%s stays PUBLISH_PENDING; it is published again at the next start", job.id());
                }
            }
        });
    }

    /** Feeds a job's progress to its status, the metrics and (every 10 s) the log. */
    private final class JobListener implements TrainingListener {

        private final TrainingJob job;
        private long lastLog = System.nanoTime();

        JobListener(TrainingJob job) {
            this.job = job;
        }

        @Override
        public void onBatch(BatchProgress progress) {
            job.progress(progress);
            runMetrics.progress(job.id(), ROLE, progress);
            long now = System.nanoTime();
            if (now - lastLog > LOG_INTERVAL_NANOS) {
                lastLog = now;
                LOG.infof("training %s: epoch %d/%d batch %d/%d, %.0f images/s, ETA %.0f s", job.id(),
                        progress.epoch(), progress.epochs(), progress.batch(), progress.batches(),
                        progress.imagesPerSecond(), progress.etaSeconds());
            }
        }

        @Override
        public void onEpoch(EpochResult result) {
            job.epoch(result);
            runMetrics.epoch(job.id(), ROLE, result);
            store.saveStatus(job);
        }
    }
}
