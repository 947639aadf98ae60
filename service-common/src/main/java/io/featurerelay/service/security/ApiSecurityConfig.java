package io.featurerelay.service.security;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.util.Optional;

/** Settings both services share, under {@code featurerelay.*} (environment: {@code FEATURERELAY_*}). */
@ConfigMapping(prefix = "featurerelay")
public interface ApiSecurityConfig {

    /**
     * Token that requests under /api/ which change something (POST, DELETE) must carry, as
     * {@code Authorization: Bearer <token>} or {@code X-API-Key: <token>}; absent: the API is open (one-machine
     * runs). On Kubernetes it comes from a Secret.
     */
    Optional<String> apiToken();

    /** Reads under /api/ (GET) need the token too; the dashboard then sends it ({@code dashboard.api-token}). */
    @WithDefault("false")
    boolean protectReads();

    /** Predictions (POST .../predictions) need the token; false opens them while training stays protected. */
    @WithDefault("true")
    boolean protectPredictions();
}
