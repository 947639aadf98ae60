package io.featurerelay.system;

import static org.awaitility.Awaitility.await;

import io.featurerelay.broker.KafkaBrokerProcess;
import io.restassured.RestAssured;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A built Quarkus service started as its own JVM, as a user would start it; stopped with SIGTERM. */
final class ServiceProcess implements AutoCloseable {

    private final String module;
    private final int port;
    private final Map<String, String> properties = new LinkedHashMap<>();
    private final Path log;
    private Process process;

    ServiceProcess(String module, Path logDir) {
        this(module, logDir, 0);
    }

    /**
     * Replica {@code replica} of a service: its own port and log, and a replica id that stays the same across
     * restarts (a restarted replica gives back at once what its killed predecessor held).
     */
    ServiceProcess(String module, Path logDir, int replica) {
        this.module = module;
        this.port = freePort();
        this.log = logDir.resolve(replica == 0 ? module + ".log" : module + "-" + replica + ".log");
        properties.put("quarkus.http.port", Integer.toString(port));
        properties.put("quarkus.http.host", "127.0.0.1");
        properties.put("featurerelay.replica-id", module.replace("-service", "") + "-" + replica);
        // short leases, so that a killed replica's jobs are taken over within seconds
        properties.put("featurerelay.jobs.lease", "6s");
        properties.put("featurerelay.jobs.poll-interval", "200ms");
    }

    String replicaId() {
        return properties.get("featurerelay.replica-id");
    }

    ServiceProcess with(String key, String value) {
        properties.put(key, value);
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** Starts the service and returns once it is ready (Kafka reachable). */
    ServiceProcess start() {
        return start("/q/health/ready");
    }

    /** Starts the service and returns once it is alive, ready or not (a broker that is not there yet). */
    ServiceProcess startAlive() {
        return start("/q/health/live");
    }

    private ServiceProcess start(String healthPath) {
        Path jar = Path.of("..", module, "target", "quarkus-app", "quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: run mvn verify from the repository root");
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx512m", "-XX:MinHeapFreeRatio=10", "-XX:MaxHeapFreeRatio=30",
                "-Dorg.bytedeco.javacpp.maxbytes=900m",
                "-Dorg.bytedeco.javacpp.maxphysicalbytes=1500m", "--add-modules=jdk.incubator.vector"));
        properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
        command.add("-jar");
        command.add(jar.toString());
        try {
            Files.createDirectories(log.getParent());
            ProcessBuilder builder = new ProcessBuilder(command);
            // as deploy/local/run.sh and the Kubernetes manifests run the services
            builder.environment().putAll(NativeRuntime.settings());
            process = builder.redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(() -> {
            if (!process.isAlive()) {
                throw new IllegalStateException(module + " exited; see " + log);
            }
            return RestAssured.given().baseUri(url()).get(healthPath).statusCode() == 200;
        });
        return this;
    }

    /** SIGTERM, as a container runtime or Ctrl-C would (SIGKILL after 30 s). */
    void stop() {
        if (process == null) {
            return;
        }
        KafkaBrokerProcess.terminate(process);
        process = null;
    }

    /** SIGKILL: no shutdown hook, no flush, as a crash or an OOM kill would end it. */
    void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** The operating system's id of the running service, for reading its figures from /proc. */
    long pid() {
        if (process == null) {
            throw new IllegalStateException(module + " is not running");
        }
        return process.pid();
    }

    /** The HTTP status of /q/health/ready now. */
    int readiness() {
        return RestAssured.given().baseUri(url()).get("/q/health/ready").statusCode();
    }

    @Override
    public void close() {
        stop();
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
