package io.featurerelay.service.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.postgres.PostgresProcess;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The job machinery against a real PostgreSQL (one server for the class, a fresh schema per test): a job is
 * claimed by one replica only, even when many claim at once; an expired lease lets another replica take the job
 * over and fences the old owner out; artifacts live and die with their transaction; every job ends in a final
 * state with its reason, an Error included.
 */
class JobMachineryTest {

    private static PostgresProcess postgres;
    private static String password;
    private PGSimpleDataSource dataSource;
    private JobStore store;
    private ArtifactStore artifacts;

    @BeforeAll
    static void startPostgres() {
        postgres = PostgresProcess.onFreePort();
        postgres.start();
        password = UUID.randomUUID().toString();
        postgres.createRole("jobs", password);
        postgres.ensureServiceDatabase("featurerelay", "jobs");
    }

    @AfterAll
    static void stopPostgres() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @BeforeEach
    void freshSchema() {
        String schema = "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        dataSource = new PGSimpleDataSource();
        dataSource.setUrl(postgres.jdbcUrl("featurerelay") + "?currentSchema=" + schema);
        dataSource.setUser("jobs");
        dataSource.setPassword(password);
        Flyway.configure().dataSource(dataSource).schemas(schema).defaultSchema(schema)
                .locations("classpath:db/migration").load().migrate();
        store = new JobStore(new Database(dataSource), new ObjectMapper());
        artifacts = new ArtifactStore(store.database());
    }

    private void insert(String id) {
        store.database().transaction(c -> store.insert(c, id, Map.of("n", 1), Map.of()));
    }

