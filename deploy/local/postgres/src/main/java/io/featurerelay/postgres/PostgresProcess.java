package io.featurerelay.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.postgresql.PGConnection;

/**
 * A real PostgreSQL server as a child process: Debian's binaries, listening on 127.0.0.1 only, no Unix sockets,
 * fsync on (it is the services' durable store). The first start creates the cluster (initdb, SCRAM passwords,
 * UTF-8, locale C) with a generated superuser password kept beside the data directory; later starts reuse it, so
 * data survives {@link #stop()}, {@link #kill()} and a new process. When this JVM runs as root, every binary
 * runs as an unprivileged account instead ({@link ServerAccount}), as PostgreSQL refuses root.
 *
 * <p>The files beside a data directory {@code DIR/postgres}: {@code DIR/postgres.log} (initdb's and the
 * server's output, unless {@link #logTo(Path)} says otherwise) and {@code DIR/postgres.superuser-password}.
 */
public final class PostgresProcess implements AutoCloseable {

    /** The cluster's superuser; only this class logs in as it, for the admin work below. */
    public static final String SUPERUSER = "postgres";
    /** Database and role names this class accepts: plain lower-case SQL identifiers, nothing to quote. */
    public static final Pattern IDENTIFIER = Pattern.compile("^[a-z][a-z0-9_]{0,62}$");

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);
    private static final int LOG_TAIL_LINES = 30;

    private final Path dataDir;
    private final int port;
    /** A temporary directory holding the data directory, deleted on {@link #close()}; null for kept data. */
    private final Path temporaryRoot;
    private Path logFile;
    private Path binDir;
    private Optional<ServerAccount> account;
    private Process postmaster;
    private boolean hookAdded;
    private final Thread stopOnExit = new Thread(this::stopOnJvmExit, "postgres-stop");

    /** A server with a kept data directory (created on first start) on a fixed port: the one-machine run. */
    public PostgresProcess(Path dataDir, int port) {
        this(dataDir.toAbsolutePath().normalize(), port, null);
    }

    private PostgresProcess(Path dataDir, int port, Path temporaryRoot) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("not a TCP port: " + port);
        }
        this.dataDir = dataDir;
        this.port = port;
        this.temporaryRoot = temporaryRoot;
        this.logFile = sibling(".log");
    }

    /** A server on a free loopback port with a fresh temporary data directory, deleted on {@link #close()}. */
    public static PostgresProcess onFreePort() {
        try {
            Path root = Files.createTempDirectory("featurerelay-pg-");
            // searchable, not listable: the server's own account (when we are root) must reach the data below it
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
            return new PostgresProcess(root.resolve("postgres"), freePort(), root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends initdb's and the server's output to {@code file} instead of the one beside the data directory. */
    public synchronized PostgresProcess logTo(Path file) {
        this.logFile = file.toAbsolutePath();
        return this;
    }

    public int port() {
        return port;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return logFile;
    }

    /** Where the generated superuser password is kept (mode 600): beside the data directory, never inside it. */
    public Path superuserPasswordFile() {
        return sibling(".superuser-password");
    }

    public String superuserPassword() {
        return PasswordFiles.read(superuserPasswordFile());
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/DB} */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + identifier(database, "database");
    }

    public synchronized boolean isRunning() {
        return postmaster != null && postmaster.isAlive();
    }

    /** The postmaster's process id, -1 when it is not running. */
    public synchronized long pid() {
        return isRunning() ? postmaster.pid() : -1;
    }

    /**
     * Creates the cluster when the data directory is empty, starts the server and returns once it accepts
     * connections. A port already in use is refused before anything starts; a failed start throws with the end
     * of the server's log.
     */
    public synchronized PostgresProcess start() {
        if (isRunning()) {
            return this;
        }
        refuseBusyPort();
        if (binDir == null) {
            binDir = PostgresBinaries.locate();
            account = ServerAccount.forThisJvm();
        }
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(logFile.getParent());
            account.ifPresent(a -> {
                a.makeReachable(dataDir);
                a.own(dataDir);
            });
            if (isEmpty(dataDir)) {
                initdb();
            } else if (!Files.exists(dataDir.resolve("PG_VERSION"))) {
                throw new IllegalStateException(dataDir + " is neither empty nor a PostgreSQL data directory");
            } else if (!Files.exists(superuserPasswordFile())) {
                throw new IllegalStateException("the PostgreSQL data in " + dataDir + " has no superuser password file "
                        + superuserPasswordFile() + "; it was not created by this launcher (use another data directory)");
            }
            List<String> server = new ArrayList<>();
            // a session of its own: Ctrl-C in a terminal reaches the whole foreground process group, and the server
            // must stop when its launcher says so (after the services), not at the same moment as everything else
            if (ServerAccount.onPath("setsid")) {
                server.add("setsid");
            }
            server.addAll(List.of(binDir.resolve("postgres").toString(), "-D", dataDir.toString(),
                    "-p", Integer.toString(port),
                    "-c", "listen_addresses=127.0.0.1",
                    // no Unix socket: the default directory (/var/run/postgresql) belongs to Debian's own clusters
                    "-c", "unix_socket_directories=",
                    // the services' durable store: a crash or kill() must lose no committed transaction
                    "-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
                    // a local, shared machine: small caches, enough connections for a few replicas' pools
                    "-c", "shared_buffers=32MB", "-c", "max_connections=100",
                    "-c", "logging_collector=off", "-c", "log_destination=stderr",
                    "-c", "log_line_prefix=%m [%p] "));
            postmaster = command(server).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start PostgreSQL: " + e.getMessage(), e);
        }
        if (!hookAdded) {
            Runtime.getRuntime().addShutdownHook(stopOnExit);
            hookAdded = true;
        }
        awaitReady();
        return this;
    }

    /** Fast shutdown (SIGINT: running transactions roll back, clients are disconnected), waited for. */
    public synchronized void stop() {
        if (postmaster == null) {
            return;
        }
        if (postmaster.isAlive()) {
            List<ProcessHandle> children = postmaster.descendants().toList();
            signal(postmaster.pid(), "INT");
            try {
                if (!postmaster.waitFor(STOP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    kill();
                    return;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill();
                return;
            }
            awaitExit(children);
        }
        postmaster = null;
    }

    /**
     * SIGKILL of the postmaster, as a crash would: its backends notice and exit, and waiting for them lets
     * {@link #start()} run crash recovery on the same data right away (a backend still attached to the old
     * shared memory would make the new postmaster refuse).
     */
    public synchronized void kill() {
        if (postmaster == null) {
            return;
        }
        List<ProcessHandle> children = postmaster.descendants().toList();
        postmaster.destroyForcibly();
        try {
            postmaster.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        awaitExit(children);
        postmaster = null;
    }

    /** Stops the server; a temporary data directory (from {@link #onFreePort()}) is deleted with everything in it. */
    @Override
    public synchronized void close() {
        stop();
        if (hookAdded) {
            try {
                Runtime.getRuntime().removeShutdownHook(stopOnExit);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook runs anyway and finds nothing to stop
            }
            hookAdded = false;
        }
        if (temporaryRoot != null) {
            deleteRecursively(temporaryRoot);
        }
    }

    // --- admin work, as the superuser --------------------------------------------------------------------------

    /** Creates {@code database} unless it exists. */
    public void createDatabase(String database) {
        identifier(database, "database");
        try (Connection c = superuserConnection("postgres")) {
            if (!exists(c, "SELECT 1 FROM pg_database WHERE datname = ?", database)) {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE DATABASE " + database + " ENCODING 'UTF8' TEMPLATE template0");
                } catch (SQLException e) {
                    if (!"42P04".equals(e.getSQLState())) { // duplicate_database: created meanwhile
                        throw e;
                    }
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create the database " + database + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates the login role {@code role} with {@code password}, or sets that password on the existing role. The
     * driver hashes the password (SCRAM-SHA-256) before it is sent, so no server log ever holds it in clear.
     */
    public void createRole(String role, String password) {
        identifier(role, "role");
        if (role.equals(SUPERUSER) || role.startsWith("pg_")) {
            throw new IllegalArgumentException("the role name " + role + " is reserved");
        }
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("the role " + role + " needs a password");
        }
        try (Connection c = superuserConnection("postgres")) {
            try (Statement s = c.createStatement()) {
                if (exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
                    s.execute("ALTER ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
                } else {
                    s.execute("CREATE ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE");
                }
            }
            c.unwrap(PGConnection.class).alterUserPassword(role, password.toCharArray(), "scram-sha-256");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create the role " + role + ": " + e.getMessage(), e);
        }
    }

    /**
     * Creates {@code database} unless it exists, and lets each of {@code roles} (created with
     * {@link #createRole}) connect to it and create schemas in it (GRANT CONNECT, CREATE, TEMPORARY); nobody else
     * may connect. Each service's role then creates its own schema (its Flyway migrations do), which PostgreSQL 15
     * keeps from every other non-superuser role, as it grants nothing on a new schema but to its owner.
     * Idempotent: a second run reuses the database and roles.
     */
    public void ensureServiceDatabase(String database, String... roles) {
        createDatabase(database);
        try (Connection c = superuserConnection("postgres"); Statement s = c.createStatement()) {
            s.execute("REVOKE ALL ON DATABASE " + database + " FROM PUBLIC");
            for (String role : roles) {
                identifier(role, "role");
                if (!exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
                    throw new IllegalStateException("the role " + role + " does not exist; create it with createRole");
                }
                s.execute("GRANT CONNECT, CREATE, TEMPORARY ON DATABASE " + database + " TO " + role);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot set up the database " + database + ": " + e.getMessage(), e);
        }
    }

    /** A connection as the superuser, for tests that inspect what the services' roles did. */
    public Connection superuserConnection(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), connectionProperties(SUPERUSER, superuserPassword()));
    }

    // --- internals ---------------------------------------------------------------------------------------------

    private void initdb() throws IOException {
        if (!Files.exists(superuserPasswordFile())) {
            PasswordFiles.write(superuserPasswordFile(), PasswordFiles.generate());
        }
        // initdb reads the password from a file; this copy is readable by the server's account alone, and gone after
        Path pwfile = dataDir.resolveSibling(dataDir.getFileName() + ".initdb-pwfile");
        Files.deleteIfExists(pwfile);
        PasswordFiles.write(pwfile, superuserPassword());
        try {
            account.ifPresent(a -> a.own(pwfile));
            Process initdb = command(List.of(binDir.resolve("initdb").toString(), "-D", dataDir.toString(),
                    "-U", SUPERUSER, "--pwfile=" + pwfile, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
                    "--no-instructions")).start();
            if (!initdb.waitFor(5, TimeUnit.MINUTES)) {
                initdb.destroyForcibly();
                throw new IllegalStateException("initdb of " + dataDir + " did not finish in 5 minutes:\n" + tail());
            }
            if (initdb.exitValue() != 0) {
                throw new IllegalStateException("initdb of " + dataDir + " failed with exit code " + initdb.exitValue()
                        + "; the end of " + logFile + ":\n" + tail());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted during initdb", e);
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    /** A PostgreSQL binary as the server's account, in the data directory, output appended to the log. */
    private ProcessBuilder command(List<String> command) {
        ProcessBuilder builder = new ProcessBuilder(account.map(a -> a.wrap(command)).orElse(command))
                .directory(dataDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        Map<String, String> env = builder.environment();
        // PG* variables of the caller (PGDATA, PGPORT, PGOPTIONS, ...) must not reach the server
        env.keySet().removeIf(k -> k.startsWith("PG"));
        env.put("LC_ALL", "C");
        return builder;
    }

    private void refuseBusyPort() {
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true); // as the server does: sockets left in TIME_WAIT by closed connections do not count
            probe.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
        } catch (BindException e) {
            throw new IllegalStateException("port " + port + " on 127.0.0.1 is in use; PostgreSQL needs it free"
                    + " (stop what listens there or choose another port)", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot check port " + port, e);
        }
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        SQLException last = null;
        while (System.nanoTime() < deadline) {
            if (!postmaster.isAlive()) {
                int code = postmaster.exitValue();
                postmaster = null;
                throw new IllegalStateException("PostgreSQL exited with " + code + " during start; the end of "
                        + logFile + ":\n" + tail());
            }
            try (Connection c = superuserConnection("postgres")) {
                if (c.isValid(2)) {
                    return;
                }
            } catch (SQLException e) {
                last = e; // not listening yet, or "the database system is starting up" during recovery
            }
            sleep(100);
        }
        kill();
        throw new IllegalStateException("PostgreSQL did not accept connections in " + READY_TIMEOUT.toSeconds()
                + " s (" + (last == null ? "no answer" : last.getMessage()) + "); the end of " + logFile + ":\n" + tail());
    }

    private void stopOnJvmExit() {
        try {
            stop();
        } catch (RuntimeException e) {
            kill();
        }
    }

    private static void awaitExit(List<ProcessHandle> processes) {
        for (ProcessHandle p : processes) {
            try {
                p.onExit().get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                p.destroyForcibly();
            }
        }
    }

    /**
     * A signal other than SIGTERM and SIGKILL, which are all that {@link Process} sends: through PostgreSQL's own
     * pg_ctl (as the server's account), which comes with the server where a kill binary may not (procps is not
     * essential on Debian).
     */
    private void signal(long pid, String signal) {
        try {
            Process pgCtl = command(List.of(binDir.resolve("pg_ctl").toString(), "kill", signal, Long.toString(pid)))
                    .start();
            if (!pgCtl.waitFor(30, TimeUnit.SECONDS)) {
                pgCtl.destroyForcibly();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot signal PostgreSQL (pid " + pid + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Properties connectionProperties(String user, String password) {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "5");
        p.setProperty("ApplicationName", "featurerelay-local-postgres");
        return p;
    }

    private static boolean exists(Connection c, String query, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(query)) {
            s.setString(1, name);
            try (ResultSet r = s.executeQuery()) {
                return r.next();
            }
        }
    }

    /** Checked before a name goes into SQL: DDL takes no bind parameters, and names that match need no quoting. */
    static String identifier(String name, String what) {
        if (name == null || !IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException("not a valid " + what + " name: " + name + " (expected "
                    + IDENTIFIER.pattern() + ")");
        }
        return name;
    }

    private Path sibling(String suffix) {
        return dataDir.resolveSibling(dataDir.getFileName() + suffix);
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES), lines.size()));
        } catch (IOException e) {
            return "(no log at " + logFile + ")";
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 0, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for PostgreSQL", e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort: a temporary directory
        }
    }
}
