package io.featurerelay.service.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/** Whether a service may run without an envelope signing key ({@code featurerelay.allow-unsigned}). */
@ConfigMapping(prefix = "featurerelay")
public interface SigningConfig {

    /**
     * Run without a signing key: the trainer publishes unsigned envelopes, the transfer service accepts them.
     * Only for a run on one machine whose Kafka nobody else reaches (the run command sets a key anyway); by
     * default a service without a key refuses to start, so that a deployment cannot forget the key silently.
     */
    @WithDefault("false")
    boolean allowUnsigned();
}
