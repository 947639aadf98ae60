package io.featurerelay.broker;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Starts {@link LocalKafkaBroker} as a child JVM and waits until it answers; stops it on {@link #stop()} or
 * when this JVM exits. Restarting keeps the data directory and ports, so records survive a stop.
 */
public final class KafkaBrokerProcess implements AutoCloseable {

    static final String HEAP = "-Xmx192m";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);

    private final Path dataDir;
    private final int port;
    private final int controllerPort;
    private final boolean deleteOnClose;
    private int proxiedPort;
    private int proxiedAdvertisedPort;
    private Process process;
    private final Thread killOnExit = new Thread(this::kill, "kafka-broker-kill");

    private KafkaBrokerProcess(Path dataDir, int port, int controllerPort, boolean deleteOnClose) {
        this.dataDir = dataDir;
        this.port = port;
        this.controllerPort = controllerPort;
        this.deleteOnClose = deleteOnClose;
    }

    /** A broker on two free loopback ports with a fresh temporary data directory, deleted on {@link #close()}. */
    public static KafkaBrokerProcess onFreePorts() {
        try {
            return new KafkaBrokerProcess(Files.createTempDirectory("featurerelay-kafka-"), freePort(), freePort(),
                    true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A broker with a kept data directory and fixed ports (the one-machine run). */
    public static KafkaBrokerProcess at(Path dataDir, int port, int controllerPort) {
        return new KafkaBrokerProcess(dataDir, port, controllerPort, false);
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /**
     * Adds a second listener on a free port ({@link #proxiedListenerPort()}) that advertises {@code advertisedPort}:
     * clients bootstrapped at {@code 127.0.0.1:advertisedPort} talk to this broker only through what listens there
     * (a test's proxy, forwarding to {@link #proxiedListenerPort()}). Call before {@link #start()}.
     */
    public synchronized KafkaBrokerProcess withProxiedListener(int advertisedPort) {
        try {
            this.proxiedPort = freePort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.proxiedAdvertisedPort = advertisedPort;
        return this;
    }

    /** The port of the listener behind the proxy (0 without {@link #withProxiedListener(int)}). */
    public int proxiedListenerPort() {
        return proxiedPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    public Path logFile() {
        return dataDir.resolve("broker.log");
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Starts the broker and returns once an admin client sees the cluster. */
    public synchronized KafkaBrokerProcess start() {
        if (isRunning()) {
            return this;
        }
        List<String> command = new ArrayList<>(List.of(javaExecutable(), HEAP, "-Xms32m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Xss512k", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", classPath(), LocalKafkaBroker.class.getName(),
                "--data-dir", dataDir.toString(), "--port", Integer.toString(port),
                "--controller-port", Integer.toString(controllerPort)));
        if (proxiedPort != 0) {
            command.addAll(List.of("--proxied-port", Integer.toString(proxiedPort), "--proxied-advertised-port",
                    Integer.toString(proxiedAdvertisedPort)));
        }
        try {
            Files.createDirectories(dataDir);
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile())).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the Kafka broker: " + e.getMessage(), e);
        }
        try {
            Runtime.getRuntime().addShutdownHook(killOnExit);
        } catch (IllegalArgumentException alreadyAdded) {
            // restarted: the hook from the first start stays
        }
        awaitReady();
        return this;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the Kafka broker exited with " + process.exitValue() + "; see "
                        + logFile() + ":\n" + tail());
            }
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                    AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000,
                    AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000))) {
                if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            sleep(200);
        }
        kill();
        throw new IllegalStateException("the Kafka broker did not become ready in " + READY_TIMEOUT + ": " + last
                + "\n" + tail());
    }

    /** Stops the broker gracefully (SIGTERM, then SIGKILL after 30 s); the data directory stays. */
    public synchronized void stop() {
        if (process == null) {
            return;
        }
        terminate(process);
        process = null;
    }

    /** SIGTERM, as Ctrl-C or a container runtime would, then SIGKILL if the process is still there after 30 s. */
    public static void terminate(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** Resident memory of the broker process in bytes, from /proc; -1 where that is not readable. */
    public synchronized long residentBytes() {
        if (!isRunning()) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    @Override
    public synchronized void close() {
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException | IllegalArgumentException e) {
            // the JVM is already shutting down, or the hook was never added
        }
        if (deleteOnClose) {
            deleteRecursively(dataDir);
        }
    }

    /**
     * SIGKILL, as a crash or an OOM kill would end it: no controlled shutdown, no flush of the logs, so the next
     * {@link #start()} on the same data directory runs the broker's log recovery.
     */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(logFile());
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /**
     * This module's classes plus target/lib, where the build copies the broker's dependencies. Found beside the
     * loaded classes (a reactor build), else in the repository checkout above the working directory (a module
     * built alone resolves this one from the local Maven repository, which has no lib folder).
     */
    static String classPath() {
        Path location;
        try {
            location = Path.of(LocalKafkaBroker.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        Path lib = location.getParent().resolve("lib");
        if (Files.isDirectory(lib)) {
            return location + File.pathSeparator + lib + File.separator + "*";
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path target = dir.resolve("deploy/local/kafka-broker/target");
            if (Files.isDirectory(target.resolve("lib")) && Files.isDirectory(target.resolve("classes"))) {
                return target.resolve("classes") + File.pathSeparator + target.resolve("lib") + File.separator + "*";
            }
        }
        throw new IllegalStateException("the broker's dependencies are missing: expected " + lib
                + " or deploy/local/kafka-broker/target/lib in the checkout"
                + " (run: mvn -DskipTests package -pl deploy/local/kafka-broker -am)");
    }

    private static String javaExecutable() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the broker", e);
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