    private long largeObjects() {
        return store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT count(*) FROM pg_largeobject_metadata");
                    ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        });
    }

    @Test
    void manyReplicasClaimingAtOnceClaimEveryJobExactlyOnce() throws Exception {
        for (int i = 0; i < 40; i++) {
            insert("job-" + i);
        }
        Map<String, String> claimedBy = new ConcurrentHashMap<>();
        List<String> twice = Collections.synchronizedList(new ArrayList<>());
        ExecutorService replicas = Executors.newFixedThreadPool(4);
        CountDownLatch go = new CountDownLatch(1);
        for (int r = 0; r < 4; r++) {
            String replica = "replica-" + r;
            replicas.execute(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                Optional<JobRecord> job;
                while ((job = store.claim(replica, Duration.ofMinutes(1))).isPresent()) {
                    if (claimedBy.putIfAbsent(job.get().id(), replica) != null) {
                        twice.add(job.get().id());
                    }
                }
            });
        }
        go.countDown();
        replicas.shutdown();
        assertThat(replicas.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(twice).isEmpty();
        assertThat(claimedBy).hasSize(40);
        assertThat(store.countByState()).containsEntry(JobState.RUNNING, 40).containsEntry(JobState.QUEUED, 0);
    }

    @Test
    void anExpiredLeaseLetsAnotherReplicaTakeOverAndFencesTheOldOwnerOut() throws Exception {
        insert("job-a");
        JobRecord first = store.claim("replica-a", Duration.ofMillis(300)).orElseThrow();
        assertThat(first.attempts()).isEqualTo(1);
        assertThat(store.claim("replica-b", Duration.ofMinutes(1))).as("leased to replica-a").isEmpty();
        Thread.sleep(500);
        JobRecord second = store.claim("replica-b", Duration.ofMinutes(1)).orElseThrow();
        assertThat(second.attempts()).isEqualTo(2);
        assertThat(second.owner()).isEqualTo("replica-b");
        assertThat(store.renew("job-a", "replica-a", Duration.ofMinutes(1))).isEqualTo(JobStore.Lease.LOST);
        assertThatThrownBy(() -> store.database().transaction(c -> {
            store.saveDetails(c, "job-a", "replica-a", Map.of("late", true));
            return null;
        })).isInstanceOf(JobLostException.class);
        assertThatThrownBy(() -> store.database().transaction(c -> {
            store.finish(c, "job-a", "replica-a", JobState.SUCCEEDED, null, Map.of());
            return null;
        })).isInstanceOf(JobLostException.class);
        assertThat(store.renew("job-a", "replica-b", Duration.ofMinutes(1))).isEqualTo(JobStore.Lease.HELD);
        // a replica that stops gives its jobs back at once
        assertThat(store.release("replica-b")).isEqualTo(1);
        assertThat(store.find("job-a").orElseThrow().state()).isEqualTo(JobState.QUEUED);
    }

    @Test
    void cancellingAQueuedJobEndsItAndARunningOneIsToldAtItsNextRenewal() {
        insert("running");
        store.claim("replica-a", Duration.ofMinutes(1)).orElseThrow();
        insert("queued");
        assertThat(store.requestCancel("queued").orElseThrow().state()).isEqualTo(JobState.CANCELLED);
        JobRecord running = store.requestCancel("running").orElseThrow();
        assertThat(running.state()).isEqualTo(JobState.RUNNING);
        assertThat(store.renew("running", "replica-a", Duration.ofMinutes(1)))
                .isEqualTo(JobStore.Lease.HELD_CANCEL_REQUESTED);
        assertThat(store.claim("replica-b", Duration.ofMinutes(1))).as("a cancelled job is not claimed").isEmpty();
    }

    @Test
    void artifactsStreamBackAndDieWithTheirTransactionOrTheirJob() {
        insert("job-a");
        long before = largeObjects();
        byte[] content = new byte[3 << 20];
        new java.util.Random(1).nextBytes(content);
        store.database().transaction(c -> artifacts.write(c, "job-a", "model.zip", out -> out.write(content)));
        assertThat(artifacts.read("job-a", "model.zip", (in, bytes) -> {
            assertThat(bytes).isEqualTo(content.length);
            // readers that ask what is left (DL4J's model loader) are told
            assertThat(in.available()).isEqualTo(content.length);
            return in.readAllBytes();
        })).hasValue(content);
        assertThat(largeObjects()).isEqualTo(before + 1);

        // written, then the transaction fails: neither the row nor the large object remains
        assertThatThrownBy(() -> store.database().transaction(c -> {
            artifacts.write(c, "job-a", "checkpoint.frc", out -> out.write(content));
            throw new IOException("disk gone");
        })).hasRootCauseMessage("disk gone");
        assertThat(artifacts.exists("job-a", "checkpoint.frc")).isFalse();
        assertThat(largeObjects()).isEqualTo(before + 1);

        // replaced: the old large object is unlinked with it
        store.database().transaction(c -> artifacts.write(c, "job-a", "model.zip", out -> out.write(1)));
        assertThat(largeObjects()).isEqualTo(before + 1);
        assertThat(artifacts.read("job-a", "model.zip", (in, bytes) -> in.readAllBytes())).hasValue(new byte[] {1});

        // the job goes, and its artifacts with it
        store.delete("job-a");
        assertThat(largeObjects()).isEqualTo(before);
    }

    @Test
    void theRunnerEndsEveryJobWithItsReasonAnErrorIncluded() throws Exception {
        insert("fine");
        insert("overflows");
        insert("runs-out-of-memory");
        insert("throws");
        JobsSettings settings = new JobsSettings("replica-a", Duration.ofSeconds(5), Duration.ofMillis(50), 3);
        JobHandler handler = job -> {
            switch (job.id()) {
                case "overflows" -> throw new StackOverflowError("deep");
                // as ND4J's allocator reports an exhausted off-heap limit, and the heap's own
                case "runs-out-of-memory" -> throw new OutOfMemoryError("Java heap space");
                case "throws" -> throw new IllegalStateException("bad data");
                default -> {
                    job.saveDetails(Map.of("epoch", 1));
                    job.finish(JobState.SUCCEEDED, null, Map.of("epoch", 1));
                }
            }
        };
        try (JobRunner runner = new JobRunner("test", store, artifacts, settings, 2, handler,
                new JobRunner.JobEvents() { })) {
            runner.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> store.countByState().get(JobState.RUNNING) == 0
                    && store.countByState().get(JobState.QUEUED) == 0);
        }
        assertThat(store.find("fine").orElseThrow().state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(store.find("fine").orElseThrow().details().get("epoch").asInt()).isEqualTo(1);
        JobRecord overflow = store.find("overflows").orElseThrow();
        assertThat(overflow.state()).isEqualTo(JobState.FAILED);
        assertThat(overflow.error()).isEqualTo("StackOverflowError: deep");
        JobRecord oom = store.find("runs-out-of-memory").orElseThrow();
        assertThat(oom.state()).isEqualTo(JobState.FAILED);
        assertThat(oom.error()).isEqualTo("OutOfMemoryError: Java heap space");
        assertThat(oom.finishedAt()).isNotNull();
        assertThat(store.find("throws").orElseThrow().error()).isEqualTo("IllegalStateException: bad data");
    }

    /**
     * The watchdog is the lease: a job whose worker died (its replica claimed it and vanished) is claimed again
     * once the lease expires and runs to the end; one whose replicas died holding it max-attempts times fails with
     * that reason, without running again, instead of killing replica after replica.
     */
    @Test
    void jobsWhoseWorkerDiedAreTakenOverAndGivenUpAfterMaxAttempts() throws Exception {
        insert("orphaned");
        insert("deadly");
        // claimed by replicas that die at once (their leases are never renewed): "orphaned" once, "deadly" twice
        assertThat(store.claim("dead-1", Duration.ofMillis(1500)).orElseThrow().id()).isEqualTo("orphaned");
        assertThat(store.claim("dead-2", Duration.ofMillis(200)).orElseThrow().id()).isEqualTo("deadly");
        Thread.sleep(400);
        JobRecord second = store.claim("dead-3", Duration.ofMillis(200)).orElseThrow();
        assertThat(second.id()).as("only the expired lease is taken over").isEqualTo("deadly");
        assertThat(second.takeovers()).isEqualTo(1);
        Thread.sleep(1300);
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        JobHandler handler = job -> {
            ran.add(job.id());
            job.finish(JobState.SUCCEEDED, null, Map.of());
        };
        JobsSettings settings = new JobsSettings("survivor", Duration.ofSeconds(5), Duration.ofMillis(50), 2);
        try (JobRunner runner = new JobRunner("test", store, artifacts, settings, 1, handler,
                new JobRunner.JobEvents() { })) {
            runner.start();
            await().atMost(Duration.ofSeconds(30)).until(() -> store.countByState().get(JobState.RUNNING) == 0
                    && store.countByState().get(JobState.QUEUED) == 0);
        }
        JobRecord orphaned = store.find("orphaned").orElseThrow();
        assertThat(orphaned.state()).isEqualTo(JobState.SUCCEEDED);
        assertThat(orphaned.lastOwner()).isEqualTo("survivor");
        assertThat(orphaned.attempts()).isEqualTo(2);
        assertThat(orphaned.takeovers()).isEqualTo(1);
        JobRecord deadly = store.find("deadly").orElseThrow();
        assertThat(deadly.state()).isEqualTo(JobState.FAILED);
        assertThat(deadly.takeovers()).isEqualTo(2);
        assertThat(deadly.finishedAt()).isNotNull();
        assertThat(deadly.error()).startsWith("gave up after 2 takeovers");
        assertThat(ran).containsExactly("orphaned");
    }

    @Test
    void identifiersThatCannotNameAJobNeverReachAStatement() throws SQLException {
        for (String id : List.of("", ".", "..", "../x", "a/b", "a\u0000b", "A", "é", "x".repeat(200))) {
            assertThat(JobStore.validId(id)).as(id).isFalse();
            assertThat(store.find(id)).isEmpty();
        }
        try (Connection c = dataSource.getConnection()) {
            assertThatThrownBy(() -> store.insert(c, "../escape", Map.of(), Map.of()))
                    .as("the table's check refuses what the code would").isInstanceOf(SQLException.class);
        }
    }

    private long reserveBytes() {
        return store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT pg_relation_size('disk_reserve')");
                    ResultSet r = s.executeQuery()) {
                r.next();
                return r.getLong(1);
            }
        });
    }

    @Test
    void theDiskReserveHoldsItsMebibytesAndGivesThemBackToTheFileSystem() {
        DiskReserve reserve = new DiskReserve(store.database(), 2);
        assertThat(reserve.held()).isFalse();
        assertThat(reserve.refill()).isTrue();
        assertThat(reserveBytes()).as("the table's file holds the reserve")
                .isBetween(2L << 20, (2L << 20) + (64 << 10));
        assertThat(reserve.refill()).as("held already: nothing added").isTrue();
        assertThat(reserveBytes()).isLessThan((2L << 20) + (64 << 10));

        assertThat(reserve.release()).isTrue();
        assertThat(reserveBytes()).as("truncated: the blocks are the file system's again").isZero();
        assertThat(reserve.held()).isFalse();
        assertThat(reserve.release()).as("nothing held").isFalse();
        assertThat(reserve.refill()).isTrue();
        assertThat(reserve.held()).isTrue();

        DiskReserve none = new DiskReserve(store.database(), 0);
        assertThat(none.refill()).isFalse();
        assertThat(none.release()).isFalse();
    }
}
