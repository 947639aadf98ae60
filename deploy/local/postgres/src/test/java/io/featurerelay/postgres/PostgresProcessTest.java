package io.featurerelay.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One real server for the whole class (its start is the slow part); each test uses names of its own. */
class PostgresProcessTest {

    private static PostgresProcess postgres;

    @BeforeAll
    static void startServer() {
        postgres = PostgresProcess.onFreePort().start();
    }

    @AfterAll
    static void closeServer() {
        Path root = postgres.dataDir().getParent();
        postgres.close();
        assertThat(root).doesNotExist();
    }

    private static Connection as(String role, String password, String database) throws SQLException {
        return DriverManager.getConnection(postgres.jdbcUrl(database), role, password);
    }

    @Test
    void eachServiceRoleCreatesItsOwnSchemaAndCannotReadTheOthers() throws Exception {
        postgres.createRole("trainer", "trainer-secret");
        postgres.createRole("transfer", "transfer-secret");
        postgres.ensureServiceDatabase("featurerelay", "trainer", "transfer");
        // a second run (the run command started again) reuses the database and roles
        postgres.createRole("trainer", "trainer-secret");
        postgres.createRole("transfer", "transfer-secret");
        postgres.ensureServiceDatabase("featurerelay", "trainer", "transfer");

        try (Connection trainer = as("trainer", "trainer-secret", "featurerelay");
                Statement s = trainer.createStatement()) {
            s.execute("CREATE SCHEMA trainer");
            s.execute("CREATE TABLE trainer.jobs (id text PRIMARY KEY)");
            s.execute("INSERT INTO trainer.jobs VALUES ('base-1')");
            // "$user" comes first in the default search_path: the role finds its schema's tables unqualified
            try (ResultSet r = s.executeQuery("SELECT id FROM jobs")) {
                assertThat(r.next()).isTrue();
                assertThat(r.getString(1)).isEqualTo("base-1");
            }
        }
        try (Connection transfer = as("transfer", "transfer-secret", "featurerelay");
                Statement s = transfer.createStatement()) {
            s.execute("CREATE SCHEMA transfer");
            s.execute("CREATE TABLE transfer.jobs (id text PRIMARY KEY)");
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM trainer.jobs"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied for schema trainer")
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("42501");
            // nor can it put anything into the shared public schema (PostgreSQL 15 revoked that from PUBLIC)
            assertThatThrownBy(() -> s.execute("CREATE TABLE public.stray (id int)")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("permission denied for schema public");
        }
        try (Connection trainer = as("trainer", "trainer-secret", "featurerelay");
                Statement s = trainer.createStatement()) {
            assertThatThrownBy(() -> s.executeQuery("SELECT * FROM transfer.jobs"))
                    .hasMessageContaining("permission denied for schema transfer");
        }
        // the wrong password, and a role not granted the database, are refused
        assertThatThrownBy(() -> as("trainer", "wrong", "featurerelay")).isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
        postgres.createRole("outsider", "outsider-secret");
        assertThatThrownBy(() -> as("outsider", "outsider-secret", "featurerelay")).isInstanceOf(SQLException.class)
                .hasMessageContaining("permission denied for database \"featurerelay\"");
    }

    @Test
    void committedDataSurvivesAStopAndAKill() throws Exception {
        postgres.createRole("durable", "durable-secret");
        postgres.ensureServiceDatabase("durability", "durable");
        try (Connection c = as("durable", "durable-secret", "durability"); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA durable");
            s.execute("CREATE TABLE rows (n int)");
            s.execute("INSERT INTO rows VALUES (1)");
        }
        int port = postgres.port();

        postgres.stop();
        assertThat(postgres.isRunning()).isFalse();
        assertThatThrownBy(() -> as("durable", "durable-secret", "durability")).isInstanceOf(SQLException.class);
        postgres.start();
        assertThat(postgres.port()).isEqualTo(port);
        try (Connection c = as("durable", "durable-secret", "durability"); Statement s = c.createStatement()) {
            s.execute("INSERT INTO rows VALUES (2)");
        }

        // SIGKILL while a client holds a connection: crash recovery on the next start keeps every commit
        try (Connection held = as("durable", "durable-secret", "durability")) {
            long pid = postgres.pid();
            postgres.kill();
            assertThat(ProcessHandle.of(pid)).isEmpty();
            assertThatThrownBy(() -> held.createStatement().execute("SELECT 1")).isInstanceOf(SQLException.class);
        }
        postgres.start();
        try (Connection c = as("durable", "durable-secret", "durability"); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT count(*), sum(n) FROM rows")) {
            assertThat(r.next()).isTrue();
            assertThat(r.getInt(1)).isEqualTo(2);
            assertThat(r.getInt(2)).isEqualTo(3);
        }
        assertThat(Files.readString(postgres.logFile())).contains("database system was interrupted");
    }

