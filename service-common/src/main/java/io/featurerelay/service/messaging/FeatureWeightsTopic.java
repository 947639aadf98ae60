package io.featurerelay.service.messaging;

/** The feature-weights topic and the headers its records carry. */
public final class FeatureWeightsTopic {

    /** Channel and topic name (a channel named like its topic needs no topic property). */
    public static final String NAME = "feature-weights";
    public static final String DEAD_LETTER = "feature-weights-dlq";
    /** The schema of the value: {@code featurerelay.FeatureWeights.v1}. */
    public static final String SCHEMA_HEADER = "featurerelay-schema";
    /** Base64 HMAC-SHA256 over the whole envelope; present when the producer has a signing key. */
    public static final String SIGNATURE_HEADER = "featurerelay-signature";
    /** SHA-256 of the whole envelope, hex: lets consumers deduplicate without decoding. */
    public static final String SHA256_HEADER = "featurerelay-sha256";

    private FeatureWeightsTopic() {
    }
}
