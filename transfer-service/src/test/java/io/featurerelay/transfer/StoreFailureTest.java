package io.featurerelay.transfer;

import static io.restassured.RestAssured.given;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.testing.MetricsText;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * A valid record that we fail to store for a reason of ours that is not an outage (here the service's role loses
 * its INSERT privilege on the registry: SQLSTATE 42501, a statement refused, the database up) waits instead of
 * being dead-lettered: consumption pauses and retries with back-off, readiness is down and names the record,
 * nothing is committed; once the store works again the record is stored exactly once, with one job, and the
 * records after it go on.
 */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "transfer"))
class StoreFailureTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @Inject
    DataSource dataSource;

    private double retries() {
        String text = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return MetricsText.value(text, "featurerelay_envelopes_store_retries_total");
    }

    private void sql(String statement) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    @Test
    void aValidRecordWaitsWhileTheStoreFailsAndIsStoredOnceAfterwards() throws Exception {
        String bootstrap = broker.bootstrapServers();
        byte[] good = TestEnvelopes.envelope("base-stall-1");
        double before = retries();
        sql("REVOKE INSERT ON base_models FROM CURRENT_USER");
        try {
            TestEnvelopes.send(bootstrap, "base-stall-1", good, TestEnvelopes.sign(good));
            await().atMost(Duration.ofSeconds(60)).until(() -> retries() >= before + 2);
            JsonPath ready = JsonPath.from(given().get("/q/health/ready").then().statusCode(503).extract().asString());
            assertThat(ready.getString("checks.find { it.name == 'feature-weights intake' }.status"))
                    .isEqualTo("DOWN");
            assertThat(ready.getString("checks.find { it.name == 'feature-weights intake' }.data.waiting"))
                    .startsWith(FeatureWeightsTopic.NAME + "-");
            assertThat(ready.getString("checks.find { it.name == 'feature-weights intake' }.data.lastFailure"))
                    .contains("permission denied");
            given().get("/q/health/live").then().statusCode(200);
            assertThat(given().get("/api/v1/base-models").then().extract().jsonPath().getList("id"))
                    .doesNotContain("base-stall-1");
        } finally {
            sql("GRANT INSERT ON base_models TO CURRENT_USER");
        }
        // a bad record behind it is dealt with only after it: consumption went on in order
        TestEnvelopes.send(bootstrap, "base-stall-bad", new byte[0], TestEnvelopes.sign(new byte[0]));
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                given().get("/api/v1/base-models").then().statusCode(200)
                        .body("id", org.hamcrest.Matchers.hasItem("base-stall-1")));
        List<String> stored = given().get("/api/v1/base-models").then().extract().jsonPath()
                .getList("findAll { it.id == 'base-stall-1' }.id");
        assertThat(stored).hasSize(1);
        assertThat(TransferJobTest.awaitJobOf("base-stall-1")).isNotBlank();
        List<String> jobs = given().get("/api/v1/transfers").then().statusCode(200).extract()
                .jsonPath().getList("findAll { it.baseModelId == 'base-stall-1' }.id");
        assertThat(jobs).hasSize(1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                given().get("/q/health/ready").then().statusCode(200));
        List<ConsumerRecord<String, byte[]>> dead = TopicReader.read(bootstrap, FeatureWeightsTopic.DEAD_LETTER, 1,
                r -> "base-stall-bad".equals(r.key()), Duration.ofSeconds(60));
        assertThat(dead).hasSize(1);
        // the valid record never went to the dead-letter topic (it would lie before the bad one)
        List<ConsumerRecord<String, byte[]>> valid = TopicReader.read(bootstrap, FeatureWeightsTopic.DEAD_LETTER, 1,
                r -> "base-stall-1".equals(r.key()), Duration.ofSeconds(5));
        assertThat(valid).isEmpty();
    }
}
