package io.featurerelay.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.featurerelay.dashboard.service.DashboardAssembler;
import io.featurerelay.dashboard.service.DashboardView;
import io.featurerelay.dashboard.service.ExpositionParser;
import io.featurerelay.dashboard.service.MetricsReader;
import java.util.List;
import org.junit.jupiter.api.Test;

class DashboardAssemblerTest {

    @Test
    void runsAreLinkedByTheirInfoAndCarryTheirSeries() {
        String trainer = """
                featurerelay_run_info{classes="[0, 1, 2, 3, 4]",dataset="fashion-mnist",kind="base",run="base-a"} 1
                featurerelay_epoch_validation_accuracy{epoch="2",role="base",run="base-a"} 0.9
                featurerelay_epoch_validation_accuracy{epoch="1",role="base",run="base-a"} 0.8
                featurerelay_epoch_loss{epoch="1",role="base",run="base-a"} 0.5
                featurerelay_training_seconds{role="base",run="base-a"} 120
                featurerelay_training_images_per_second{role="base",run="base-a"} 500
                featurerelay_model_parameters{kind="trainable",role="base",run="base-a"} 600165
                featurerelay_run_info{kind="base",run="base-b",dataset="fashion-mnist",classes="[0, 1]"} 1
                featurerelay_training_progress_ratio{role="base",run="base-b"} 0.25
                featurerelay_training_eta_seconds{role="base",run="base-b"} 30
                featurerelay_jobs{state="RUNNING"} 1
                """;
        String transfer = """
                featurerelay_run_info{base_run="base-a",kind="transfer",run="transfer-a",target="default",dataset="fashion-mnist",classes="[5, 6, 7, 8, 9]"} 1
                featurerelay_epoch_validation_accuracy{epoch="1",role="transfer",run="transfer-a"} 0.91
                featurerelay_epoch_validation_accuracy{epoch="1",role="scratch",run="transfer-a"} 0.85
                featurerelay_training_seconds{role="transfer",run="transfer-a"} 12
                featurerelay_model_parameters{kind="frozen",role="transfer",run="transfer-a"} 9568
                featurerelay_model_parameters{kind="trainable",role="transfer",run="transfer-a"} 590597
                """;
        var reading = new MetricsReader.Reading("direct",
                new java.util.ArrayList<>(ExpositionParser.parse(trainer)) {{
                    addAll(ExpositionParser.parse(transfer));
                }}, List.of());

        DashboardView view = DashboardAssembler.assemble(reading);

        assertThat(view.baseRuns()).extracting(DashboardView.ModelRun::run).containsExactly("base-b", "base-a");
        DashboardView.ModelRun a = view.baseRuns().get(1);
        assertThat(a.epochs()).extracting(DashboardView.Epoch::validationAccuracy).containsExactly(0.8, 0.9);
        assertThat(a.epochs().get(0).loss()).isEqualTo(0.5);
        assertThat(a.trainingSeconds()).isEqualTo(120.0);
        assertThat(a.imagesPerSecond()).isEqualTo(500.0);
        assertThat(a.progress()).isNull();
        assertThat(view.baseRuns().get(0).progress().ratio()).isEqualTo(0.25);
        assertThat(view.baseRuns().get(0).progress().etaSeconds()).isEqualTo(30.0);

        assertThat(view.transfers()).hasSize(1);
        DashboardView.TransferRun t = view.transfers().get(0);
        assertThat(t.baseRun()).isEqualTo("base-a");
        assertThat(t.target()).isEqualTo("default");
        assertThat(t.transfer().epochs().get(0).validationAccuracy()).isEqualTo(0.91);
        assertThat(t.scratch().epochs().get(0).validationAccuracy()).isEqualTo(0.85);
        assertThat(t.transfer().frozenParams()).isEqualTo(9568L);
        assertThat(t.transfer().trainableParams()).isEqualTo(590597L);
        assertThat(t.scratch().trainingSeconds()).isNull();
        assertThat(t.fineTune()).isNull();
        assertThat(t.settings()).containsOnly(entry("classes", "[5, 6, 7, 8, 9]"), entry("dataset", "fashion-mnist"),
                entry("target", "default"), entry("base_run", "base-a"));
        assertThat(view.learningCurves()).isEmpty();
    }

