package io.featurerelay.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.broker.LocalKafkaBroker;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import org.junit.jupiter.api.Test;

/** The local broker creates the topics the services use (a missing one would delay the first record). */
class TopicNamesTest {

    @Test
    void theLocalBrokerCreatesEveryTopicTheServicesUse() {
        assertThat(LocalKafkaBroker.PROJECT_TOPICS).containsExactlyInAnyOrder(FeatureWeightsTopic.NAME,
                FeatureWeightsTopic.DEAD_LETTER, TransferResultPublisher.CHANNEL);
    }
}
