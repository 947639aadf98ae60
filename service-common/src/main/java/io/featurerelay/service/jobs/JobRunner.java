package io.featurerelay.service.jobs;

import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.training.TrainingCancelledException;
import io.featurerelay.learning.wire.EnvelopeException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * One replica's workers: claims waiting jobs from the shared table while a worker is free (polling, and woken
 * at once when this replica submits one), runs them on its own threads (never the event loop), renews their
 * leases, passes cancellations on, and ends every job whose handler threw, an Error included, with its reason.
 * A job whose replica dies keeps its lease until it expires; then any replica claims it and its handler resumes it
 * from its last checkpoint.
 */
public final class JobRunner implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(JobRunner.class);

    private final String name;
    private final JobStore store;
    private final ArtifactStore artifacts;
    private final String replica;
    private final int workers;
    private final Duration lease;
    private final Duration pollInterval;
    private final int maxAttempts;
    private final JobHandler handler;
    private final JobEvents events;
    private final DiskReserve reserve;
    private final Semaphore free;
    private final Map<String, RunningJob> running = new ConcurrentHashMap<>();
    private final Object wake = new Object();
    private ExecutorService pool;
    private ScheduledExecutorService heartbeat;
    private Thread dispatcher;
    private volatile boolean stopped;

    /** What the runner reports (metrics, logs). */
    public interface JobEvents {
        default void finished(String jobId, JobState outcome) {
        }

        default void resumed(String jobId, int attempt) {
        }
    }

    public JobRunner(String name, JobStore store, ArtifactStore artifacts, JobsSettings settings, int workers,
            JobHandler handler, JobEvents events) {
        this.name = name;
        this.store = store;
        this.artifacts = artifacts;
        this.replica = settings.replicaId();
        this.workers = workers;
        this.lease = settings.lease();
        this.pollInterval = settings.pollInterval();
        this.maxAttempts = settings.maxAttempts();
        this.handler = handler;
        this.events = events;
        this.reserve = new DiskReserve(store.database(), settings.diskReserveMib());
        this.free = new Semaphore(workers);
    }

    public String replica() {
        return replica;
    }

    /** This replica's jobs in progress. */
    public int busy() {
        return running.size();
    }

    public void start() {
        AtomicInteger threads = new AtomicInteger();
        pool = Executors.newFixedThreadPool(workers, r -> daemon(new Thread(r, name + "-worker-" + threads.incrementAndGet())));
        heartbeat = Executors.newSingleThreadScheduledExecutor(r -> daemon(new Thread(r, name + "-lease")));
        long renewMillis = Math.max(100, lease.toMillis() / 4);
        heartbeat.scheduleWithFixedDelay(this::renewLeases, renewMillis, renewMillis, TimeUnit.MILLISECONDS);
        try {
            // an earlier process under this replica id died holding jobs: give them back at once
            int released = store.release(replica);
            if (released > 0) {
                LOG.infof("%d job(s) held by an earlier run of replica %s are queued again", released, replica);
            }
        } catch (StoreUnavailableException e) {
            LOG.warnf("cannot release earlier jobs of %s yet: %s", replica, e.getMessage());
        }
        dispatcher = daemon(new Thread(this::dispatch, name + "-dispatcher"));
        dispatcher.start();
    }

    /** A daemon: a training in progress must not keep a stopping JVM alive (its lease lets another resume it). */
    private static Thread daemon(Thread t) {
        t.setDaemon(true);
        return t;
    }

    /** Looks for work now (this replica just submitted a job). */
    public void wake() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void dispatch() {
        reserve.refill();
        long backoff = pollInterval.toMillis();
        while (!stopped) {
            try {
                free.acquire();
                Optional<JobRecord> claimed;
                try {
                    claimed = store.claim(replica, lease);
                } catch (RuntimeException e) {
                    free.release();
                    throw e;
                }
                if (claimed.isEmpty()) {
                    free.release();
                    await(pollInterval.toMillis());
                    continue;
                }
                backoff = pollInterval.toMillis();
                RunningJob job = new RunningJob(claimed.get(), replica, store, artifacts);
                running.put(job.id(), job);
                pool.execute(() -> {
                    try {
                        run(job);
                    } finally {
                        running.remove(job.id());
                        free.release();
                        wake();
                    }
                });
            } catch (InterruptedException e) {
                return;
            } catch (StoreUnavailableException e) {
                LOG.warnf("%s: cannot claim jobs (%s); retrying in %d ms", name, e.getMessage(), backoff);
                await(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            } catch (RuntimeException e) {
                LOG.errorf(e, "%s: claiming jobs failed", name);
                await(backoff);
            }
        }
    }

    private void await(long millis) {
        synchronized (wake) {
            try {
                wake.wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run(RunningJob job) {
        String id = job.id();
        if (job.attempt() > 1) {
            events.resumed(id, job.attempt());
            LOG.infof("%s: job %s resumed on %s (attempt %d)", name, id, replica, job.attempt());
        }
        if (job.record().takeovers() >= maxAttempts) {
            end(job, JobState.FAILED, "gave up after " + job.record().takeovers() + " takeovers: every replica that"
                    + " ran it died before it finished");
            return;
        }
        // taken back here, after a failure gave it away, once there is room again
        reserve.refill();
        try {
            handler.run(job);
            if (!job.finished()) {
                end(job, JobState.FAILED, "the job ended without a result");
            }
        } catch (TrainingCancelledException | JobLostException e) {
            if (job.lost()) {
                LOG.infof("%s: job %s is held by another replica now; stopped here", name, id);
            } else if (job.stopping()) {
                LOG.infof("%s: job %s stopped by the shutdown; another replica resumes it", name, id);
            } else {
                end(job, JobState.CANCELLED, null);
                LOG.infof("%s: job %s cancelled", name, id);
            }
        } catch (Throwable e) {
            if (job.stopping()) {
                LOG.infof("%s: job %s interrupted by the shutdown (%s); another replica resumes it", name, id, e);
            } else if (Database.diskFull(e).isPresent()) {
                // a full disk is no outage: resumed, the job would fail the same way at the same write, until the
                // takeover limit ended it with a reason that names dead replicas instead of the disk
                String reason = "the database's disk is full (SQLSTATE " + Database.DISK_FULL + "): "
                        + Database.diskFull(e).get();
                LOG.errorf("%s: job %s failed: %s", name, id, reason);
                end(job, JobState.FAILED, reason);
            } else if (Database.unavailable(e)) {
                // the job keeps its state: its lease runs out and it resumes from its last checkpoint
                job.markLost();
                LOG.warnf("%s: job %s could not be stored (%s); it resumes from its last checkpoint", name, id,
                        e.getMessage());
            } else {
                String reason = reason(e);
                if (e instanceof DatasetException || e instanceof EnvelopeException) {
                    LOG.errorf("%s: job %s failed: %s", name, id, reason);
                } else {
                    LOG.errorf(e, "%s: job %s failed", name, id);
                }
                end(job, JobState.FAILED, reason);
            }
        }
    }

    /** The data's or the envelope's own words; otherwise what was thrown and its message. */
    static String reason(Throwable e) {
        if ((e instanceof DatasetException || e instanceof EnvelopeException) && e.getMessage() != null) {
            return e.getMessage();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /**
     * Ends a job with its last details; retried while the database is away, given up once the lease is lost. When
     * the database's disk is too full to record it, the disk reserve is given up for it first.
     */
    private void end(RunningJob job, JobState state, String reason) {
        Object details = job.lastDetails() != null ? job.lastDetails() : job.record().details();
        long backoff = 500;
        boolean reserveReleased = false;
        while (!job.lost() && !job.stopping()) {
            try {
                job.finish(state, reason, details);
                events.finished(job.id(), state);
                return;
            } catch (JobLostException e) {
                job.markLost();
            } catch (StoreUnavailableException e) {
                if (!reserveReleased && Database.diskFull(e).isPresent()) {
                    reserveReleased = true;
                    if (reserve.release()) {
                        LOG.warnf("job %s: the database's disk is full; its reserve is given up to record %s",
                                job.id(), state);
                        continue;
                    }
                }
                LOG.warnf("job %s: cannot record %s yet (%s); retrying", job.id(), state, e.getMessage());
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private void renewLeases() {
        try {
            store.heartbeat(replica, workers);
        } catch (RuntimeException e) {
            LOG.debugf("replica heartbeat failed: %s", e.getMessage());
        }
        for (RunningJob job : running.values()) {
            if (job.lost()) {
                continue;
            }
            try {
                switch (store.renew(job.id(), replica, lease)) {
                    case HELD -> {
                    }
                    case HELD_CANCEL_REQUESTED -> job.markCancelRequested();
                    case LOST -> {
                        job.markLost();
                        LOG.warnf("%s: lost the lease of %s", name, job.id());
                    }
                }
            } catch (RuntimeException e) {
                LOG.warnf("%s: cannot renew the lease of %s: %s", name, job.id(), e.getMessage());
            }
        }
    }

    /**
     * Stops claiming, tells the running jobs to stop, and gives them back to the queue, so that another replica
     * resumes them from their last checkpoint now rather than when their leases expire.
     */
    @Override
    public void close() {
        stopped = true;
        running.values().forEach(RunningJob::markStopping);
        if (dispatcher != null) {
            dispatcher.interrupt();
        }
        if (heartbeat != null) {
            heartbeat.shutdownNow();
        }
        if (pool != null) {
            pool.shutdown();
            try {
                pool.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            pool.shutdownNow();
        }
        try {
            int released = store.release(replica);
            if (released > 0) {
                LOG.infof("%s: %d running job(s) given back to the queue", name, released);
            }
        } catch (RuntimeException e) {
            LOG.warnf("%s: cannot give the running jobs back (%s); they resume when their leases expire", name,
                    e.getMessage());
        }
    }
}
