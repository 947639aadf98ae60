package io.featurerelay.learning.wire;

/**
 * Bounds checked before anything is allocated.
 *
 * @param maxEnvelopeBytes largest envelope accepted (the broker's message.max.bytes is 10 MiB)
 * @param maxHeaderBytes   largest JSON header accepted
 */
public record DecodeLimits(int maxEnvelopeBytes, int maxHeaderBytes) {

    public static final DecodeLimits DEFAULT = new DecodeLimits(10 << 20, 1 << 20);

    public DecodeLimits {
        if (maxEnvelopeBytes <= 8 || maxHeaderBytes <= 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
    }
}
