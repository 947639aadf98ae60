package io.featurerelay.trainer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A bounded load test over real HTTP on 127.0.0.1: a burst of concurrent submissions fills the queue (one
 * worker, two places in the test profile) and the rest get 429; every accepted job runs to the end; while the
 * jobs train, status reads from eight clients stay fast. Prints p50/p99 latencies; asserts only generous bounds
 * (speed is measured in bench/, this checks that reads are not stuck behind training).
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class LoadTest {

    private static final int SUBMISSIONS = 40;
    private static final int READERS = 8;

    @TestHTTPResource("/")
    URI base;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> post(String json) throws Exception {
        return http.send(HttpRequest.newBuilder(base.resolve("/api/v1/trainings"))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static long percentile(List<Long> sorted, double p) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p * sorted.size()) - 1));
    }

    @Test
    void aBurstFillsTheQueueTheRestGet429AndStatusStaysResponsive() throws Exception {
        // nothing of other test classes still waiting or training
        await().atMost(Duration.ofMinutes(3)).until(() -> given().get("/api/v1/trainings").then().extract()
                .jsonPath().getList("findAll { it.state == 'QUEUED' || it.state == 'RUNNING' }").isEmpty());

        ExecutorService pool = Executors.newFixedThreadPool(SUBMISSIONS);
        List<Future<HttpResponse<String>>> answers = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int i = 0; i < SUBMISSIONS; i++) {
            int seed = i;
            answers.add(pool.submit(() -> {
                start.await();
                return post("{\"epochs\":1,\"batchSize\":64,\"classes\":[0,1],\"seed\":" + seed + "}");
            }));
        }
        start.countDown();
        List<String> accepted = new ArrayList<>();
        int refused = 0;
        for (Future<HttpResponse<String>> answer : answers) {
            HttpResponse<String> r = answer.get(60, TimeUnit.SECONDS);
            if (r.statusCode() == 202) {
                accepted.add(JsonPath.from(r.body()).getString("id"));
            } else {
                assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
                assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
                refused++;
            }
        }
        pool.shutdown();
        // one worker and two queue places: three at most (a job cannot finish within the burst)
        assertThat(accepted).hasSizeBetween(1, 3);
        assertThat(accepted.size() + refused).isEqualTo(SUBMISSIONS);
        System.out.printf("burst of %d submissions: %d accepted, %d answered 429%n", SUBMISSIONS, accepted.size(),
                refused);

        // status reads while the accepted jobs train
        List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean training = new AtomicBoolean(true);
        ExecutorService readers = Executors.newFixedThreadPool(READERS);
        List<Future<Integer>> errors = new ArrayList<>();
        for (int i = 0; i < READERS; i++) {
            String path = i % 2 == 0 ? "/api/v1/trainings" : "/api/v1/trainings/" + accepted.get(i % accepted.size());
            Callable<Integer> reader = () -> {
                int failures = 0;
                while (training.get()) {
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(base.resolve(path))
                            .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
                    latencies.add(System.nanoTime() - t0);
                    if (r.statusCode() != 200) {
                        failures++;
                    }
                }
                return failures;
            };
            errors.add(readers.submit(reader));
        }
        try {
            for (String id : accepted) {
                JsonPath done = TrainingApi.awaitState(id, Duration.ofMinutes(4), "SUCCEEDED", "FAILED");
                assertThat(done.getString("state")).as(done.prettify()).isEqualTo("SUCCEEDED");
            }
        } finally {
            training.set(false);
            readers.shutdown();
        }
        for (Future<Integer> e : errors) {
            assertThat(e.get(30, TimeUnit.SECONDS)).as("status reads that did not answer 200").isZero();
        }
        List<Long> sorted = new ArrayList<>(latencies);
        Collections.sort(sorted);
        long p50 = percentile(sorted, 0.50) / 1_000_000;
        long p99 = percentile(sorted, 0.99) / 1_000_000;
        System.out.printf("status reads during training: %d requests from %d clients, p50 %d ms, p99 %d ms, max %d ms%n",
                sorted.size(), READERS, p50, p99, sorted.get(sorted.size() - 1) / 1_000_000);
        assertThat(sorted).hasSizeGreaterThan(100);
        // generous: a read that waited for a training step (tens of ms) or the event loop would show seconds
        assertThat(p99).as("p99 of status reads in ms").isLessThan(1000);
    }
}
