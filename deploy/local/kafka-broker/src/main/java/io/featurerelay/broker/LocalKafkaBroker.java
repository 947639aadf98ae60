package io.featurerelay.broker;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;

/**
 * Runs Apache Kafka in this JVM: KRaft, one node that is broker and controller, listeners on 127.0.0.1.
 * Formats the storage on first start with a fixed cluster id, then hands over to {@code kafka.Kafka}.
 *
 * Creates Feature Relay's topics once it is up ({@link #PROJECT_TOPICS}, or {@code --topics}).
 *
 * <p>{@code --proxied-port N --proxied-advertised-port M} adds a second listener, {@code PROXIED}, on port N that
 * tells its clients to connect to port M: a client bootstrapped at M then reaches the broker only through
 * whatever forwards M to N (the system tests' fault-injecting proxy), while every other client uses the first.
 *
 * <pre>java -cp kafka-broker.jar:lib/* io.featurerelay.broker.LocalKafkaBroker --data-dir DIR --port 9092 --controller-port 9093</pre>
 */
public final class LocalKafkaBroker {

    /** Fixed, so that a data directory formatted once is reused by every later start. */
    public static final String CLUSTER_ID = "ZmVhdHVyZS1yZWxheS0x";
    public static final int MAX_MESSAGE_BYTES = 10 << 20;
    /**
     * Feature Relay's topics (service-common's FeatureWeightsTopic and the transfer results; a transfer-service
     * test checks the names), created when the broker is up as the Kubernetes KafkaTopics are. A consumer
     * subscribed to a topic that does not exist yet only finds it on a later metadata refresh and rebalance,
     * which delayed the first base model's transfer by about a second.
     */
    public static final List<String> PROJECT_TOPICS = List.of("feature-weights", "feature-weights-dlq",
            "transfer-results");

    private LocalKafkaBroker() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> options = parse(args);
        Path dataDir = Path.of(options.getOrDefault("--data-dir", "run/kafka")).toAbsolutePath();
        int port = Integer.parseInt(options.getOrDefault("--port", "9092"));
        int controllerPort = Integer.parseInt(options.getOrDefault("--controller-port", "9093"));
        Files.createDirectories(dataDir);
        int proxiedPort = Integer.parseInt(options.getOrDefault("--proxied-port", "0"));
        int proxiedAdvertisedPort = Integer.parseInt(options.getOrDefault("--proxied-advertised-port", "0"));
        Path config = writeConfig(dataDir, port, controllerPort, proxiedPort, proxiedAdvertisedPort);

        if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
            int code = kafka.tools.StorageTool.execute(new String[] {"format", "--config", config.toString(),
                "--cluster-id", CLUSTER_ID, "--standalone", "--ignore-formatted"}, new PrintStream(System.out, true,
                    StandardCharsets.UTF_8));
            if (code != 0) {
                System.err.println("formatting the Kafka storage in " + dataDir + " failed with exit code " + code);
                System.exit(code);
            }
        }
        String topics = options.getOrDefault("--topics", String.join(",", PROJECT_TOPICS));
        if (!topics.isBlank()) {
            Thread creator = new Thread(() -> createTopics(port, List.of(topics.split(","))), "topic-creator");
            creator.setDaemon(true);
            creator.start();
        }
        kafka.Kafka.main(new String[] {config.toString()});
    }

    /** Creates the topics that do not exist yet, once the broker answers; a failure is only logged. */
    static void createTopics(int port, List<String> names) {
        // wait for the listener first: an admin client started earlier logs a warning per failed connection
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline && !listening(port)) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        Map<String, Object> conf = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:" + port,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 120_000);
        try (Admin admin = Admin.create(conf)) {
            var existing = admin.listTopics().names().get(2, TimeUnit.MINUTES);
            List<NewTopic> missing = names.stream().map(String::trim).filter(n -> !n.isEmpty() && !existing.contains(n))
                    .map(n -> new NewTopic(n, 1, (short) 1)
                            .configs(Map.of("max.message.bytes", Integer.toString(MAX_MESSAGE_BYTES))))
                    .toList();
            if (!missing.isEmpty()) {
                admin.createTopics(missing).all().get(2, TimeUnit.MINUTES);
                System.out.println("created topics " + missing.stream().map(NewTopic::name).toList());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            // a topic created meanwhile by a producer is fine; anything else the services would still auto-create
            System.err.println("could not create the topics " + names + ": " + e);
        }
    }

    /** server.properties for one node; every setting a single node needs to serve groups and transactions. */
    static Path writeConfig(Path dataDir, int port, int controllerPort) throws IOException {
        return writeConfig(dataDir, port, controllerPort, 0, 0);
    }

    /** As {@link #writeConfig(Path, int, int)}, plus the PROXIED listener when {@code proxiedPort} is not 0. */
    static Path writeConfig(Path dataDir, int port, int controllerPort, int proxiedPort, int proxiedAdvertisedPort)
            throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        String listeners = "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort;
        String advertised = "PLAINTEXT://127.0.0.1:" + port;
        String protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
        if (proxiedPort != 0) {
            // a client learns the broker's address from the listener it asked: those of PROXIED keep using the proxy
            listeners += ",PROXIED://127.0.0.1:" + proxiedPort;
            advertised += ",PROXIED://127.0.0.1:" + proxiedAdvertisedPort;
            protocols += ",PROXIED:PLAINTEXT";
        }
        p.put("listeners", listeners);
        p.put("advertised.listeners", advertised);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", protocols);
        p.put("controller.quorum.bootstrap.servers", "127.0.0.1:" + controllerPort);
        p.put("log.dirs", dataDir.resolve("logs").toString());
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "true");
        // one node: every internal topic has a single replica
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        // envelopes are a few MB; the reference CIFAR-10 network's is about 7 MB
        p.put("message.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
        p.put("replica.fetch.max.bytes", Integer.toString(MAX_MESSAGE_BYTES));
        // the default 128 MB dedupe buffer alone would not fit the 192 MB heap
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 << 20));
        p.put("log.segment.bytes", Integer.toString(64 << 20));
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        Path file = dataDir.resolve("server.properties");
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (var e : p.entrySet()) {
                w.write(e.getKey() + "=" + e.getValue() + "\n");
            }
        }
        return file;
    }

    private static boolean listening(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException(
                        "usage: --data-dir DIR --port N --controller-port N [--topics NAME,NAME (\"\" for none)]"
                                + " [--proxied-port N --proxied-advertised-port N]");
            }
            options.put(args[i], args[++i]);
        }
        return options;
    }
}
