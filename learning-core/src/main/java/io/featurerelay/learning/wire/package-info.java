/** The FeatureWeights envelope (v1): a language-neutral container for a base network's parameters, with checksum and optional HMAC signature. */
package io.featurerelay.learning.wire;
