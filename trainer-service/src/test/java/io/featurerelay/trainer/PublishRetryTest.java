package io.featurerelay.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.broker.InjectKafkaBroker;
import io.featurerelay.broker.KafkaBrokerProcess;
import io.featurerelay.broker.KafkaBrokerTestResource;
import io.featurerelay.postgres.PostgresTestResource;
import io.featurerelay.broker.TopicReader;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Kafka away when the envelope is ready: it waits in the store, is retried, and arrives exactly once. */
@QuarkusTest
@WithTestResource(value = KafkaBrokerTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES)
@WithTestResource(value = PostgresTestResource.class, scope = TestResourceScope.MATCHING_RESOURCES,
        initArgs = @ResourceArg(name = PostgresTestResource.ROLE, value = "trainer"))
class PublishRetryTest {

    @InjectKafkaBroker
    KafkaBrokerProcess broker;

    @Test
    void envelopeIsPublishedOnceWhenTheBrokerComesBack() {
        broker.stop();
        String id;
        try {
            id = TrainingApi.submit("{\"epochs\":1,\"batchSize\":32,\"optimizer\":\"adam\",\"classes\":[0,1]}");
            JsonPath pending = TrainingApi.awaitState(id, Duration.ofMinutes(3), "PUBLISH_PENDING", "FAILED");
            assertThat(pending.getString("state")).as(pending.prettify()).isEqualTo("PUBLISH_PENDING");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                    .until(() -> TrainingApi.status(id).getInt("publishAttempts") >= 2);
            assertThat(TrainingApi.status(id).getString("state")).isEqualTo("PUBLISH_PENDING");
        } finally {
            broker.start();
        }
        JsonPath done = TrainingApi.awaitState(id, Duration.ofSeconds(90), "SUCCEEDED");
        assertThat(done.getLong("published.offset")).isNotNegative();
        assertThat(TopicReader.read(broker.bootstrapServers(),
                FeatureWeightsTopic.NAME, 2, r -> id.equals(r.key()), Duration.ofSeconds(20)))
                .hasSize(1);
    }
}
