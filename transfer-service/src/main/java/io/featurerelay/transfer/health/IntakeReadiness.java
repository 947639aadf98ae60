package io.featurerelay.transfer.health;

import io.featurerelay.transfer.messaging.FeatureWeightsConsumer;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/**
 * Not ready while a valid feature-weights record waits to be stored (the store fails for a reason of ours): the
 * partition is paused meanwhile, so a load balancer, an operator and an alert should see it. Names the record,
 * since when it waits, the tries and the last failure.
 */
@Readiness
@ApplicationScoped
public class IntakeReadiness implements HealthCheck {

    static final String NAME = "feature-weights intake";

    private final FeatureWeightsConsumer consumer;

    public IntakeReadiness(FeatureWeightsConsumer consumer) {
        this.consumer = consumer;
    }

    @Override
    public HealthCheckResponse call() {
        var stall = consumer.stalled();
        if (stall.isEmpty()) {
            return HealthCheckResponse.up(NAME);
        }
        var s = stall.get();
        return HealthCheckResponse.named(NAME).down()
                .withData("waiting", s.record())
                .withData("since", s.since().toString())
                .withData("tries", s.attempts())
                .withData("lastFailure", s.lastFailure())
                .build();
    }
}
