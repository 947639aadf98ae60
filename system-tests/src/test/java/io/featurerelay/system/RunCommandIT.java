package io.featurerelay.system;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's run command, on the committed sample with one epoch: Ctrl-C stops every process it started
 * (PostgreSQL with a clean shutdown); a second run reuses the broker's and the database's data and prints the
 * comparison table, fine-tuning's column included, and with {@code --learning-curve} the curve for budgets 10, 100
 * and all; a port in use is refused clearly.
 */
class RunCommandIT {

    static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    static final String SAMPLE = REPO.resolve("learning-core/src/test/resources/fashion-mnist-sample").toString();

    private final int[] ports = {ServiceProcess.freePort(), ServiceProcess.freePort(), ServiceProcess.freePort(),
        ServiceProcess.freePort(), ServiceProcess.freePort(), ServiceProcess.freePort(), ServiceProcess.freePort()};

    private List<String> command(Path runDir, String... extra) {
        // SIGINT back to its default first: a shell started with it ignored (as every command started in the
        // background by a non-interactive shell is, a CI job under nohup for one) cannot trap it, and the
        // Ctrl-C below would go unheard
        List<String> c = new ArrayList<>(List.of("env", "--default-signal=INT", "bash", "deploy/local/run.sh",
                "--no-build", "--data-dir", SAMPLE, "--epochs", "1", "--batch-size", "32", "--optimizer", "adam",
                "--kafka-port", "" + ports[0], "--controller-port", "" + ports[1], "--trainer-port", "" + ports[2],
                "--transfer-port", "" + ports[3], "--dashboard-port", "" + ports[4], "--postgres-port", "" + ports[5],
                "--prometheus-port", "" + ports[6], "--run-dir", runDir.toString()));
        c.addAll(List.of(extra));
        return c;
    }

    private static Process start(List<String> command, Path output) throws IOException {
        return new ProcessBuilder(command).directory(REPO.toFile()).redirectErrorStream(true)
                .redirectOutput(output.toFile()).start();
    }

    private boolean anyPortOpen() {
        for (int port : ports) {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
                return true;
            } catch (IOException closed) {
                // nobody listens: as it should be
            }
        }
        return false;
    }

    @Test
    void runCommandStopsOnCtrlCThenRunsTheExperimentAndPrintsTheTable() throws Exception {
        Path runDir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "run-command-");

        // Ctrl-C while the base model trains: every process stops
        Path first = runDir.resolve("first.out");
        Process interrupted = start(command(runDir), first);
        await().atMost(Duration.ofMinutes(3)).until(() -> Files.readString(first).contains("Base training base-"));
        new ProcessBuilder("kill", "-INT", Long.toString(interrupted.pid())).start().waitFor();
        assertThat(interrupted.waitFor(2, TimeUnit.MINUTES)).as(Files.readString(first)).isTrue();
        assertThat(interrupted.exitValue()).isEqualTo(130);
        assertThat(Files.readString(first)).contains("PostgreSQL          127.0.0.1:" + ports[5] + "/featurerelay")
                .contains("Stopping").contains("Stopped. Logs:");
        await().atMost(Duration.ofSeconds(30)).until(() -> !anyPortOpen());
        assertThat(Files.readString(runDir.resolve("logs/postgres-server.log"))).contains("database system is shut down");

        // the second run reuses the broker's data and runs to the end, fine-tuning (on by default) and the
        // learning curve included
        Path second = runDir.resolve("second.out");
        Process full = start(command(runDir, "--exit-when-done", "--learning-curve"), second);
        assertThat(full.waitFor(14, TimeUnit.MINUTES)).as("the run command finished").isTrue();
        String out = Files.readString(second);
        assertThat(full.exitValue()).as(out).isZero();
        // the database Ctrl-C shut down cleanly started again from its data, with no second initdb
        String serverLog = Files.readString(runDir.resolve("logs/postgres-server.log"));
        assertThat(serverLog).contains("database system was shut down at");
        assertThat(serverLog.split("creating configuration files", -1)).hasSize(2);
        // Debian's Prometheus (which .ci/run installs) scrapes the run's replicas; the dashboard reads it
        assertThat(out).contains("Prometheus          http://127.0.0.1:" + ports[6] + "/");
        assertThat(Files.readString(runDir.resolve("prometheus/prometheus.yml"))).contains("127.0.0.1:" + ports[2])
                .contains("127.0.0.1:" + ports[3]);
        // the signing key of this run directory, made once and kept private
        assertThat(Files.readString(runDir.resolve("secrets/signing.key")).strip()).hasSizeGreaterThanOrEqualTo(40);
        assertThat(Files.getPosixFilePermissions(runDir.resolve("secrets/signing.key")))
                .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
        assertThat(out).contains("dashboard           http://localhost:" + ports[4])
                .contains("epoch  | base acc (time)        | transfer acc (time)    | scratch acc (time)     "
                        + "| fine-tune acc (time)")
                .containsPattern("\\n1 +\\| 0\\.\\d{4} \\([\\d.]+ s\\) +\\| 0\\.\\d{4} \\([\\d.]+ s\\) +\\| 0\\.\\d{4} \\(")
                // fine-tuning's epoch 1 follows model 2's one epoch
                .containsPattern("\\n2 +\\| - +\\| - +\\| - +\\| 0\\.\\d{4} \\(")
                .contains(", fine-tune ").contains("(best model: ")
                .contains("images per class | transfer acc (time)    | fine-tune acc (time)   | scratch acc (time)")
                .containsPattern("\\n10 +\\| 0\\.\\d{4}").containsPattern("\\n100 +\\| 0\\.\\d{4}")
                .containsPattern("\\nall \\(400\\) +\\| 0\\.\\d{4}")
                .containsPattern("the baseline (reaches model 2 at|stays below model 2)")
                .contains("training time: base").contains("model 2:").contains("Frozen params: 9,568")
                .contains("Trainable params: 590,597").contains("Dashboard: http://localhost:" + ports[4]);
        assertThat(Files.readString(runDir.resolve("logs/result.txt"))).contains("Frozen params: 9,568");
        assertThat(runDir.resolve("logs/trainer-service.log")).exists();
        await().atMost(Duration.ofSeconds(30)).until(() -> !anyPortOpen());
    }

    @Test
    void aPortInUseIsRefusedWithItsName() throws Exception {
        Path runDir = Files.createTempDirectory(Path.of("target").toAbsolutePath(), "run-command-busy-");
        try (ServerSocket busy = new ServerSocket(ports[2], 0, InetAddress.getLoopbackAddress())) {
            Path out = runDir.resolve("busy.out");
            Process p = start(command(runDir, "--exit-when-done"), out);
            assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
            assertThat(p.exitValue()).isEqualTo(1);
            assertThat(Files.readString(out)).contains("port " + ports[2] + " (for trainer-service) is in use")
                    .contains("--trainer-port");
        }
    }
}
