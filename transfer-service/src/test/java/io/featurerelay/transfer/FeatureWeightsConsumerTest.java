package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.testing.MetricsText;
import io.featurerelay.transfer.messaging.FeatureWeightsConsumer;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/** Bad records go to the dead-letter topic with their reason; a good one after them is still processed. */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
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
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "checksum-mismatch")).isEqualTo(1.0);
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "bad-magic")).isEqualTo(1.0);
        assertThat(metric("featurerelay_envelopes_rejected_total", "reason", "oversized")).isZero();

        // the same envelope again: stored once, one job
        TestEnvelopes.send(bootstrap, "base-dlq-good", good, TestEnvelopes.sign(good));
        await().atMost(Duration.ofSeconds(60)).until(() -> metric("featurerelay_envelopes_duplicates_total") >= 1);
        List<String> jobs = given().get("/api/v1/transfers").then().statusCode(200).extract()
                .jsonPath().getList("findAll { it.baseModelId == 'base-dlq-good' }.id");
        assertThat(jobs).hasSize(1);
    }
}
