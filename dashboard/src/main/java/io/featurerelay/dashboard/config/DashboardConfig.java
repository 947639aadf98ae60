package io.featurerelay.dashboard.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Everything the dashboard can be told, under {@code dashboard.*} (environment: {@code DASHBOARD_*}). */
@ConfigMapping(prefix = "dashboard")
public interface DashboardConfig {

    /**
     * Base URLs of trainer-service, comma-separated: one per replica. Each is asked for its readiness and, without
     * a Prometheus server, scraped; the replicas' series are merged.
     */
    @WithDefault("http://127.0.0.1:8081")
    List<URI> trainerUrl();

    /** Base URLs of transfer-service, comma-separated: one per replica (as {@link #trainerUrl()}). */
    @WithDefault("http://127.0.0.1:8082")
    List<URI> transferUrl();

    /** Prometheus server whose HTTP API holds the services' metrics; absent: scrape /q/metrics directly. */
    Optional<URI> prometheusUrl();

    /** Limit of every call to a service or to Prometheus. */
    @WithDefault("3s")
    Duration timeout();

    /**
     * Token sent to the services ({@code Authorization: Bearer}), needed when they protect reads
     * ({@code featurerelay.protect-reads}); absent: none is sent.
     */
    Optional<String> apiToken();

    /** How often the page asks for new figures. */
    @WithDefault("2s")
    Duration refreshInterval();
}
