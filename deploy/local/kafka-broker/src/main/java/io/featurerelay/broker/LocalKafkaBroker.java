package io.featurerelay.broker;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs Apache Kafka in this JVM: KRaft, one node that is broker and controller, listeners on 127.0.0.1.
 * Formats the storage on first start with a fixed cluster id, then hands over to {@code kafka.Kafka}.
 *
 * <pre>java -cp kafka-broker.jar:lib/* io.featurerelay.broker.LocalKafkaBroker --data-dir DIR --port 9092 --controller-port 9093</pre>
 */
public final class LocalKafkaBroker {

    /** Fixed, so that a data directory formatted once is reused by every later start. */
    public static final String CLUSTER_ID = "ZmVhdHVyZS1yZWxheS0x";
    public static final int MAX_MESSAGE_BYTES = 10 << 20;

    private LocalKafkaBroker() {
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> options = parse(args);
        Path dataDir = Path.of(options.getOrDefault("--data-dir", "run/kafka")).toAbsolutePath();
        int port = Integer.parseInt(options.getOrDefault("--port", "9092"));
        int controllerPort = Integer.parseInt(options.getOrDefault("--controller-port", "9093"));
        Files.createDirectories(dataDir);
        Path config = writeConfig(dataDir, port, controllerPort);

        if (!Files.exists(dataDir.resolve("logs").resolve("meta.properties"))) {
            int code = kafka.tools.StorageTool.execute(new String[] {"format", "--config", config.toString(),
                "--cluster-id", CLUSTER_ID, "--standalone", "--ignore-formatted"}, new PrintStream(System.out, true,
                    StandardCharsets.UTF_8));
            if (code != 0) {
                System.err.println("formatting the Kafka storage in " + dataDir + " failed with exit code " + code);
                System.exit(code);
            }
        }
        kafka.Kafka.main(new String[] {config.toString()});
    }

    /** server.properties for one node; every setting a single node needs to serve groups and transactions. */
    static Path writeConfig(Path dataDir, int port, int controllerPort) throws IOException {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
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

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: --data-dir DIR --port N --controller-port N");
            }
            options.put(args[i], args[++i]);
        }
        return options;
    }
}
