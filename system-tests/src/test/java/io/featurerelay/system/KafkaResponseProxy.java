package io.featurerelay.system;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy between Kafka clients and a broker listener that forwards every request and, while
 * {@link #holdProduceResponses() holding}, keeps back the broker's answer to a Produce request: the broker has
 * appended the batch, the producer never learns it. That is the window in which a producer that dies sends its
 * record twice unless something checks first. A held connection stalls from that answer on (a Kafka client
 * matches answers to requests in order, so one missing answer is a dead connection, as a lost network path
 * would be); {@link #passThrough()} closes the held connections and forwards everything again.
 *
 * <p>It reads only the frame boundaries (a 4-byte big-endian size before each request and answer) and the
 * request header's API key and correlation id, which are the same in every header version; it copies the
 * bytes unchanged.
 */
final class KafkaResponseProxy implements AutoCloseable {

    /** Kafka's API key of Produce. */
    private static final short PRODUCE = 0;
    /** Larger than any frame here (the broker's message limit is 10 MiB); a bigger size means a broken stream. */
    private static final int MAX_FRAME = 64 << 20;

    private final ServerSocket server;
    private final List<Connection> connections = new CopyOnWriteArrayList<>();
    private final AtomicInteger held = new AtomicInteger();
    private volatile int target;
    private volatile boolean holding;

    private KafkaResponseProxy(ServerSocket server) {
        this.server = server;
    }

    /** Listens on a free loopback port now; forwards once {@link #forwardTo(int)} names the broker's port. */
    static KafkaResponseProxy open() {
        try {
            return new KafkaResponseProxy(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    KafkaResponseProxy forwardTo(int brokerPort) {
        this.target = brokerPort;
        Thread acceptor = new Thread(this::accept, "kafka-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
        return this;
    }

    /** From now on, the broker's answers to Produce requests (and what follows them on that connection) are kept back. */
    void holdProduceResponses() {
        holding = true;
    }

    /** Forwards everything again; connections with a held answer are closed, as a broken network path ends. */
    void passThrough() {
        holding = false;
        for (Connection c : connections) {
            if (c.stalled) {
                c.close();
            }
        }
    }

    /** Produce answers kept back so far: each one is a batch the broker appended that its producer never heard of. */
    int heldProduceResponses() {
        return held.get();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Socket broker = new Socket(InetAddress.getLoopbackAddress(), target);
                Connection c = new Connection(client, broker);
                connections.add(c);
                c.start();
            } catch (IOException e) {
                // closed, or the broker is down: the client sees a refused connection and retries
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        connections.forEach(Connection::close);
    }

    /** One client connection and its connection to the broker, a thread for each direction. */
    private final class Connection {
        private final Socket client;
        private final Socket broker;
        private final Set<Integer> produceRequests = ConcurrentHashMap.newKeySet();
        private volatile boolean stalled;

        Connection(Socket client, Socket broker) {
            this.client = client;
            this.broker = broker;
        }

        void start() {
            Thread requests = new Thread(this::requests, "kafka-proxy-requests");
            Thread responses = new Thread(this::responses, "kafka-proxy-responses");
            requests.setDaemon(true);
            responses.setDaemon(true);
            requests.start();
            responses.start();
        }

        private void requests() {
            try (DataInputStream in = new DataInputStream(client.getInputStream());
                    DataOutputStream out = new DataOutputStream(broker.getOutputStream())) {
                while (true) {
                    byte[] frame = readFrame(in);
                    ByteBuffer header = ByteBuffer.wrap(frame);
                    if (frame.length >= 8 && header.getShort(0) == PRODUCE) {
                        produceRequests.add(header.getInt(4));
                    }
                    out.writeInt(frame.length);
                    out.write(frame);
                    out.flush();
                }
            } catch (IOException e) {
                close();
            }
        }

        private void responses() {
            try (DataInputStream in = new DataInputStream(broker.getInputStream());
                    DataOutputStream out = new DataOutputStream(client.getOutputStream())) {
                while (true) {
                    byte[] frame = readFrame(in);
                    int correlationId = frame.length >= 4 ? ByteBuffer.wrap(frame).getInt(0) : -1;
                    boolean produce = produceRequests.remove(correlationId);
                    if (!stalled && holding && produce) {
                        stalled = true;
                        held.incrementAndGet();
                    }
                    if (stalled) {
                        continue;
                    }
                    out.writeInt(frame.length);
                    out.write(frame);
                    out.flush();
                }
            } catch (IOException e) {
                close();
            }
        }

        private byte[] readFrame(DataInputStream in) throws IOException {
            int size = in.readInt();
            if (size < 0 || size > MAX_FRAME) {
                throw new IOException("not a Kafka frame: size " + size);
            }
            byte[] frame = new byte[size];
            in.readFully(frame);
            return frame;
        }

        void close() {
            connections.remove(this);
            try {
                client.close();
            } catch (IOException e) {
                // closing anyway
            }
            try {
                broker.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
