package io.featurerelay.postgres;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The run command's PostgreSQL: starts the server on a kept data directory, makes sure the services' database and
 * roles exist, prints one ready line and stays in the foreground until SIGTERM or Ctrl-C, which stop the server
 * cleanly (fast shutdown) before this JVM exits.
 *
 * <p>Each {@code --role NAME:FILE} names the file holding that role's password: read when it exists, generated
 * there (mode 600) when it does not, so that no password ever appears on a command line.
 *
 * <pre>java -cp local-postgres.jar:lib/* io.featurerelay.postgres.LocalPostgres --data-dir run/postgres --port 5433
 *     --database featurerelay --role trainer:run/secrets/trainer.password --role transfer:run/secrets/transfer.password
 *     [--log FILE]</pre>
 */
public final class LocalPostgres {

    static final String USAGE = "usage: LocalPostgres --data-dir DIR --port N --database NAME"
            + " --role NAME:PASSWORD_FILE [--role NAME:PASSWORD_FILE ...] [--log FILE]";
    /** Printed once the server accepts connections and the database and roles are in place. */
    static final String READY = "PostgreSQL ready";

    private LocalPostgres() {
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, String> options = new LinkedHashMap<>();
        Map<String, Path> passwordFiles = new LinkedHashMap<>();
        try {
            parse(args, options, passwordFiles);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(64);
            return;
        }
        PostgresProcess postgres = new PostgresProcess(Path.of(options.getOrDefault("--data-dir", "run/postgres")),
                Integer.parseInt(options.getOrDefault("--port", "5433")));
        if (options.containsKey("--log")) {
            postgres.logTo(Path.of(options.get("--log")));
        }
        String database = options.getOrDefault("--database", "featurerelay");
        AtomicBoolean stopping = new AtomicBoolean();
        AtomicBoolean started = new AtomicBoolean();
        Thread stopper = new Thread(() -> {
            stopping.set(true);
            // the process's own shutdown hook may be stopping it at the same moment; stop() waits for that
            postgres.stop();
            if (started.get()) {
                System.out.println("PostgreSQL stopped");
            }
        }, "local-postgres-stop");
        Runtime.getRuntime().addShutdownHook(stopper);
        try {
            postgres.start();
            started.set(true);
            for (var role : passwordFiles.entrySet()) {
                postgres.createRole(role.getKey(), PasswordFiles.readOrCreate(role.getValue()));
            }
            postgres.ensureServiceDatabase(database, passwordFiles.keySet().toArray(String[]::new));
        } catch (RuntimeException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
            return;
        }
        System.out.println(READY + " on 127.0.0.1:" + postgres.port() + ", database " + database + ", roles "
                + String.join(", ", passwordFiles.keySet()) + " (data in " + postgres.dataDir() + ", log "
                + postgres.logFile() + ")");
        long pid = postgres.pid();
        ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());
        // the server went away: stopped by the hook (SIGTERM, Ctrl-C), or by itself, which the run command must see
        if (!stopping.get()) {
            System.err.println("error: PostgreSQL (pid " + pid + ") exited on its own; see " + postgres.logFile());
            Runtime.getRuntime().halt(1);
        }
    }

    private static void parse(String[] args, Map<String, String> options, Map<String, Path> passwordFiles) {
        List<String> known = new ArrayList<>(List.of("--data-dir", "--port", "--database", "--role", "--log"));
        for (int i = 0; i < args.length; i++) {
            if (!known.contains(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String value = args[++i];
            if (args[i - 1].equals("--role")) {
                int colon = value.indexOf(':');
                if (colon < 1 || colon == value.length() - 1) {
                    throw new IllegalArgumentException("--role takes NAME:PASSWORD_FILE, not " + value);
                }
                passwordFiles.put(PostgresProcess.identifier(value.substring(0, colon), "role"),
                        Path.of(value.substring(colon + 1)));
            } else {
                options.put(args[i - 1], value);
            }
        }
        if (options.containsKey("--port") && !options.get("--port").matches("\\d{1,5}")) {
            throw new IllegalArgumentException("--port takes a number, not " + options.get("--port"));
        }
        PostgresProcess.identifier(options.getOrDefault("--database", "featurerelay"), "database");
    }
}
