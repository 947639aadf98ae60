package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.testing.MetricsText;
import io.featurerelay.transfer.messaging.FeatureWeightsConsumer;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Bad records go to the dead-letter topic with their reason and are counted; good ones after them are still
 * processed, and one received twice is stored once.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class FeatureWeightsConsumerTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    private double metric(String name, String... labels) {
        String text = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return MetricsText.value(text, name, labels);
    }

    @Test
    void badRecordsGoToTheDeadLetterTopicAndGoodOnesAreStoredOnce() throws Exception {
        String bootstrap = broker.bootstrapServers();
        byte[] good = TestEnvelopes.envelope("base-dlq-good");

        byte[] corrupt = good.clone();
        corrupt[corrupt.length - 100] ^= 0x7f;
        byte[] truncated = Arrays.copyOf(good, good.length / 2);
        byte[] random = new byte[5000];
        new Random(3).nextBytes(random);

        double checksumBefore = metric("featurerelay_envelopes_rejected_total", "reason", "checksum-mismatch");
        double magicBefore = metric("featurerelay_envelopes_rejected_total", "reason", "bad-magic");
        TestEnvelopes.send(bootstrap, "base-dlq-1", corrupt, TestEnvelopes.sign(corrupt));
        TestEnvelopes.send(bootstrap, "base-dlq-2", truncated, TestEnvelopes.sign(truncated));
        TestEnvelopes.send(bootstrap, "base-dlq-good", good, "AAAA" + TestEnvelopes.sign(good).substring(4));
        TestEnvelopes.send(bootstrap, "base-dlq-4", random, TestEnvelopes.sign(random));
        TestEnvelopes.send(bootstrap, "base-dlq-good", good, null);
        TestEnvelopes.send(bootstrap, "base-dlq-good", good, TestEnvelopes.sign(good));

        List<ConsumerRecord<String, byte[]>> dead = TopicReader.read(bootstrap, FeatureWeightsTopic.DEAD_LETTER, 5,
                r -> r.key() != null && r.key().startsWith("base-dlq"), Duration.ofSeconds(60));
        assertThat(dead).extracting(r -> TopicReader.header(r, FeatureWeightsConsumer.REASON_HEADER))
                .containsExactly("checksum-mismatch", "truncated", "bad-signature", "bad-magic", "missing-signature");
        assertThat(dead).extracting(r -> TopicReader.header(r, "dead-letter-reason")).allSatisfy(reason ->
                assertThat(reason).isNotBlank());
        assertThat(TopicReader.header(dead.get(0), "dead-letter-reason")).contains("SHA-256");
        assertThat(dead.get(0).value()).isEqualTo(corrupt);

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/api/v1/base-models").then().statusCode(200)
                        .body("id", org.hamcrest.Matchers.hasItem("base-dlq-good")));
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "checksum-mismatch"))
                .isEqualTo(checksumBefore + 1);
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "bad-magic")).isEqualTo(magicBefore + 1);

        // the same envelope again: stored once, one job
        double duplicatesBefore = metric("featurerelay_envelopes_duplicates_total");
        TestEnvelopes.send(bootstrap, "base-dlq-good", good, TestEnvelopes.sign(good));
        await().atMost(Duration.ofSeconds(60))
                .until(() -> metric("featurerelay_envelopes_duplicates_total") >= duplicatesBefore + 1);
        List<String> jobs = given().get("/api/v1/transfers").then().statusCode(200).extract()
                .jsonPath().getList("findAll { it.baseModelId == 'base-dlq-good' }.id");
        assertThat(jobs).hasSize(1);
    }

    /** The envelope with its JSON header edited (the header length kept right; the payload untouched). */
    private static byte[] withHeader(byte[] envelope, UnaryOperator<String> edit) {
        int length = ByteBuffer.wrap(envelope, 4, 4).getInt();
        byte[] header = edit.apply(new String(envelope, 8, length, StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + header.length + envelope.length - 8 - length).put(envelope, 0, 4)
                .putInt(header.length).put(header).put(envelope, 8 + length, envelope.length - 8 - length).array();
    }

    @Test
    void everyKindOfBadRecordIsDeadLetteredWithItsReasonAndCounted() throws Exception {
        String bootstrap = broker.bootstrapServers();
        byte[] good = TestEnvelopes.envelope("base-bad-good");
        byte[] wrongMagic = good.clone();
        wrongMagic[3] = '9';
        byte[] nextVersion = withHeader(good, h -> h.replace("\"schemaVersion\":1", "\"schemaVersion\":2"));
        // a network for 3-channel 32x32 images that says it was trained on Fashion-MNIST (1x28x28): the envelope
        // contradicts itself. (A true CIFAR-10 base is stored even where no target fits it: TargetSelectionTest.)
        ModelSpec colour = new ModelSpec(List.of(3, 32, 32), List.of(4, 4), 3, 2, 0, 8, 0, 5);
        Map<String, Map<String, float[]>> zeros = new LinkedHashMap<>();
        colour.parameterShapes().forEach((layer, arrays) -> arrays.forEach((key, shape) -> zeros
                .computeIfAbsent(layer, k -> new LinkedHashMap<>())
                .put(key, new float[shape.stream().reduce(1, (a, b) -> a * b)])));
        byte[] incompatible = new FeatureWeightsCodec().encode("base-bad-architecture-mismatch", Instant.now(), new DatasetInfo(
                "fashion-mnist", List.of(0, 1, 2, 3, 4), List.of("a", "b", "c", "d", "e"), colour.inputShape(),
                DatasetInfo.PIXELS_OVER_255), colour, zeros, List.of(), 0);
        // above transfer.max-envelope-bytes (4 MiB in the test profile), below the broker's limit
        byte[] oversized = Arrays.copyOf(good, (4 << 20) + 1);
        byte[] rotated = TestEnvelopes.envelope("base-bad-rotated");

        Map<String, byte[]> bad = new LinkedHashMap<>();
        bad.put("truncated", new byte[0]);
        bad.put("bad-magic", wrongMagic);
        bad.put("unsupported-version", nextVersion);
        bad.put("architecture-mismatch", incompatible);
        bad.put("oversized", oversized);
        Map<String, Double> before = new LinkedHashMap<>();
        for (String reason : FeatureWeightsConsumer.REASONS) {
            before.put(reason, metric("featurerelay_envelopes_rejected_total", "reason", reason));
        }
        for (var e : bad.entrySet()) {
            TestEnvelopes.send(bootstrap, "base-bad-" + e.getKey(), e.getValue(), TestEnvelopes.sign(e.getValue()));
        }
        // signed with the second of the accepted keys (a rotation in progress): accepted; with a key that is
        // not accepted: rejected
        TestEnvelopes.send(bootstrap, "base-bad-rotated", rotated,
                FeatureWeightsCodec.sign(rotated, TestEnvelopes.ROTATED_KEY));
        TestEnvelopes.send(bootstrap, "base-bad-good", good,
                FeatureWeightsCodec.sign(good, "a rogue producer's key".getBytes(StandardCharsets.UTF_8)));
        TestEnvelopes.send(bootstrap, "base-bad-good", good, TestEnvelopes.sign(good));

        List<ConsumerRecord<String, byte[]>> dead = TopicReader.read(bootstrap, FeatureWeightsTopic.DEAD_LETTER,
                bad.size() + 1, r -> r.key() != null && r.key().startsWith("base-bad-"), Duration.ofSeconds(60));
        assertThat(dead).extracting(r -> TopicReader.header(r, FeatureWeightsConsumer.REASON_HEADER))
                .containsExactly("truncated", "bad-magic", "unsupported-version", "architecture-mismatch",
                        "oversized", "bad-signature");
        assertThat(dead).extracting(ConsumerRecord::key).containsExactly("base-bad-truncated", "base-bad-bad-magic",
                "base-bad-unsupported-version", "base-bad-architecture-mismatch", "base-bad-oversized",
                "base-bad-good");
        // the record itself is kept, byte for byte, beside SmallRye's description of the failure
        assertThat(dead.get(4).value()).isEqualTo(oversized);
        assertThat(TopicReader.header(dead.get(2), "dead-letter-reason")).contains("schema version 2");
        assertThat(TopicReader.header(dead.get(3), "dead-letter-reason")).contains("28");

        // consumption went on: both good records are stored, and every reason was counted once
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/api/v1/base-models").then().statusCode(200)
                        .body("id", org.hamcrest.Matchers.hasItems("base-bad-good", "base-bad-rotated")));
        for (String reason : bad.keySet()) {
            assertThat(metric("featurerelay_envelopes_rejected_total", "reason", reason)).as(reason)
                    .isEqualTo(before.get(reason) + 1);
        }
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "bad-signature"))
                .isEqualTo(before.get("bad-signature") + 1);
        given().get("/q/health/ready").then().statusCode(200);
    }

    /**
     * Identifiers of a record (its key, the envelope's base model id) that cannot become what they become (a
     * database key, part of job ids, a metric label, a path segment) are dead-lettered as malformed-header with
     * what is wrong, and the good record after them is stored.
     */
    @Test
    void recordsWhoseIdentifiersCannotBeUsedAreDeadLetteredWithTheReason() throws Exception {
        String bootstrap = broker.bootstrapServers();
        byte[] good = TestEnvelopes.envelope("base-id-ok");
        Map<String, byte[]> badIds = new LinkedHashMap<>();
        badIds.put("base-id-dots", withHeader(good, h -> h.replace("\"baseModelId\":\"base-id-ok\"",
                "\"baseModelId\":\"..\"")));
        badIds.put("base-id-nul", withHeader(good, h -> h.replace("\"baseModelId\":\"base-id-ok\"",
                "\"baseModelId\":\"base-id\\u0000\"")));
        badIds.put("base-id-slash", withHeader(good, h -> h.replace("\"baseModelId\":\"base-id-ok\"",
                "\"baseModelId\":\"base-id/../x\"")));
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("base-id-dots", "baseModelId is a relative path segment");
        expected.put("base-id-nul", "baseModelId contains a NUL character at 7");
        expected.put("base-id-slash", "baseModelId contains a path separator at 7");
        // a good envelope under keys that are no base model id
        expected.put("../base-id-ok", "the record key contains a path separator at 2");
        expected.put("base-id-ok\u0000", "the record key contains a NUL character at 10");
        expected.put("base-id-\u00e9", "the record key contains a non-ASCII character at 8");
        expected.put("base-id-" + "x".repeat(100), "the record key is longer than 101 characters (108)");
        for (var e : badIds.entrySet()) {
            TestEnvelopes.send(bootstrap, e.getKey(), e.getValue(), TestEnvelopes.sign(e.getValue()));
        }
        for (String key : List.copyOf(expected.keySet()).subList(3, expected.size())) {
            TestEnvelopes.send(bootstrap, key, good, TestEnvelopes.sign(good));
        }
        TestEnvelopes.send(bootstrap, "base-id-ok", good, TestEnvelopes.sign(good));

        List<ConsumerRecord<String, byte[]>> dead = TopicReader.read(bootstrap, FeatureWeightsTopic.DEAD_LETTER,
                expected.size(), r -> r.key() != null && r.key().contains("base-id-"), Duration.ofSeconds(60));
        Map<String, String> reasons = new LinkedHashMap<>();
        Map<String, String> details = new LinkedHashMap<>();
        for (ConsumerRecord<String, byte[]> r : dead) {
            reasons.put(r.key(), TopicReader.header(r, FeatureWeightsConsumer.REASON_HEADER));
            details.put(r.key(), TopicReader.header(r, "dead-letter-reason"));
        }
        assertThat(reasons.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        assertThat(reasons.values()).containsOnly("malformed-header");
        expected.forEach((key, detail) -> assertThat(details.get(key)).as(key).contains(detail));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/api/v1/base-models").then().statusCode(200)
                        .body("id", org.hamcrest.Matchers.hasItem("base-id-ok")));
        List<String> stored = given().get("/api/v1/base-models").then().extract().jsonPath()
                .getList("findAll { it.id.contains('base-id') }.id");
        assertThat(stored).containsExactly("base-id-ok");
    }
}
