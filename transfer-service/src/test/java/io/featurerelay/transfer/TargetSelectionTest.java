package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.service.testing.MetricsText;
import io.featurerelay.service.testing.SyntheticImages;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Which jobs a received base model starts: every configured target that fits its input shape (fan-out: one
 * envelope, three jobs, each with its lineage), else the target derived from its envelope; a base model no target
 * can serve is stored all the same, with the reason, and counted. Real broker, real PostgreSQL, real files.
 */
@QuarkusTest
@TestProfile(TargetSelectionTest.ThreeTargets.class)
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class TargetSelectionTest {

    /** Written before the service receives anything (the folder target's shape is read from its first image). */
    static final Path FOLDER = Path.of("target/target-selection/shapes");
    static final Path CIFAR = Path.of("target/target-selection/cifar-10").toAbsolutePath().normalize();

    /**
     * Two Fashion-MNIST targets with overlapping classes and one on another dataset of the same input shape (an
     * image folder of 28x28 grey images); the profile's own target is off, so that these are all there is.
     */
    public static class ThreeTargets implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> c = new LinkedHashMap<>();
            c.put("transfer.targets.default.enabled", "false");
            target(c, "low", "fashion-mnist", TestEnvelopes.SAMPLE.toString(), "5,6,7");
            target(c, "high", "fashion-mnist", TestEnvelopes.SAMPLE.toString(), "7,8,9");
            target(c, "shapes", "image-folder", FOLDER.toString(), "0,1,2");
            return c;
        }

        private static void target(Map<String, String> c, String name, String dataset, String dir, String classes) {
            String p = "transfer.targets." + name + ".";
            c.put(p + "dataset", dataset);
            c.put(p + "data-dir", dir);
            c.put(p + "classes", classes);
            c.put(p + "epochs", "1");
            c.put(p + "batch-size", "32");
            c.put(p + "optimizer", "adam");
        }
    }

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @BeforeAll
    static void writeTheData() throws IOException {
        // three classes of learnable synthetic 28x28 grey shapes: a bar, a square, a cross
        for (String split : List.of("train", "test")) {
            for (int c = 0; c < 3; c++) {
                Path dir = Files.createDirectories(FOLDER.resolve(split).resolve("shape-" + c));
                for (int i = 0; i < 12; i++) {
                    SyntheticImages.writePng(dir.resolve(i + ".png"), SyntheticImages.shape(c, 28, 28, 1, i));
                }
            }
        }
        // CIFAR-10 binary batches (1 label byte + 3072 pixel bytes per record) of synthetic colour images
        Files.createDirectories(CIFAR);
        for (int b = 1; b <= 5; b++) {
            Files.write(CIFAR.resolve("data_batch_" + b + ".bin"), SyntheticImages.cifarRecords(40, b));
        }
        Files.write(CIFAR.resolve("test_batch.bin"), SyntheticImages.cifarRecords(40, 99));
    }

    @Test
    void oneEnvelopeFeedsEveryConfiguredTargetItFits() throws Exception {
        byte[] envelope = TestEnvelopes.envelope("base-fan-out");
        TestEnvelopes.send(broker.bootstrapServers(), "base-fan-out", envelope, TestEnvelopes.sign(envelope));
        JsonPath base = awaitBaseModel("base-fan-out");
        String sha6 = FeatureWeightsCodec.sha256(envelope).substring(0, 6);
        List<String> expected = List.of("transfer-fan-out-" + sha6 + "-high", "transfer-fan-out-" + sha6 + "-low",
                "transfer-fan-out-" + sha6 + "-shapes");
        assertThat(base.getList("jobs", String.class)).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(base.getString("noJobReason")).isNull();
        Map<String, List<Integer>> classes = Map.of("high", List.of(7, 8, 9), "low", List.of(5, 6, 7),
                "shapes", List.of(0, 1, 2));
        for (String id : expected) {
            JsonPath job = TransferJobTest.status(id);
            String target = id.substring(id.lastIndexOf('-') + 1);
            assertThat(job.getString("parameters.target")).isEqualTo(target);
            assertThat(job.getList("parameters.classes", Integer.class)).isEqualTo(classes.get(target));
            assertThat(job.getString("lineage.id")).isEqualTo("base-fan-out");
            assertThat(job.getString("lineage.sha256")).isEqualTo(FeatureWeightsCodec.sha256(envelope));
        }
        assertThat(TransferJobTest.status(expected.get(2)).getString("parameters.dataset")).isEqualTo("image-folder");
        // the three trainings themselves are TransferJobTest's subject: here they would only take CI time
        expected.forEach(id -> given().delete("/api/v1/transfers/" + id));
        // a redelivered envelope is a duplicate: still three jobs
        TestEnvelopes.send(broker.bootstrapServers(), "base-fan-out", envelope, TestEnvelopes.sign(envelope));
        Thread.sleep(1500);
        assertThat(awaitBaseModel("base-fan-out").getList("jobs")).hasSize(3);
    }

    @Test
    void aBaseNoConfiguredTargetFitsTrainsItsDerivedTarget() throws Exception {
        byte[] envelope = cifarEnvelope("base-cifar-derived", List.of(0, 1, 2, 3, 4), CIFAR.toString());
        TestEnvelopes.send(broker.bootstrapServers(), "base-cifar-derived", envelope, TestEnvelopes.sign(envelope));
        JsonPath base = awaitBaseModel("base-cifar-derived");
        assertThat(base.getString("dataset")).isEqualTo("cifar-10");
        assertThat(base.getString("location")).isEqualTo(CIFAR.toString());
        String id = "transfer-cifar-derived-" + FeatureWeightsCodec.sha256(envelope).substring(0, 6) + "-derived";
        assertThat(base.getList("jobs", String.class)).containsExactly(id);
        JsonPath job = TransferJobTest.status(id);
        assertThat(job.getString("parameters.dataset")).isEqualTo("cifar-10");
        assertThat(job.getString("parameters.dataDir")).isEqualTo(CIFAR.toString());
        assertThat(job.getList("parameters.classes", Integer.class)).containsExactly(5, 6, 7, 8, 9);
        JsonPath done = TransferJobTest.awaitFinal(id);
        assertThat(done.getString("state")).as(done.getString("error")).isEqualTo("SUCCEEDED");
        assertThat(done.getList("classNames")).containsExactly("dog", "frog", "horse", "ship", "truck");
        assertThat(done.getList("transferHistory")).hasSize(1);
        assertThat(done.getList("scratchHistory")).hasSize(1);
    }

    @Test
    void aBaseNoTargetCanServeIsStoredWithTheReasonAndCounted() throws Exception {
        double notFound = counted("data-not-found");
        double noneLeft = counted("no-classes-left");
        Map<String, byte[]> envelopes = new LinkedHashMap<>();
        envelopes.put("base-cifar-elsewhere", cifarEnvelope("base-cifar-elsewhere", List.of(0, 1, 2, 3, 4),
                "/nonexistent/cifar-10"));
        envelopes.put("base-cifar-dotdot", cifarEnvelope("base-cifar-dotdot", List.of(0, 1, 2, 3, 4),
                CIFAR + "/../cifar-10"));
        envelopes.put("base-cifar-all", cifarEnvelope("base-cifar-all", IntStream.range(0, 10).boxed().toList(),
                CIFAR.toString()));
        for (var e : envelopes.entrySet()) {
            TestEnvelopes.send(broker.bootstrapServers(), e.getKey(), e.getValue(), TestEnvelopes.sign(e.getValue()));
        }
        JsonPath elsewhere = awaitBaseModel("base-cifar-elsewhere");
        assertThat(elsewhere.getList("jobs")).isEmpty();
        assertThat(elsewhere.getString("noJobReason")).contains("no configured target fits input 3x32x32")
                .contains("/nonexistent/cifar-10").contains("transfer.data-dirs.cifar-10");
        assertThat(awaitBaseModel("base-cifar-dotdot").getString("noJobReason"))
                .contains("not an absolute, normalised path");
        assertThat(awaitBaseModel("base-cifar-all").getString("noJobReason"))
                .contains("the base used 10 of the 10 classes of cifar-10");
        assertThat(counted("data-not-found")).isEqualTo(notFound + 2);
        assertThat(counted("no-classes-left")).isEqualTo(noneLeft + 1);
        // ... and nothing went to the dead-letter topic: the registry has them, and a re-run can use them
        given().contentType(ContentType.JSON).body("{\"baseModelId\": \"base-cifar-elsewhere\"}")
                .post("/api/v1/transfers").then().statusCode(400).contentType("application/problem+json")
                .body("field", equalTo("dataset")).body("detail", containsString("/nonexistent/cifar-10"));
        String id = given().contentType(ContentType.JSON).body("{\"baseModelId\": \"base-cifar-elsewhere\","
                + " \"dataset\": \"cifar-10\", \"dataDir\": \"" + CIFAR + "\", \"classes\": [6, 7],"
                + " \"baseline\": false, \"epochs\": 1}").post("/api/v1/transfers").then().statusCode(202)
                .extract().path("id");
        assertThat(TransferJobTest.status(id).getString("lineage.id")).isEqualTo("base-cifar-elsewhere");
        given().delete("/api/v1/transfers/" + id);
        // an image folder's classes are checked against the folders that are there
        given().contentType(ContentType.JSON).body("{\"baseModelId\": \"base-cifar-elsewhere\","
                + " \"dataset\": \"image-folder\", \"dataDir\": \"" + FOLDER + "\", \"classes\": [1, 3]}")
                .post("/api/v1/transfers").then().statusCode(400).body("field", equalTo("classes"));
    }

    private static double counted(String reason) {
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return MetricsText.value(metrics, "featurerelay_base_models_without_jobs_total", "reason", reason);
    }

    private static JsonPath awaitBaseModel(String id) {
        await().atMost(Duration.ofSeconds(60)).until(() -> given().get("/api/v1/base-models").then().extract()
                .jsonPath().getList("findAll { it.id == '" + id + "' }").size() == 1);
        return JsonPath.from(given().get("/api/v1/base-models").then().extract().asString())
                .setRoot("find { it.id == '" + id + "' }");
    }

    /** An untrained 3x32x32 network (its weights do not matter for which jobs start) as from a CIFAR-10 run. */
    static byte[] cifarEnvelope(String id, List<Integer> classes, String location) {
        ModelSpec spec = new ModelSpec(List.of(3, 32, 32), List.of(4, 4), 3, 2, 0, 8, 0, classes.size());
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        Random random = new Random(7);
        spec.parameterShapes().forEach((layer, arrays) -> arrays.forEach((key, shape) -> {
            float[] v = new float[shape.stream().reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (random.nextGaussian() * 0.1);
            }
            params.computeIfAbsent(layer, k -> new LinkedHashMap<>()).put(key, v);
        }));
        List<String> names = classes.stream().map(c -> DatasetKind.CIFAR_10.classNames().get(c)).toList();
        return new FeatureWeightsCodec().encode(id, Instant.now(), new DatasetInfo("cifar-10", classes, names,
                spec.inputShape(), DatasetInfo.PIXELS_OVER_255, location), spec, params, List.of(), 0);
    }
}
