package io.featurerelay.service.jobs;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The job metrics of one replica. Jobs by state count the shared table (every replica reports the same figures:
 * aggregate them with {@code max}, not {@code sum}); finished jobs, resumptions and busy workers are this
 * replica's own.
 */
public final class JobMetrics implements JobRunner.JobEvents {

    public static final String JOBS = "featurerelay.jobs";
    public static final String FINISHED = "featurerelay.jobs.finished";
    public static final String RESUMED = "featurerelay.jobs.resumed";
    public static final String BUSY = "featurerelay.jobs.workers.busy";

    private final MeterRegistry registry;
    private final Map<JobState, AtomicInteger> byState = new ConcurrentHashMap<>();
    private final Counter resumed;

    public JobMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (JobState s : JobState.values()) {
            AtomicInteger value = new AtomicInteger();
            byState.put(s, value);
            Gauge.builder(JOBS, value, AtomicInteger::get).tags(Tags.of("state", s.name()))
                    .description("Jobs of the service by state (the shared table, the same on every replica)")
                    .register(registry);
        }
        for (JobState s : JobState.values()) {
            if (s.isFinal()) {
                // every outcome has a series from the start, so that an alert sees the first failure as an increase
                outcome(s);
            }
        }
        resumed = Counter.builder(RESUMED).description("Jobs this replica resumed after another attempt")
                .register(registry);
    }

    /** Reports this replica's busy workers. */
    public void busyWorkers(JobRunner runner) {
        Gauge.builder(BUSY, runner, JobRunner::busy).description("Jobs this replica is running")
                .register(registry);
    }

    /** Takes the current counts of the shared table. */
    public void counts(Map<JobState, Integer> counts) {
        counts.forEach((state, n) -> byState.get(state).set(n));
    }

    private Counter outcome(JobState s) {
        return Counter.builder(FINISHED).tag("outcome", s.name().toLowerCase())
                .description("Jobs this replica ended, by outcome").register(registry);
    }

    @Override
    public void finished(String jobId, JobState outcome) {
        outcome(outcome).increment();
    }

    @Override
    public void resumed(String jobId, int attempt) {
        resumed.increment();
    }
}
