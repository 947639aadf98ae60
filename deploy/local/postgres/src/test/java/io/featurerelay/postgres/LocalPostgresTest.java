package io.featurerelay.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The run command's launcher as the run command uses it: a child JVM, SIGTERM to stop, a second run on the same data. */
class LocalPostgresTest {

    @TempDir
    Path runDir;

    private Process launch(int port, Path output) throws IOException {
        return new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LocalPostgres.class.getName(),
                "--data-dir", runDir.resolve("postgres").toString(), "--port", Integer.toString(port),
                "--database", "featurerelay", "--role", "trainer:" + runDir.resolve("secrets/trainer.password"),
                "--role", "transfer:" + runDir.resolve("secrets/transfer.password"),
                "--log", runDir.resolve("logs/postgres-server.log").toString()))
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    }

    private static String awaitReady(Process process, Path output) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
            String out = Files.readString(output);
            if (out.contains(LocalPostgres.READY)) {
                return out;
            }
            assertThat(process.isAlive()).as(out).isTrue();
            Thread.sleep(100);
        }
        throw new AssertionError("not ready: " + Files.readString(output));
    }

    private static boolean listening(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Test
    void startsWithTheServiceRolesStopsOnSigtermAndASecondRunReusesTheData() throws Exception {
        int port = PostgresProcess.freePort();
        Path first = runDir.resolve("first.out");
        Process launcher = launch(port, first);
        assertThat(awaitReady(launcher, first)).contains("PostgreSQL ready on 127.0.0.1:" + port
                + ", database featurerelay, roles trainer, transfer");
        Path trainerFile = runDir.resolve("secrets/trainer.password");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(trainerFile))).isEqualTo("rw-------");
        String trainerPassword = PasswordFiles.read(trainerFile);
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/featurerelay";
        try (Connection c = DriverManager.getConnection(url, "trainer", trainerPassword);
                Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA trainer");
            s.execute("CREATE TABLE trainer.jobs (id text)");
            s.execute("INSERT INTO trainer.jobs VALUES ('kept')");
        }

        launcher.destroy(); // SIGTERM, as the run command's Ctrl-C handling sends
        assertThat(launcher.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(Files.readString(first)).contains("PostgreSQL stopped");
        assertThat(launcher.exitValue()).isEqualTo(143);
        assertThat(listening(port)).as("the server stopped with its launcher").isFalse();
        assertThat(Files.readString(runDir.resolve("logs/postgres-server.log"))).contains("fast shutdown request");

        Path second = runDir.resolve("second.out");
        Process again = launch(port, second);
        try {
            awaitReady(again, second);
            assertThat(PasswordFiles.read(trainerFile)).isEqualTo(trainerPassword);
            try (Connection c = DriverManager.getConnection(url, "trainer", trainerPassword);
                    Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT id FROM trainer.jobs")) {
                assertThat(r.next()).isTrue();
                assertThat(r.getString(1)).isEqualTo("kept");
            }
            try (Connection c = DriverManager.getConnection(url, "transfer",
                    PasswordFiles.read(runDir.resolve("secrets/transfer.password")))) {
                assertThat(c.isValid(2)).isTrue();
            }
        } finally {
            again.destroy();
            assertThat(again.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(listening(port)).isFalse();
    }
}
