package io.featurerelay.service.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Everything one service's replica needs to take part in the shared job table, built once: the store, the
 * artifacts, the workers, the outbox relay and the job metrics. Each service gives it what is its own: the
 * handler (what a job does) and the Kafka sender of its outbox.
 */
public final class JobMachinery implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(JobMachinery.class);

    private final JobStore store;
    private final ArtifactStore artifacts;
    private final JobRunner runner;
    private final OutboxRelay relay;
    private final JobMetrics metrics;
    private final JobsSettings settings;
    private final String name;
    private final int workers;
    private volatile int pendingRecords;
    private ScheduledExecutorService counts;

    /** What a service hands over; {@code sender} and {@code hook} may be null for a service without an outbox. */
    public record Parts(String name, int workers, JobHandler handler, OutboxRelay.RecordSender sender,
            OutboxRelay.PublishedHook hook, Duration initialBackoff, Duration maxBackoff, long maxRecordBytes) {
    }

    public JobMachinery(DataSource dataSource, ObjectMapper json, ReplicaConfig config, MeterRegistry registry,
            Parts parts) {
        this.name = parts.name();
        this.workers = parts.workers();
        this.settings = config.settings();
        this.store = new JobStore(new Database(dataSource), json);
        this.artifacts = new ArtifactStore(store.database());
        this.metrics = new JobMetrics(registry);
        this.runner = new JobRunner(parts.name(), store, artifacts, settings, parts.workers(), parts.handler(),
                metrics);
        this.relay = parts.sender() == null ? null : new OutboxRelay(store, artifacts, settings.replicaId(),
                parts.sender(), parts.hook(), parts.initialBackoff(), parts.maxBackoff(), parts.maxRecordBytes());
        metrics.busyWorkers(runner);
        if (relay != null) {
            Gauge.builder("featurerelay.outbox.pending", this, m -> m.pendingRecords)
                    .description("Records waiting in the outbox for Kafka (the shared table)").register(registry);
        }
    }

    public void start() {
        LOG.infof("%s: replica %s with %d worker(s), lease %s", name, settings.replicaId(), workers,
                settings.lease());
        counts = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name + "-job-counts");
            t.setDaemon(true);
            return t;
        });
        counts.scheduleWithFixedDelay(this::refreshCounts, 0, 2, TimeUnit.SECONDS);
        runner.start();
        if (relay != null) {
            relay.start(name + "-outbox");
        }
    }

    private void refreshCounts() {
        try {
            metrics.counts(store.countByState());
            if (relay != null) {
                pendingRecords = relay.outbox().pending();
            }
        } catch (RuntimeException e) {
            LOG.debugf("job counts not refreshed: %s", e.getMessage());
        }
    }

    public JobStore store() {
        return store;
    }

    public ArtifactStore artifacts() {
        return artifacts;
    }

    public Outbox outbox() {
        return relay.outbox();
    }

    public JobsSettings settings() {
        return settings;
    }

    public JobMetrics metrics() {
        return metrics;
    }

    /** This replica submitted a job: look for work now. */
    public void jobAdded() {
        runner.wake();
    }

    /** This replica wrote an outbox record: send it now. */
    public void recordAdded() {
        if (relay != null) {
            relay.wake();
        }
    }

    @Override
    public void close() {
        if (counts != null) {
            counts.shutdownNow();
        }
        if (relay != null) {
            relay.close();
        }
        runner.close();
    }
}