    @Test
    void theServerListensOnLoopbackOnlyAndRunsAsAnUnprivilegedUserWhenWeAreRoot() throws Exception {
        ProcessHandle.Info server = ProcessHandle.of(postgres.pid()).orElseThrow().info();
        // the process we hold is the server itself (setsid and setpriv exec in place), so stop() and kill() reach it
        assertThat(server.command().orElseThrow()).endsWith("/postgres");
        // in a session of its own, so that a terminal's Ctrl-C leaves its stopping to the launcher
        String stat = Files.readString(Path.of("/proc", Long.toString(postgres.pid()), "stat"));
        assertThat(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[3]).isEqualTo(Long.toString(postgres.pid()));
        String user = server.user().orElseThrow();
        if (ServerAccount.currentUid() == 0) {
            // CI and this project's machines run as root, which PostgreSQL refuses: the server switched accounts
            assertThat(user).isIn(ServerAccount.DEDICATED_NAME, ServerAccount.FALLBACK_NAME);
            assertThat(Files.getOwner(postgres.dataDir()).getName()).isEqualTo(user);
        } else {
            assertThat(user).isEqualTo(System.getProperty("user.name"));
        }
        try (Connection c = postgres.superuserConnection("postgres"); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("SELECT current_setting('listen_addresses'),"
                        + " current_setting('unix_socket_directories'), current_setting('fsync'),"
                        + " current_setting('server_encoding'), current_setting('lc_collate'),"
                        + " current_setting('password_encryption'), current_setting('shared_buffers')")) {
            assertThat(r.next()).isTrue();
            assertThat(r.getString(1)).isEqualTo("127.0.0.1");
            assertThat(r.getString(2)).isEmpty();
            assertThat(r.getString(3)).isEqualTo("on");
            assertThat(r.getString(4)).isEqualTo("UTF8");
            assertThat(r.getString(5)).isEqualTo("C");
            assertThat(r.getString(6)).isEqualTo("scram-sha-256");
            assertThat(r.getString(7)).isEqualTo("32MB");
        }
        // the generated superuser password is readable by its owner alone, and lies outside the data directory
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(postgres.superuserPasswordFile())))
                .isEqualTo("rw-------");
        assertThat(postgres.superuserPasswordFile().getParent()).isEqualTo(postgres.dataDir().getParent());
    }

    @Test
    void aPortInUseIsRefusedClearly(@TempDir Path dir) throws IOException {
        try (ServerSocket busy = new ServerSocket(0, 0, InetAddress.getLoopbackAddress());
                PostgresProcess second = new PostgresProcess(dir.resolve("postgres"), busy.getLocalPort())) {
            assertThatThrownBy(second::start).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("port " + busy.getLocalPort() + " on 127.0.0.1 is in use");
            assertThat(second.isRunning()).isFalse();
        }
    }

    @Test
    void namesThatAreNotPlainIdentifiersNeverReachSql() {
        assertThatThrownBy(() -> postgres.createRole("trainer; DROP DATABASE featurerelay", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a valid role name");
        assertThatThrownBy(() -> postgres.createDatabase("Feature-Relay")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> postgres.jdbcUrl("a".repeat(64))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> postgres.createRole(PostgresProcess.SUPERUSER, "x"))
                .hasMessageContaining("reserved");
        assertThatThrownBy(() -> postgres.createRole("pg_monitor", "x")).hasMessageContaining("reserved");
        assertThatThrownBy(() -> postgres.ensureServiceDatabase("featurerelay", "nobody_made_me"))
                .hasMessageContaining("does not exist");
    }
}