    @Test
    void fineTuneIsAThirdModelOfTheRunAndItsSettingsAreTheInfoLabels() {
        String transfer = """
                featurerelay_run_info{base_run="base-a",classes="[5, 6, 7, 8, 9]",dataset="fashion-mnist",epochs="2",fine_tune_epochs="1",head="fresh",kind="transfer",optimizer="adam",run="t-1",target="default",train_per_class="all"} 1
                featurerelay_epoch_validation_accuracy{epoch="1",role="transfer",run="t-1"} 0.90
                featurerelay_epoch_validation_accuracy{epoch="2",role="transfer",run="t-1"} 0.92
                featurerelay_epoch_validation_accuracy{epoch="1",role="fine-tune",run="t-1"} 0.94
                featurerelay_epoch_loss{epoch="1",role="fine-tune",run="t-1"} 0.2
                featurerelay_training_seconds{role="fine-tune",run="t-1"} 7.5
                featurerelay_training_images_per_second{role="fine-tune",run="t-1"} 300
                featurerelay_model_parameters{kind="frozen",role="fine-tune",run="t-1"} 0
                featurerelay_model_parameters{kind="trainable",role="fine-tune",run="t-1"} 600165
                featurerelay_run_info{base_run="base-a",fine_tune_epochs="1",kind="transfer",run="t-2",job="127.0.0.1:8082",instance="127.0.0.1:8082",train_per_class="50"} 1
                featurerelay_training_progress_ratio{role="fine-tune",run="t-2"} 0.5
                featurerelay_training_epoch{role="fine-tune",run="t-2"} 1
                """;

        DashboardView view = DashboardAssembler.assemble(new MetricsReader.Reading("direct",
                ExpositionParser.parse(transfer), List.of()));

        assertThat(view.transfers()).extracting(DashboardView.TransferRun::run).containsExactly("t-2", "t-1");
        DashboardView.TransferRun done = view.transfers().get(1);
        assertThat(done.scratch()).isNull();
        assertThat(done.fineTune().role()).isEqualTo("fine-tune");
        assertThat(done.fineTune().epochs()).singleElement().satisfies(e -> {
            assertThat(e.epoch()).isEqualTo(1);
            assertThat(e.validationAccuracy()).isEqualTo(0.94);
            assertThat(e.loss()).isEqualTo(0.2);
        });
        assertThat(done.fineTune().trainingSeconds()).isEqualTo(7.5);
        assertThat(done.fineTune().imagesPerSecond()).isEqualTo(300.0);
        assertThat(done.fineTune().frozenParams()).isZero();
        assertThat(done.fineTune().trainableParams()).isEqualTo(600165L);
        // model 2's own series are not mixed with the fine-tune's
        assertThat(done.transfer().epochs()).extracting(DashboardView.Epoch::validationAccuracy)
                .containsExactly(0.90, 0.92);
        assertThat(done.transfer().trainingSeconds()).isNull();
        assertThat(done.settings()).containsOnlyKeys("base_run", "classes", "dataset", "epochs", "fine_tune_epochs",
                "head", "optimizer", "target", "train_per_class");
        assertThat(done.settings()).containsEntry("train_per_class", "all").containsEntry("fine_tune_epochs", "1");
        // labels a scraper adds are not settings
        DashboardView.TransferRun running = view.transfers().get(0);
        assertThat(running.settings()).containsOnly(entry("base_run", "base-a"), entry("fine_tune_epochs", "1"),
                entry("train_per_class", "50"));
        assertThat(running.fineTune().progress().ratio()).isEqualTo(0.5);
        assertThat(running.fineTune().progress().epoch()).isEqualTo(1);
        assertThat(running.transfer().epochs()).isEmpty();
    }
}
