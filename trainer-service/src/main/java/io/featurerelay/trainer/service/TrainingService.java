package io.featurerelay.trainer.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.service.jobs.JobMachinery;
import io.featurerelay.service.jobs.JobRecord;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.jobs.OutboxRecord;
import io.featurerelay.service.jobs.OutboxRelay;
import io.featurerelay.service.jobs.ReplicaConfig;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.trainer.config.TrainerConfig;
import io.featurerelay.trainer.messaging.FeatureWeightsPublisher;
import io.featurerelay.trainer.rest.TrainingRequest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.featurerelay.service.security.SigningConfig;
import io.featurerelay.service.security.SigningKeys;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Training jobs on the shared job table: validated and queued by any replica, claimed and trained by whichever
 * replica has a free worker, their envelopes published from the outbox until Kafka acknowledges them; every
 * query answers from the table, so every replica gives the same answer.
 */
@ApplicationScoped
public class TrainingService {

    private static final Logger LOG = Logger.getLogger(TrainingService.class);
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
            .withZone(ZoneOffset.UTC);

    private final TrainerConfig config;
    private final RequestValidator validator;
    private final JobMachinery jobs;
    private final TrainingJobHandler handler;
    private final Counter published;
    private final Counter publishFailures;

    public TrainingService(TrainerConfig config, DataSource dataSource, ObjectMapper json, ReplicaConfig replica,
            FeatureWeightsPublisher publisher, MeterRegistry registry, SigningConfig signing) {
        this.config = config;
        this.validator = new RequestValidator(config);
        // checked here, at start-up: without a usable key (or featurerelay.allow-unsigned) the service does not start
        List<byte[]> signingKey = SigningKeys.require("trainer.signing-key", config.signingKey().stream().toList(),
                signing.allowUnsigned());
        this.handler = new TrainingJobHandler(config, new RunMetrics(registry, config.keptRuns()),
                signingKey.isEmpty() ? null : signingKey.get(0));
        this.published = Counter.builder("featurerelay.envelopes.published")
                .description("FeatureWeights envelopes acknowledged by Kafka").register(registry);
        this.publishFailures = Counter.builder("featurerelay.envelopes.publish.failures")
                .description("Failed attempts to publish an envelope (each is retried)").register(registry);
        this.jobs = new JobMachinery(dataSource, json, replica, registry, new JobMachinery.Parts("training",
                config.concurrency(), handler, publisher, new PublishedEnvelope(), config.publish().initialBackoff(),
                config.publish().maxBackoff(), config.maxEnvelopeBytes()));
        handler.outbox(jobs.outbox(), jobs::recordAdded);
    }

    void onStart(@Observes StartupEvent event) {
        // native libraries and the training path loaded now, not in the first job's time
        NativeBackend.warmUp();
        jobs.start();
        if (config.autostart()) {
            TrainingStatus s = submit(null);
            LOG.infof("autostart: queued training %s", s.id());
        }
    }

    /** Running jobs go back to the queue: another replica (or this one, restarted) resumes them. */
    void onStop(@Observes ShutdownEvent event) {
        jobs.close();
    }

    public String replica() {
        return jobs.settings().replicaId();
    }

    public TrainingStatus submit(TrainingRequest request) {
        TrainingParameters parameters = validator.validate(request);
        String id = "base-" + ID_TIME.format(Instant.now()) + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 6);
        if (!jobs.store().insertWithinQueue(id, parameters, TrainingDetails.empty(), config.queueSize())) {
            throw ProblemException.tooManyRequests("the training queue is full (" + config.queueSize()
                    + " waiting); try again when a job has finished");
        }
        jobs.jobAdded();
        LOG.infof("queued training %s: %s", id, parameters);
        return get(id);
    }

    public List<TrainingStatus> list() {
        return jobs.store().list().stream().map(this::status).toList();
    }

    public TrainingStatus get(String id) {
        return status(row(id));
    }

    public TrainingStatus cancel(String id) {
        JobRecord before = row(id);
        if (before.state() != JobState.QUEUED && before.state() != JobState.RUNNING) {
            throw ProblemException.conflict("training " + id + " is " + before.state()
                    + " and can no longer be cancelled");
        }
        return status(jobs.store().requestCancel(id).orElseThrow(() -> ProblemException.notFound("training", id)));
    }

    /** Streams an artifact of a training to {@code out}; 404 when the training has none (yet). */
    public void download(String id, String artifact, OutputStream out) {
        jobs.artifacts().read(id, artifact, (in, bytes) -> in.transferTo(out));
    }

    /** Checks that {@code id} exists and has {@code artifact}, before a download's response starts. */
    public void requireArtifact(String id, String artifact, String what) {
        row(id);
        if (!jobs.artifacts().exists(id, artifact)) {
            throw new ProblemException(404, "Not found", "training " + id + " has no " + what + " (yet)", null);
        }
    }

    public static String modelArtifact() {
        return TrainingJobHandler.MODEL;
    }

    public static String envelopeArtifact() {
        return TrainingJobHandler.ENVELOPE;
    }

    private JobRecord row(String id) {
        return jobs.store().find(id).orElseThrow(() -> ProblemException.notFound("training", id));
    }

    private TrainingStatus status(JobRecord row) {
        return TrainingStatus.of(row, jobs.store().read(row.parameters(), TrainingParameters.class),
                jobs.store().read(row.details(), TrainingDetails.class));
    }

    /** The job's bookkeeping once Kafka has its envelope: SUCCEEDED with where it landed. */
    private final class PublishedEnvelope implements OutboxRelay.PublishedHook {

        @Override
        public void published(Connection c, OutboxRecord record, OutboxRelay.Delivery delivery) throws SQLException {
            JobRecord row = jobs.store().find(c, record.jobId()).orElseThrow();
            TrainingDetails details = jobs.store().read(row.details(), TrainingDetails.class)
                    .published(new TrainingStatus.Published(delivery.topic(), delivery.partition(), delivery.offset(),
                            Instant.now()));
            jobs.store().finishUnowned(c, record.jobId(), JobState.PUBLISH_PENDING, JobState.SUCCEEDED, null,
                    details);
            published.increment();
            LOG.infof("published %s to %s-%d at offset %d", record.jobId(), delivery.topic(), delivery.partition(),
                    delivery.offset());
        }

        @Override
        public void failed(OutboxRecord record, Throwable failure) {
            publishFailures.increment();
            try {
                jobs.store().database().transaction(c -> {
                    JobRecord row = jobs.store().find(c, record.jobId()).orElseThrow();
                    TrainingDetails details = jobs.store().read(row.details(), TrainingDetails.class).publishFailed();
                    try (PreparedStatement s = c.prepareStatement(
                            "UPDATE jobs SET details = ?::jsonb WHERE id = ? AND state = 'PUBLISH_PENDING'")) {
                        s.setString(1, jobs.store().json().writeValueAsString(details));
                        s.setString(2, record.jobId());
                        return s.executeUpdate();
                    }
                });
            } catch (RuntimeException e) {
                LOG.debugf("publish attempt of %s not counted: %s", record.jobId(), e.getMessage());
            }
        }
    }
}
