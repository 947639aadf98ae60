package io.featurerelay.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.dashboard.service.DashboardAssembler;
import io.featurerelay.dashboard.service.DashboardView;
import io.featurerelay.dashboard.service.ExpositionParser;
import io.featurerelay.dashboard.service.LearningCurveAssembler;
import io.featurerelay.dashboard.service.MetricsReader;
import io.featurerelay.dashboard.service.SeriesMerger;
import java.util.List;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;

class LearningCurveAssemblerTest {

    /** A sweep over budgets 10, 100 and all (400 per class), exported by transfer-service as it finishes points. */
    static final String CURVE = """
            # TYPE featurerelay_learning_curve_accuracy gauge
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="10",curve="lc-1",role="transfer"} 0.71
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="10",curve="lc-1",role="scratch"} 0.42
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="10",curve="lc-1",role="fine-tune"} 0.73
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="all",curve="lc-1",role="transfer"} 0.90
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="all",curve="lc-1",role="scratch"} 0.93
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="100",curve="lc-1",role="scratch"} 0.86
            featurerelay_learning_curve_accuracy{base_run="base-a",budget="100",curve="lc-1",role="transfer"} 0.86
            featurerelay_learning_curve_seconds{base_run="base-a",budget="10",curve="lc-1",role="transfer"} 1.5
            featurerelay_learning_curve_seconds{base_run="base-a",budget="10",curve="lc-1",role="scratch"} 2.5
            featurerelay_learning_curve_seconds{base_run="base-a",budget="all",curve="lc-1",role="scratch"} 40
            featurerelay_learning_curve_images_per_class{base_run="base-a",budget="10",curve="lc-1"} 10
            featurerelay_learning_curve_images_per_class{base_run="base-a",budget="100",curve="lc-1"} 100
            featurerelay_learning_curve_images_per_class{base_run="base-a",budget="all",curve="lc-1"} 400
            featurerelay_learning_curve_accuracy{base_run="base-b",budget="10",curve="lc-0",role="transfer"} 0.6
            featurerelay_jobs{state="RUNNING"} 1
            """;

    private static List<DashboardView.LearningCurve> curves(String exposition) {
        return DashboardAssembler.assemble(new MetricsReader.Reading("direct", ExpositionParser.parse(exposition),
                List.of())).learningCurves();
    }

    @Test
    void everyFinishedPointIsPlacedByTheImagesPerClassItUsed() {
        List<DashboardView.LearningCurve> curves = curves(CURVE);

        assertThat(curves).extracting(DashboardView.LearningCurve::curve).containsExactly("lc-1", "lc-0");
        DashboardView.LearningCurve curve = curves.get(0);
        assertThat(curve.baseRun()).isEqualTo("base-a");
        // by images per class (all = 400 comes last), model 2 first within a budget
        assertThat(curve.points()).extracting(DashboardView.CurvePoint::budget, DashboardView.CurvePoint::imagesPerClass,
                DashboardView.CurvePoint::role, DashboardView.CurvePoint::accuracy, DashboardView.CurvePoint::seconds)
                .containsExactly(
                        Tuple.tuple("10", 10.0, "transfer", 0.71, 1.5),
                        Tuple.tuple("10", 10.0, "scratch", 0.42, 2.5),
                        Tuple.tuple("10", 10.0, "fine-tune", 0.73, null),
                        Tuple.tuple("100", 100.0, "transfer", 0.86, null),
                        Tuple.tuple("100", 100.0, "scratch", 0.86, null),
                        Tuple.tuple("all", 400.0, "transfer", 0.90, null),
                        Tuple.tuple("all", 400.0, "scratch", 0.93, 40.0));
        // the curve of another base is its own, and no learning-curve series makes a run
        assertThat(curves.get(1).baseRun()).isEqualTo("base-b");
        assertThat(curves.get(1).crossover()).isNull();
    }

    @Test
    void theLinesMeetAtTheSmallestBudgetWhereScratchReachesModel2() {
        DashboardView.Crossover crossover = curves(CURVE).get(0).crossover();

        // at 100 the baseline equals model 2 (reaching counts), before the 400 where it passes it
        assertThat(crossover).isEqualTo(new DashboardView.Crossover("scratch", "100", 100.0, 0.86, 0.86));
    }

