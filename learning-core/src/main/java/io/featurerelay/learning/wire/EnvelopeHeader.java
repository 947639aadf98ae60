package io.featurerelay.learning.wire;

import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.training.EpochResult;
import java.util.List;

/**
 * The JSON header of a FeatureWeights envelope (schema version 1).
 *
 * @param schemaVersion   1
 * @param baseModelId     id of the base run that produced the weights (also the Kafka key)
 * @param createdAt       ISO-8601 instant
 * @param dataset         what the base network was trained on
 * @param spec            the network as data
 * @param featureLayers   layers that form the transferable features
 * @param headLayers      layers of the base's classification head (carried so that it can be reused)
 * @param arrays          the payload's arrays, in payload order
 * @param history         the base run's epochs
 * @param trainingSeconds the base run's training time
 * @param payloadLength   bytes of payload after the header
 * @param payloadSha256   lower-case hex SHA-256 of the payload
 */
public record EnvelopeHeader(int schemaVersion, String baseModelId, String createdAt, DatasetInfo dataset,
        ModelSpec spec, List<String> featureLayers, List<String> headLayers, List<ArrayEntry> arrays,
        List<EpochResult> history, double trainingSeconds, long payloadLength, String payloadSha256) {
}
