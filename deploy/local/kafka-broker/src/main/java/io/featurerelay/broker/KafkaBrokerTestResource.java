package io.featurerelay.broker;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Starts the real broker as a child process on free ports for a {@code @QuarkusTest} and points the Kafka
 * connector at it; stops it and deletes its data afterwards, whatever the tests' outcome.
 */
public class KafkaBrokerTestResource implements QuarkusTestResourceLifecycleManager {

    private KafkaBrokerProcess broker;

    @Override
    public Map<String, String> start() {
        broker = KafkaBrokerProcess.onFreePorts().start();
        return Map.of("kafka.bootstrap.servers", broker.bootstrapServers(),
                "mp.messaging.connector.smallrye-kafka.bootstrap.servers", broker.bootstrapServers());
    }

    @Override
    public void inject(TestInjector testInjector) {
        testInjector.injectIntoFields(broker,
                new TestInjector.AnnotatedAndMatchesType(InjectKafkaBroker.class, KafkaBrokerProcess.class));
    }

    @Override
    public void stop() {
        if (broker != null) {
            broker.close();
        }
    }
}