    @Test
    void noCrossoverWhileScratchStaysBelowAndNoneFromABudgetOnlyOneModelFinished() {
        String below = """
                featurerelay_learning_curve_accuracy{base_run="b",budget="10",curve="c",role="transfer"} 0.7
                featurerelay_learning_curve_accuracy{base_run="b",budget="10",curve="c",role="scratch"} 0.5
                featurerelay_learning_curve_accuracy{base_run="b",budget="50",curve="c",role="scratch"} 0.9
                featurerelay_learning_curve_accuracy{base_run="b",budget="all",curve="c",role="transfer"} NaN
                featurerelay_learning_curve_accuracy{base_run="b",budget="all",curve="c",role="scratch"} 0.95
                """;
        DashboardView.LearningCurve curve = curves(below).get(0);

        // 50: model 2 has not finished there yet; all: its value is not a number, so no point
        assertThat(curve.crossover()).isNull();
        assertThat(curve.points()).extracting(DashboardView.CurvePoint::budget, DashboardView.CurvePoint::role)
                .containsExactly(Tuple.tuple("10", "transfer"),
                        Tuple.tuple("10", "scratch"),
                        Tuple.tuple("50", "scratch"),
                        Tuple.tuple("all", "scratch"));
        // without the images-per-class series a numeric budget is its own count, and "all" is not placed
        assertThat(curve.points()).extracting(DashboardView.CurvePoint::imagesPerClass)
                .containsExactly(10.0, 10.0, 50.0, null);
    }

    @Test
    void allOrdersAfterANumericBudgetThatUsedAsManyImages() {
        var points = List.of(
                new DashboardView.CurvePoint("all", 400.0, "transfer", 0.9, 1.0),
                new DashboardView.CurvePoint("all", 400.0, "scratch", 0.95, 1.0),
                new DashboardView.CurvePoint("400", 400.0, "transfer", 0.9, 1.0),
                new DashboardView.CurvePoint("400", 400.0, "scratch", 0.91, 1.0));

        assertThat(LearningCurveAssembler.crossover(points).budget()).isEqualTo("400");
    }

    @Test
    void aCurveWhosePointsCameFromTwoReplicasIsOneCurve() {
        // pod A ran budget 10 and died; pod B took the job over and ran 100 (and re-exported 10's point)
        String podA = """
                featurerelay_learning_curve_accuracy{base_run="b",budget="10",curve="c",role="transfer"} 0.7
                featurerelay_learning_curve_accuracy{base_run="b",budget="10",curve="c",role="scratch"} 0.5
                featurerelay_learning_curve_images_per_class{base_run="b",budget="10",curve="c"} 10
                """;
        String podB = """
                featurerelay_learning_curve_accuracy{base_run="b",budget="10",curve="c",role="transfer"} 0.7
                featurerelay_learning_curve_accuracy{base_run="b",budget="100",curve="c",role="transfer"} 0.8
                featurerelay_learning_curve_accuracy{base_run="b",budget="100",curve="c",role="scratch"} 0.82
                featurerelay_learning_curve_images_per_class{base_run="b",budget="100",curve="c"} 100
                """;
        var merged = SeriesMerger.merge(List.of(ExpositionParser.parse(podA), ExpositionParser.parse(podB)));

        List<DashboardView.LearningCurve> curves = DashboardAssembler.assemble(
                new MetricsReader.Reading("direct", merged, List.of())).learningCurves();

        assertThat(curves).singleElement().satisfies(c -> {
            assertThat(c.points()).extracting(DashboardView.CurvePoint::budget, DashboardView.CurvePoint::role)
                    .containsExactly(Tuple.tuple("10", "transfer"),
                            Tuple.tuple("10", "scratch"),
                            Tuple.tuple("100", "transfer"),
                            Tuple.tuple("100", "scratch"));
            assertThat(c.crossover().budget()).isEqualTo("100");
            assertThat(c.crossover().imagesPerClass()).isEqualTo(100.0);
        });
    }
}
