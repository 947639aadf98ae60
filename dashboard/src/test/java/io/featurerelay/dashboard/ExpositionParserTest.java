package io.featurerelay.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.dashboard.service.ExpositionParser;
import io.featurerelay.dashboard.service.MetricSample;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExpositionParserTest {

    @Test
    void readsNamesLabelsEscapesAndSpecialValues() {
        String text = """
                # HELP featurerelay_epoch_validation_accuracy  
                # TYPE featurerelay_epoch_validation_accuracy gauge
                featurerelay_epoch_validation_accuracy{epoch="1",role="base",run="base-1",} 0.8466
                featurerelay_jobs{state="RUNNING"} 1.0 1700000000000
                odd_labels{path="a\\\\b",quote="say \\"hi\\"",nl="x\\ny"} -2.5e-3
                plain_total 7
                not_a_number{run="r"} NaN
                infinite +Inf

                """;
        List<MetricSample> samples = ExpositionParser.parse(text);

        assertThat(samples).hasSize(6);
        assertThat(samples.get(0)).isEqualTo(new MetricSample("featurerelay_epoch_validation_accuracy",
                Map.of("epoch", "1", "role", "base", "run", "base-1"), 0.8466));
        assertThat(samples.get(1).value()).isEqualTo(1.0);
        assertThat(samples.get(2).labels()).containsEntry("path", "a\\b").containsEntry("quote", "say \"hi\"")
                .containsEntry("nl", "x\ny");
        assertThat(samples.get(2).value()).isEqualTo(-0.0025);
        assertThat(samples.get(3).labels()).isEmpty();
        assertThat(samples.get(4).value()).isNaN();
        assertThat(samples.get(5).value()).isInfinite();
    }

    @Test
    void malformedLinesAreReportedWithTheirNumber() {
        assertThatThrownBy(() -> ExpositionParser.parse("ok 1\nbroken{run=\"x} 1\n"))
                .hasMessageContaining("line 2").hasMessageContaining("unterminated value of label run");
        assertThatThrownBy(() -> ExpositionParser.parse("m{a=1} 2")).hasMessageContaining("expected '\"'");
        assertThatThrownBy(() -> ExpositionParser.parse("m one")).hasMessageContaining("'one' is not a sample value");
    }
}
