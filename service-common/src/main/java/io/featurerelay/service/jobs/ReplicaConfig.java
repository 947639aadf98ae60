package io.featurerelay.service.jobs;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Optional;

/** How this replica takes part in its service's shared job table ({@code featurerelay.*}). */
@ConfigMapping(prefix = "featurerelay")
public interface ReplicaConfig {

    /**
     * This replica's name, unique among the service's replicas that are up: on Kubernetes the pod name
     * ({@code FEATURERELAY_REPLICA_ID} from the downward API). Default: host name and process id.
     */
    Optional<String> replicaId();

    /** The job table's timings. */
    Jobs jobs();

    interface Jobs {
        /**
         * How long a claimed job stays this replica's without a renewal. A replica that dies holds its jobs this
         * long; then another takes them over. Renewed every quarter of it.
         */
        @WithDefault("20s")
        Duration lease();

        /** How often an idle replica looks for waiting jobs (it is woken at once by its own submissions). */
        @WithDefault("500ms")
        Duration pollInterval();

        /**
         * Takeovers of one job (its replica died holding it) before it fails: a job that kills every replica that
         * runs it is not run forever. A replica that stops cleanly hands its jobs back without counting.
         */
        @WithDefault("5")
        int maxAttempts();

        /**
         * MiB of the database's disk held back (a table of filler rows) so that a job that filled the disk can
         * still record that it failed, and why: given back when that write finds no space, taken again before the
         * next job. 0 holds none.
         */
        @WithDefault("4")
        int diskReserveMib();
    }

    default JobsSettings settings() {
        return new JobsSettings(replicaId().map(String::strip).filter(s -> !s.isEmpty()).orElseGet(
                ReplicaConfig::defaultReplicaId), jobs().lease(), jobs().pollInterval(), jobs().maxAttempts(),
                jobs().diskReserveMib());
    }

    private static String defaultReplicaId() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            host = "replica";
        }
        return host + "-" + ManagementFactory.getRuntimeMXBean().getPid();
    }
}
