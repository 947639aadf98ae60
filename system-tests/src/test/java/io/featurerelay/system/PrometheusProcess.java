package io.featurerelay.system;

import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Debian's Prometheus server, scraping the services' /q/metrics every second. */
final class PrometheusProcess implements AutoCloseable {

    static final Path BINARY = Path.of("/usr/bin/prometheus");

    private final int port = ServiceProcess.freePort();
    private Process process;

    PrometheusProcess start(Path workDir, List<String> targets) {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("the Prometheus test needs Debian's prometheus: "
                    + "sudo apt-get install -y prometheus (.ci/run installs it)");
        }
        StringBuilder config = new StringBuilder("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                + "scrape_configs:\n");
        for (String target : targets) {
            String hostPort = target.replaceFirst("^https?://", "");
            config.append("  - job_name: '").append(hostPort).append("'\n    metrics_path: /q/metrics\n")
                    .append("    static_configs:\n      - targets: ['").append(hostPort).append("']\n");
        }
        try {
            Path dir = Files.createDirectories(workDir.resolve("prometheus"));
            Path file = dir.resolve("prometheus.yml");
            Files.writeString(file, config);
            process = new ProcessBuilder(BINARY.toString(), "--config.file=" + file,
                    "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                .until(() -> RestAssured.given().baseUri(url()).get("/-/ready").statusCode() == 200);
        return this;
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() {
        if (process != null) {
            process.destroy();
            try {
                process.waitFor(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process.destroyForcibly();
        }
    }
}
