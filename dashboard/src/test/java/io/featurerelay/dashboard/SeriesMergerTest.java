package io.featurerelay.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.dashboard.service.DashboardAssembler;
import io.featurerelay.dashboard.service.DashboardView;
import io.featurerelay.dashboard.service.ExpositionParser;
import io.featurerelay.dashboard.service.MetricSample;
import io.featurerelay.dashboard.service.MetricsReader;
import io.featurerelay.dashboard.service.SeriesMerger;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SeriesMergerTest {

    /** Pod A trained epochs 1 and 2 and died; pod B took the job over from its checkpoint and trained epoch 3. */
    static final String POD_A = """
            # TYPE featurerelay_epoch_validation_accuracy gauge
            featurerelay_run_info{classes="[0, 1, 2, 3, 4]",dataset="fashion-mnist",kind="base",run="base-a"} 1
            featurerelay_epoch_validation_accuracy{epoch="1",role="base",run="base-a"} 0.80
            featurerelay_epoch_validation_accuracy{epoch="2",role="base",run="base-a"} 0.85
            featurerelay_epoch_loss{epoch="1",role="base",run="base-a"} 0.60
            featurerelay_epoch_loss{epoch="2",role="base",run="base-a"} 0.45
            featurerelay_training_progress_ratio{role="base",run="base-a"} 0.4
            featurerelay_jobs{state="RUNNING"} 1
            featurerelay_jobs{state="QUEUED"} 2
            featurerelay_jobs_finished_total{outcome="succeeded"} 3.0
            """;
    static final String POD_B = """
            featurerelay_run_info{classes="[0, 1, 2, 3, 4]",dataset="fashion-mnist",kind="base",run="base-a"} 1
            featurerelay_epoch_validation_accuracy{epoch="3",role="base",run="base-a"} 0.88
            featurerelay_epoch_loss{epoch="3",role="base",run="base-a"} 0.40
            featurerelay_training_progress_ratio{role="base",run="base-a"} 0.6
            featurerelay_jobs{state="RUNNING"} 1
            featurerelay_jobs{state="QUEUED"} 2
            featurerelay_jobs_finished_total{outcome="succeeded"} 4.0
            """;

    @Test
    void aJobResumedOnAnotherReplicaIsOneCurve() {
        List<MetricSample> merged = SeriesMerger.merge(List.of(ExpositionParser.parse(POD_A),
                ExpositionParser.parse(POD_B)));

        DashboardView view = DashboardAssembler.assemble(new MetricsReader.Reading("direct", merged, List.of()));

        assertThat(view.baseRuns()).singleElement().satisfies(run -> {
            assertThat(run.run()).isEqualTo("base-a");
            assertThat(run.epochs()).extracting(DashboardView.Epoch::epoch).containsExactly(1, 2, 3);
            assertThat(run.epochs()).extracting(DashboardView.Epoch::validationAccuracy)
                    .containsExactly(0.80, 0.85, 0.88);
            assertThat(run.epochs()).extracting(DashboardView.Epoch::loss).containsExactly(0.60, 0.45, 0.40);
            // the replica that runs the job now is the furthest along
            assertThat(run.progress().ratio()).isEqualTo(0.6);
        });
    }

    @Test
    void oneValuePerSeriesAcrossReplicas() {
        List<MetricSample> merged = SeriesMerger.merge(List.of(ExpositionParser.parse(POD_A),
                ExpositionParser.parse(POD_B)));

        // the same epoch from two pods (both exported it) is one point, the largest
        assertThat(merged).filteredOn(s -> s.name().equals("featurerelay_run_info")).hasSize(1);
        // every replica reports the database's job counts: the same figure, not twice it
        assertThat(value(merged, "featurerelay_jobs", Map.of("state", "QUEUED"))).isEqualTo(2.0);
        // each replica counts what it finished: the service finished the sum
        assertThat(value(merged, "featurerelay_jobs_finished_total", Map.of("outcome", "succeeded"))).isEqualTo(7.0);
    }

    @Test
    void labelsThatNameThePodAreNotPartOfTheSeries() {
        List<MetricSample> merged = SeriesMerger.merge(List.of(
                ExpositionParser.parse("featurerelay_epoch_loss{epoch=\"1\",pod=\"a\",role=\"base\",run=\"r\"} 0.5"),
                ExpositionParser.parse("featurerelay_epoch_loss{epoch=\"1\",pod=\"b\",role=\"base\",run=\"r\"} NaN")));

        assertThat(merged).singleElement().satisfies(s -> {
            assertThat(s.labels()).isEqualTo(Map.of("epoch", "1", "role", "base", "run", "r"));
            assertThat(s.value()).isEqualTo(0.5);
        });
    }

    private static double value(List<MetricSample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels))
                .map(MetricSample::value).findFirst().orElseThrow();
    }
}
