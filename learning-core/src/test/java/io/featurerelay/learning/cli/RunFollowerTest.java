package io.featurerelay.learning.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** The run command's status lines, from job statuses shaped as the services' REST API gives them. */
class RunFollowerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String line(String status) throws Exception {
        JsonNode node = JSON.readTree(status);
        return RunFollower.progressLine(node, "transfer");
    }

    @Test
    void aTrainingModelShowsEpochBatchSpeedAndEta() throws Exception {
        assertThat(line("{\"id\":\"t-1\",\"state\":\"RUNNING\",\"progress\":{\"role\":\"scratch\",\"phase\":\"training\","
                + "\"epoch\":2,\"epochs\":5,\"batch\":17,\"batches\":235,\"imagesPerSecond\":1834.4,\"etaSeconds\":61.6}}"))
                .isEqualTo("scratch  t-1 RUNNING  epoch 2/5 batch 17/235  1834 images/s  ETA 62 s");
    }

    @Test
    void aModelWhoseFirstBatchHasNotRunIsStartingNotAtEpochZero() throws Exception {
        assertThat(line("{\"id\":\"t-1\",\"state\":\"RUNNING\",\"progress\":{\"role\":\"scratch\",\"phase\":\"training\","
                + "\"epoch\":0,\"epochs\":0,\"batch\":0,\"batches\":0,\"imagesPerSecond\":0,\"etaSeconds\":0}}"))
                .isEqualTo("scratch  t-1 RUNNING  starting");
    }

    @Test
    void featurizingAndNoProgressYet() throws Exception {
        assertThat(line("{\"id\":\"t-1\",\"state\":\"RUNNING\",\"progress\":{\"role\":\"transfer\","
                + "\"phase\":\"featurizing\"}}")).isEqualTo("transfer t-1 RUNNING  computing frozen activations");
        assertThat(line("{\"id\":\"t-1\",\"state\":\"QUEUED\",\"progress\":null}")).isEqualTo("transfer t-1 QUEUED");
        assertThat(line("{\"id\":\"t-1\",\"state\":\"QUEUED\"}")).isEqualTo("transfer t-1 QUEUED");
    }
}
