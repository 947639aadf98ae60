package io.featurerelay.system;

import static io.featurerelay.system.PipelineIT.KEY;
import static io.featurerelay.system.PipelineIT.SAMPLE;
import static io.featurerelay.system.PipelineIT.awaitState;
import static io.featurerelay.system.PipelineIT.json;
import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.IdxWriter;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A bounded soak: {@value #DEFAULT_JOBS} small transfer jobs back to back through transfer-service (re-runs of one
 * base model: classes 5 and 6 of a {@value #TRAIN_PER_CLASS}-image-per-class cut of the sample, one epoch,
 * featurized, no baseline), with status readers on both services all along. The jobs are small so that the soak
 * counts jobs, not training time: what could leak per job (the envelope read, the network built and freed, the
 * model stored, metrics, connections, threads) is all there; the 800 images a job of the full sample trains on
 * would only make each job longer (4-18 s on two busy cores, against about a second). What each service process holds (resident memory, threads, open files, direct buffers) is
 * sampled after a warm-up of {@value #WARM_UP} jobs and at the end; it may not grow beyond the bounds below. The
 * figures go to the test output and {@code target/soak-figures.txt} (README, Reliability). {@code -Dsoak.jobs=N}
 * runs a longer soak ({@code bench/soak.sh}, 1000 jobs by default).
 */
class SoakIT {

    /**
     * The 100: about a second a job on two otherwise idle cores (8 s when four other builds share them),
     * so about three minutes with the start; bench/soak.sh runs more.
     */
    static final int DEFAULT_JOBS = 100;
    /** The first jobs load the dataset, compile the hot paths and fill the pools: not growth. */
    static final int WARM_UP = 10;
    static final int TRAIN_PER_CLASS = 40;
    static final int TEST_PER_CLASS = 10;
    /**
     * The bounds, from runs on two busy cores (README, Reliability). The heap still referenced after a full
     * collection and the direct buffers are the leak figures: 1 MiB kept per job would pass the heap's bound within
     * the 90 jobs measured. transfer-service's resident memory grew while both stayed flat (+143 MiB over 90
     * jobs in two runs, idle and busy cores): native memory, not yet explained (README says so), so its bound
     * is a ceiling that keeps the process well under javacpp's 1500 MiB cap rather than a claim of no growth.
     */
    static final long RSS_GROWTH_BYTES = 384L << 20;
    static final long HEAP_AFTER_GC_GROWTH_BYTES = 24L << 20;
    static final int THREAD_GROWTH = 4;
    /**
     * Descriptors come and go with pools that have a ceiling (database connections, 16 at most; Kafka; HTTP
     * keep-alive): +0 over 90 jobs in both services; one leaked per job passes it within 16 jobs.
     */
    static final int OPEN_FILE_GROWTH = 16;
    static final long DIRECT_GROWTH_BYTES = 8L << 20;
    /**
     * One client with a bounded keep-alive pool for everything the soak sends again and again. RestAssured opens a
     * connection per request and leaves it to its garbage collection to close: the services' socket counts then
     * measured this test's collector (+124 in one run), not the services.
     */
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static final String RERUN =
            "{\"baseModelId\":\"%s\",\"classes\":[5,6],\"epochs\":1,\"baseline\":false,\"featurized\":true}";

    @Test
    void smallTransfersBackToBackLeaveNoGrowth() throws Exception {
        int jobs = Integer.getInteger("soak.jobs", DEFAULT_JOBS);
        Path work = Files.createTempDirectory(Path.of("target"), "soak-");
        Path small = work.resolve("small-sample").toAbsolutePath();
        TrainTestSplit sample = DatasetKind.FASHION_MNIST.load(Path.of(SAMPLE));
        Files.createDirectories(small);
        IdxWriter.write(sample.train().firstPerClass(TRAIN_PER_CLASS), small.resolve("train-images-idx3-ubyte.gz"),
                small.resolve("train-labels-idx1-ubyte.gz"));
        IdxWriter.write(sample.test().firstPerClass(TEST_PER_CLASS), small.resolve("t10k-images-idx3-ubyte.gz"),
                small.resolve("t10k-labels-idx1-ubyte.gz"));
        try (SystemDatabase database = new SystemDatabase().start();
                KafkaBrokerProcess broker = KafkaBrokerProcess.onFreePorts().start();
                ServiceProcess trainer = database.trainer(new ServiceProcess("trainer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("trainer.data-dir", SAMPLE)
                        .with("trainer.signing-key", KEY);
                ServiceProcess transfer = database.transfer(new ServiceProcess("transfer-service", work))
                        .with("kafka.bootstrap.servers", broker.bootstrapServers())
                        .with("transfer.signing-keys", KEY)
                        .with("transfer.targets.default.data-dir", small.toString())
                        .with("transfer.targets.default.classes", "5,6")
                        .with("transfer.targets.default.epochs", "1")
                        .with("transfer.targets.default.baseline", "false")
                        .with("transfer.targets.default.batch-size", "32")
                        .with("transfer.targets.default.optimizer", "adam")) {
            ScaleOutIT.startAll(trainer, transfer);
            String base = given().baseUri(trainer.url()).contentType(ContentType.JSON)
                    .body("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1],\"seed\":5}")
                    .post("/api/v1/trainings").then().statusCode(202).extract().path("id");
            awaitState(trainer.url() + "/api/v1/trainings/" + base, Duration.ofMinutes(4), "SUCCEEDED");
            await().atMost(Duration.ofSeconds(60)).until(() -> !json(transfer.url() + "/api/v1/transfers")
                    .getList("id").isEmpty());
            ProcessFigures trainerStart = ProcessFigures.of(trainer);
            ProcessFigures transferStart = ProcessFigures.of(transfer);

            AtomicBoolean reading = new AtomicBoolean(true);
            AtomicReference<String> latest = new AtomicReference<>(
                    json(transfer.url() + "/api/v1/transfers").getString("[0].id"));
            AtomicLong reads = new AtomicLong();
            List<String> readErrors = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> readers = List.of(
                    reader("transfer-status", reading, reads, readErrors,
                            () -> List.of(transfer.url() + "/api/v1/transfers/" + latest.get(),
                                    transfer.url() + "/api/v1/transfers")),
                    reader("trainer-status", reading, reads, readErrors,
                            () -> List.of(trainer.url() + "/api/v1/trainings/" + base,
                                    trainer.url() + "/api/v1/trainings")));
            readers.forEach(Thread::start);

            ProcessFigures trainerWarm = null;
            ProcessFigures transferWarm = null;
            long started = System.nanoTime();
            long warmAt = started;
            try {
                for (int i = 1; i <= jobs; i++) {
                    HttpResponse<String> accepted = HTTP.send(HttpRequest.newBuilder(
                            URI.create(transfer.url() + "/api/v1/transfers")).header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(RERUN.formatted(base))).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
                    String id = JsonPath.from(accepted.body()).getString("id");
                    latest.set(id);
                    JsonPath done = awaitDone(transfer.url() + "/api/v1/transfers/" + id);
                    assertThat(done.getString("state")).as("job %d: %s", i, done.prettify()).isEqualTo("SUCCEEDED");
                    if (i == WARM_UP) {
                        trainerWarm = ProcessFigures.of(trainer);
                        transferWarm = ProcessFigures.of(transfer);
                        warmAt = System.nanoTime();
                    }
                }
            } finally {
                reading.set(false);
                for (Thread t : readers) {
                    t.join(10_000);
                }
            }
            long ended = System.nanoTime();
            ProcessFigures trainerEnd = ProcessFigures.of(trainer);
            ProcessFigures transferEnd = ProcessFigures.of(transfer);

            String report = """
                    soak: %d transfer jobs in %.1f s (%.2f s a job after the warm-up), %d status reads, %d failed
                    trainer-service  start:   %s
                    trainer-service  warm:    %s
                    trainer-service  end:     %s
                    transfer-service start:   %s
                    transfer-service warm:    %s
                    transfer-service end:     %s
                    """.formatted(jobs, (ended - started) / 1e9, (ended - warmAt) / 1e9 / (jobs - WARM_UP),
                    reads.get(), readErrors.size(), trainerStart, trainerWarm, trainerEnd, transferStart,
                    transferWarm, transferEnd);
            System.out.println(report);
            Files.writeString(Path.of("target", "soak-figures.txt"), report);

            assertThat(readErrors).as("status reads that failed").isEmpty();
            assertThat(reads.get()).as("status reads").isGreaterThan(jobs);
            assertThat(transfer.readiness()).isEqualTo(200);
            assertNoGrowth("trainer-service", trainerWarm, trainerEnd);
            assertNoGrowth("transfer-service", transferWarm, transferEnd);
        }
    }

    private static void assertNoGrowth(String service, ProcessFigures warm, ProcessFigures end) {
        assertThat(end.residentBytes() - warm.residentBytes()).as("%s resident memory growth (%s -> %s)", service,
                warm, end).isLessThanOrEqualTo(RSS_GROWTH_BYTES);
        assertThat(end.heapAfterGcBytes() - warm.heapAfterGcBytes()).as("%s heap growth after a full collection",
                service).isLessThanOrEqualTo(HEAP_AFTER_GC_GROWTH_BYTES);
        assertThat(end.threads() - warm.threads()).as("%s thread growth", service).isLessThanOrEqualTo(THREAD_GROWTH);
        assertThat(end.openFiles() - warm.openFiles()).as("%s open file growth", service)
                .isLessThanOrEqualTo(OPEN_FILE_GROWTH);
        assertThat(end.directBytes() - warm.directBytes()).as("%s direct buffer growth", service)
                .isLessThanOrEqualTo(DIRECT_GROWTH_BYTES);
    }

    /** Polls more often than awaitState: a job here takes about a second. */
    private static JsonPath awaitDone(String url) {
        JsonPath[] last = new JsonPath[1];
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(100)).until(() -> {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            last[0] = JsonPath.from(r.body());
            return List.of("SUCCEEDED", "FAILED", "CANCELLED").contains(last[0].getString("state"));
        });
        return last[0];
    }

    /** A thread that GETs the given URLs in a loop until {@code reading} turns false; a non-200 is an error. */
    private static Thread reader(String name, AtomicBoolean reading, AtomicLong reads, List<String> errors,
            java.util.function.Supplier<List<String>> urls) {
        Thread t = new Thread(() -> {
            while (reading.get()) {
                for (String url : urls.get()) {
                    try {
                        int status = HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode();
                        reads.incrementAndGet();
                        if (status != 200) {
                            errors.add(url + ": " + status);
                        }
                    } catch (IOException | RuntimeException e) {
                        errors.add(url + ": " + e);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, name);
        t.setDaemon(true);
        return t;
    }
}
