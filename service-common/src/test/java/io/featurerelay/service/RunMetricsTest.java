package io.featurerelay.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.service.metrics.RunMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class RunMetricsTest {

    @Test
    void epochSeriesCarryTheirValuesAndOldRunsAreDropped() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        RunMetrics metrics = new RunMetrics(registry, 2);

        metrics.epoch("a", "base", new EpochResult(1, 0.5, 0.81, 12.5, 160));
        metrics.epoch("a", "base", new EpochResult(2, 0.4, 0.86, 12.0, 166));
        assertThat(registry.get(RunMetrics.EPOCH_ACCURACY).tags("run", "a", "role", "base", "epoch", "2").gauge()
                .value()).isEqualTo(0.86);
        assertThat(registry.get(RunMetrics.EPOCH_SECONDS).tags("run", "a", "epoch", "1").gauge().value())
                .isEqualTo(12.5);

        metrics.epoch("b", "base", new EpochResult(1, 0.5, 0.7, 1, 1));
        metrics.epoch("c", "base", new EpochResult(1, 0.5, 0.6, 1, 1));

        assertThat(metrics.runs()).containsExactly("b", "c");
        assertThat(registry.find(RunMetrics.EPOCH_ACCURACY).tag("run", "a").gauges()).isEmpty();
        assertThat(registry.find(RunMetrics.EPOCH_ACCURACY).gauges()).hasSize(2);
    }
}
