package io.featurerelay.service.security;

import io.smallrye.config.ConfigMapping;
import java.util.Optional;

/** Settings both services share, under {@code featurerelay.*} (environment: {@code FEATURERELAY_*}). */
@ConfigMapping(prefix = "featurerelay")
public interface ApiSecurityConfig {

    /**
     * Bearer token that POST and DELETE requests under /api/ must carry ({@code Authorization: Bearer ...});
     * absent: the API is open (one-machine runs). Reads stay open for the dashboard.
     */
    Optional<String> apiToken();
}
