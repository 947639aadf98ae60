package io.featurerelay.learning.wire;

import java.util.LinkedHashMap;
import java.util.Map;

/** A decoded, checksum-verified envelope: its header and its parameter arrays by layer then key. */
public record FeatureWeights(EnvelopeHeader header, Map<String, Map<String, float[]>> parameters) {

    /** Only the feature layers' arrays. */
    public Map<String, Map<String, float[]>> featureParameters() {
        Map<String, Map<String, float[]>> out = new LinkedHashMap<>();
        for (String layer : header.featureLayers()) {
            out.put(layer, parameters.get(layer));
        }
        return out;
    }
}
