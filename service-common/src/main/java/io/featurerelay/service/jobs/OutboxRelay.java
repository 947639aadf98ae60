package io.featurerelay.service.jobs;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jboss.logging.Logger;

/**
 * Sends the outbox's records to Kafka from one thread per replica: claims a record under a lease, sends it,
 * and marks it published (with the service's own bookkeeping, in one transaction) when Kafka acknowledges it;
 * a failed send is retried with doubling back-off. Whichever replica is up sends what a dead one left.
 */
public final class OutboxRelay implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(OutboxRelay.class);

    /** Where Kafka put a record. */
    public record Delivery(String topic, int partition, long offset) {
    }

    /** The Kafka side: sends a record, and finds one an earlier attempt may have delivered. */
    public interface RecordSender {
        CompletionStage<Delivery> send(OutboxRecord record, byte[] value);

        /**
         * For a record whose earlier send may have reached the broker without its acknowledgement reaching us:
         * where it is on the topic, or empty when it is not there (then it is sent).
         */
        default Optional<Delivery> find(OutboxRecord record) {
            return Optional.empty();
        }
    }

    /** The service's bookkeeping of a published record, in the transaction that marks it published. */
    public interface PublishedHook {
        void published(Connection c, OutboxRecord record, Delivery delivery) throws SQLException;

        /** A send failed (it is retried); for status and metrics. */
        default void failed(OutboxRecord record, Throwable failure) {
        }
    }

    private final Outbox outbox;
    private final ArtifactStore artifacts;
    private final Database database;
    private final String owner;
    private final RecordSender sender;
    private final PublishedHook hook;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final long maxValueBytes;
    private final Object wake = new Object();
    private Thread thread;
    private volatile boolean stopped;

    public OutboxRelay(JobStore store, ArtifactStore artifacts, String owner, RecordSender sender,
            PublishedHook hook, Duration initialBackoff, Duration maxBackoff, long maxValueBytes) {
        this.outbox = new Outbox(store);
        this.artifacts = artifacts;
        this.database = store.database();
        this.owner = owner;
        this.sender = sender;
        this.hook = hook;
        this.initialBackoff = initialBackoff;
        this.maxBackoff = maxBackoff;
        this.maxValueBytes = maxValueBytes;
    }

    public Outbox outbox() {
        return outbox;
    }

    public void start(String name) {
        thread = new Thread(this::loop, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** A record was just added by this replica. */
    public void wake() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    private void loop() {
        try {
            outbox.release(owner);
        } catch (RuntimeException e) {
            LOG.debugf("outbox: earlier sends of %s not released: %s", owner, e.getMessage());
        }
        while (!stopped) {
            try {
                Optional<OutboxRecord> next = outbox.claim(owner, sendLease());
                if (next.isEmpty()) {
                    await(500);
                    continue;
                }
                relay(next.get());
            } catch (StoreUnavailableException e) {
                LOG.warnf("outbox: the database is unavailable (%s); retrying", e.getMessage());
                await(2000);
            } catch (RuntimeException e) {
                LOG.errorf(e, "outbox: relaying failed");
                await(2000);
            }
        }
    }

    /** Long enough for one send with Kafka's delivery timeout. */
    private Duration sendLease() {
        return Duration.ofSeconds(60);
    }

    private void relay(OutboxRecord record) {
        if (record.inDoubt()) {
            Optional<Delivery> earlier;
            try {
                earlier = sender.find(record);
            } catch (RuntimeException e) {
                // unknown whether Kafka has it: not sent again until it can be told
                hook.failed(record, e);
                outbox.failed(record.id(), owner, "cannot tell whether an earlier send arrived: " + e.getMessage(),
                        backoff(Math.max(1, record.attempts())), true);
                return;
            }
            if (earlier.isPresent()) {
                LOG.infof("outbox: %s of %s is on %s-%d at %d already (an earlier send's acknowledgement was lost)",
                        record.topic(), record.jobId(), earlier.get().topic(), earlier.get().partition(),
                        earlier.get().offset());
                markPublished(record, earlier.get());
                return;
            }
        }
        outbox.attempting(record.id(), owner, sendLease());
        try {
            byte[] value = record.value() != null ? record.value() : artifacts.read(record.jobId(),
                    record.artifact(), (in, bytes) -> {
                        if (bytes > maxValueBytes) {
                            throw new java.io.IOException("artifact " + record.artifact() + " has " + bytes
                                    + " bytes, more than the " + maxValueBytes + " a record may carry");
                        }
                        return in.readNBytes((int) bytes);
                    }).orElseThrow(() -> new IllegalStateException("job " + record.jobId() + " has no artifact "
                            + record.artifact()));
            Delivery delivery = sender.send(record, value).toCompletableFuture().get(90, TimeUnit.SECONDS);
            markPublished(record, delivery);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            if (cause instanceof StoreUnavailableException unavailable) {
                throw unavailable;
            }
            Duration retry = backoff(record.attempts() + 1);
            LOG.warnf("outbox: sending %s of %s failed (attempt %d: %s); retrying in %d ms", record.topic(),
                    record.jobId(), record.attempts() + 1, cause.getMessage(), retry.toMillis());
            hook.failed(record, cause);
            outbox.failed(record.id(), owner, String.valueOf(cause.getMessage()), retry, timedOut(cause));
        }
    }

    private void markPublished(OutboxRecord record, Delivery delivery) {
        long backoff = 500;
        while (true) {
            try {
                database.transaction(c -> {
                    outbox.published(c, record.id(), delivery.partition(), delivery.offset());
                    hook.published(c, record, delivery);
                    return null;
                });
                return;
            } catch (StoreUnavailableException e) {
                // Kafka has it; until the database says so, a resend would duplicate it: keep trying to record it
                LOG.warnf("outbox: %s of %s is published but not yet recorded (%s); retrying", record.topic(),
                        record.jobId(), e.getMessage());
                if (stopped) {
                    return;
                }
                sleep(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    /** A send that timed out may have been appended all the same; one refused outright was not. */
    static boolean timedOut(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof TimeoutException || t.getClass().getSimpleName().contains("Timeout")) {
                return true;
            }
        }
        return false;
    }

    Duration backoff(int attempts) {
        long millis = initialBackoff.toMillis() << Math.min(attempts - 1, 20);
        return Duration.ofMillis(Math.min(millis, maxBackoff.toMillis()));
    }

    private void await(long millis) {
        synchronized (wake) {
            try {
                wake.wait(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopped = true;
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
