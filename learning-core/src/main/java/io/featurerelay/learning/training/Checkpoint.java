package io.featurerelay.learning.training;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NetworkState;
import io.featurerelay.learning.model.Optimizer;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A training run's state at an epoch boundary: the epochs done, their results, and the network's state (parameters,
 * optimizer state, step count), from which {@link Trainer#train(io.featurerelay.learning.model.Network,
 * TrainingData, TrainingData, TrainingConfig, TrainingListener, java.util.function.BooleanSupplier, Checkpoint)}
 * continues with the next epoch. An immutable value.
 *
 * <p>No random generator state is kept: the training loop derives each epoch's shuffle and dropout streams from
 * the run's seed and the epoch number alone ({@link Trainer#epochSeed}), so the seed and the epochs done are the
 * whole of it.
 *
 * <h2>Format (v1)</h2>
 * Language-neutral and streamed:
 * <pre>
 * magic         4 bytes  "FRC1"
 * header length u32, big-endian: bytes of the header (at most {@link #MAX_HEADER_BYTES})
 * header        UTF-8 JSON object:
 *   format           "featurerelay.Checkpoint.v1"
 *   formatVersion    1
 *   seed             the run's seed (64-bit signed integer)
 *   epochsDone       epochs completed
 *   batchSize        images per step of the run
 *   trainingExamples size of the training set (the shuffle permutes this many)
 *   history          [{epoch, loss, validationAccuracy, seconds, imagesPerSecond}], epochs 1..epochsDone
 *   network          {implementation ("ops" | "layer-api"), structure ("full" | "full-frozen-features" |
 *                    "head-only"), spec (a ModelSpec, as in the FeatureWeights envelope), optimizer ("adadelta" |
 *                    "adam"), learningRate, iterations (optimizer steps taken)}
 *   arrays           [{name, shape, dtype: "float32", offset}]: offsets in bytes into the payload, in order and
 *                    back to back; names "param/&lt;layer&gt;/&lt;key&gt;" (shapes as ModelSpec.parameterShapes) and
 *                    "updater/..." (see the network implementation)
 *   payloadBytes     length of the payload
 *   payloadSha256    SHA-256 of the payload, lower-case hex
 * payload       every array's values, float32 little-endian, C order
 * </pre>
 * Nothing follows the payload.
 */
public final class Checkpoint {

    public static final String FORMAT = "featurerelay.Checkpoint.v1";
    public static final int FORMAT_VERSION = 1;
    static final byte[] MAGIC = {'F', 'R', 'C', '1'};
    static final int PREFIX = MAGIC.length + 4;
    /** The largest header read: the history and array list of any sensible run fit many times over. */
    public static final int MAX_HEADER_BYTES = 4 << 20;
    static final String FLOAT32 = "float32";
    private static final int CHUNK = 1 << 16;

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true);

    private final int epochsDone;
    private final List<EpochResult> history;
    private final int batchSize;
    private final int trainingExamples;
    private final NetworkState state;

    /**
     * @param history          epochs 1..n, where n is the epochs done
     * @param batchSize        the run's batch size
     * @param trainingExamples the run's training set size
     * @param state            the network's state at the end of epoch n; its hyperparameters carry the seed
     */
    public Checkpoint(List<EpochResult> history, int batchSize, int trainingExamples, NetworkState state) {
        this.history = List.copyOf(history);
        for (int i = 0; i < this.history.size(); i++) {
            if (this.history.get(i).epoch() != i + 1) {
                throw new IllegalArgumentException("history entry " + i + " is epoch " + this.history.get(i).epoch()
                        + ", expected " + (i + 1));
            }
        }
        if (batchSize <= 0 || trainingExamples <= 0) {
            throw new IllegalArgumentException("batch size and training examples must be positive, got " + batchSize
                    + " and " + trainingExamples);
        }
        this.epochsDone = this.history.size();
        this.batchSize = batchSize;
        this.trainingExamples = trainingExamples;
        this.state = Objects.requireNonNull(state, "state");
    }

    public int epochsDone() {
        return epochsDone;
    }

    /** Results of epochs 1..{@link #epochsDone()}. */
    public List<EpochResult> history() {
        return history;
    }

    /** The run's seed: shuffling, dropout and the initial weights derive from it. */
    public long seed() {
        return state.hyperparameters().seed();
    }

    public int batchSize() {
        return batchSize;
    }

    public int trainingExamples() {
        return trainingExamples;
    }

    /** The network's parameters, optimizer state and step count at the end of epoch {@link #epochsDone()}. */
    public NetworkState state() {
        return state;
    }

    /** Training seconds of the epochs done. */
    public double trainingSeconds() {
        return history.stream().mapToDouble(EpochResult::seconds).sum();
    }

    /** Bytes {@link #writeTo} writes. */
    public long sizeInBytes() {
        return PREFIX + headerBytes(sha256Hex()).length + payloadBytes();
    }

    private long payloadBytes() {
        return state.elements() * Float.BYTES;
    }

    // ---------------------------------------------------------------------------------------------- writing

    /** Writes the checkpoint in the format above, streamed (no copy of the payload is built); does not close. */
    public void writeTo(OutputStream out) throws IOException {
        byte[] header = headerBytes(sha256Hex());
        ByteBuffer prefix = ByteBuffer.allocate(PREFIX).put(MAGIC).putInt(header.length);
        out.write(prefix.array());
        out.write(header);
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        for (NetworkState.Array array : state.arrays()) {
            FloatBuffer values = array.values();
            while (values.hasRemaining()) {
                chunk.clear();
                while (chunk.remaining() >= Float.BYTES && values.hasRemaining()) {
                    chunk.putFloat(values.get());
                }
                out.write(chunk.array(), 0, chunk.position());
            }
        }
        out.flush();
    }

    private String sha256Hex() {
        MessageDigest digest = sha256();
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        for (NetworkState.Array array : state.arrays()) {
            FloatBuffer values = array.values();
            while (values.hasRemaining()) {
                chunk.clear();
                while (chunk.remaining() >= Float.BYTES && values.hasRemaining()) {
                    chunk.putFloat(values.get());
                }
                digest.update(chunk.array(), 0, chunk.position());
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private byte[] headerBytes(String sha256) {
        List<ArrayHeader> arrays = new ArrayList<>();
        long offset = 0;
        for (NetworkState.Array a : state.arrays()) {
            arrays.add(new ArrayHeader(a.name(), a.shape(), FLOAT32, offset));
            offset += (long) a.elements() * Float.BYTES;
        }
        Hyperparameters hp = state.hyperparameters();
        Header header = new Header(FORMAT, FORMAT_VERSION, hp.seed(), epochsDone, batchSize, trainingExamples, history,
                new NetworkHeader(state.implementation(), state.structure(), state.spec(), hp.optimizer().id(),
                        hp.learningRate(), state.iterations()),
                arrays, offset, sha256);
        try {
            return JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a checkpoint header always serialises", e);
        }
    }

    // ---------------------------------------------------------------------------------------------- reading

    /**
     * Reads a checkpoint that {@link #writeTo} wrote, checking the magic, the header and every array's size
     * against {@code maxBytes} and the header before allocating anything, and the payload's SHA-256 after.
     *
     * @param maxBytes the largest checkpoint accepted, all of it
     * @throws CheckpointException naming the first problem: not a checkpoint, truncated, oversized, malformed
     *                             header, checksum mismatch, trailing bytes
     */
    public static Checkpoint readFrom(InputStream in, long maxBytes) throws IOException {
        byte[] prefix = in.readNBytes(PREFIX);
        if (prefix.length < PREFIX) {
            throw new CheckpointException("truncated checkpoint: " + prefix.length + " bytes, fewer than the "
                    + PREFIX + "-byte prefix");
        }
        if (!Arrays.equals(Arrays.copyOf(prefix, MAGIC.length), MAGIC)) {
            throw new CheckpointException("not a checkpoint: the magic is not FRC1");
        }
        long headerLength = Integer.toUnsignedLong(ByteBuffer.wrap(prefix, MAGIC.length, 4).getInt());
        if (headerLength > MAX_HEADER_BYTES || PREFIX + headerLength > maxBytes) {
            throw new CheckpointException("checkpoint header of " + headerLength + " bytes exceeds the limit ("
                    + Math.min(MAX_HEADER_BYTES, Math.max(0, maxBytes - PREFIX)) + " bytes)");
        }
        byte[] headerBytes = in.readNBytes((int) headerLength);
        if (headerBytes.length < headerLength) {
            throw new CheckpointException("truncated checkpoint: the header has " + headerBytes.length + " of "
                    + headerLength + " bytes");
        }
        Header header;
        try {
            header = JSON.readValue(headerBytes, Header.class);
        } catch (IOException e) {
            throw new CheckpointException("malformed checkpoint header: " + e.getMessage(), e);
        }
        if (header == null) {
            throw new CheckpointException("malformed checkpoint header: null");
        }
        List<ArrayHeader> arrays = validate(header, PREFIX + headerLength, maxBytes);

        MessageDigest digest = sha256();
        byte[] chunk = new byte[CHUNK];
        List<NetworkState.Array> values = new ArrayList<>(arrays.size());
        for (ArrayHeader a : arrays) {
            // sizes checked against maxBytes above: this allocation is bounded
            float[] v = new float[Math.toIntExact(elements(a.shape()))];
            int done = 0;
            while (done < v.length) {
                int n = Math.min(CHUNK / Float.BYTES, v.length - done) * Float.BYTES;
                int read = in.readNBytes(chunk, 0, n);
                if (read < n) {
                    throw new CheckpointException("truncated checkpoint: the payload ends inside array " + a.name());
                }
                digest.update(chunk, 0, n);
                ByteBuffer.wrap(chunk, 0, n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v, done, n / Float.BYTES);
                done += n / Float.BYTES;
            }
            values.add(NetworkState.Array.of(a.name(), a.shape(), v));
        }
        String actual = HexFormat.of().formatHex(digest.digest());
        if (!actual.equals(header.payloadSha256())) {
            throw new CheckpointException("checkpoint payload checksum mismatch: the header says "
                    + header.payloadSha256() + ", the payload hashes to " + actual);
        }
        if (in.read() != -1) {
            throw new CheckpointException("trailing bytes after the checkpoint's payload");
        }
        try {
            NetworkHeader net = header.network();
            Hyperparameters hp = new Hyperparameters(Optimizer.byId(net.optimizer()).orElseThrow(),
                    net.learningRate(), header.seed());
            NetworkState state = new NetworkState(net.implementation(), net.structure(), net.spec(), hp,
                    net.iterations(), values);
            return new Checkpoint(header.history(), header.batchSize(), header.trainingExamples(), state);
        } catch (RuntimeException e) {
            throw new CheckpointException("invalid checkpoint: " + e.getMessage(), e);
        }
    }

    /** Checks the header against itself and {@code maxBytes}; returns its arrays. */
    private static List<ArrayHeader> validate(Header h, long headerEnd, long maxBytes) throws CheckpointException {
        require(FORMAT.equals(h.format()), "format is " + h.format() + ", expected " + FORMAT);
        require(h.formatVersion() != null && h.seed() != null && h.epochsDone() != null && h.batchSize() != null
                && h.trainingExamples() != null && h.payloadBytes() != null, "a field is missing");
        require(h.formatVersion() == FORMAT_VERSION, "format version " + h.formatVersion() + " is not supported");
        require(h.epochsDone() >= 0, "epochsDone is negative");
        require(h.batchSize() > 0 && h.trainingExamples() > 0, "batchSize and trainingExamples must be positive");
        require(h.history() != null && h.history().size() == h.epochsDone(), "history must list epochsDone ("
                + h.epochsDone() + ") epochs");
        for (int i = 0; i < h.history().size(); i++) {
            require(h.history().get(i) != null && h.history().get(i).epoch() == i + 1, "history entry " + i
                    + " is not epoch " + (i + 1));
        }
        NetworkHeader net = h.network();
        require(net != null && net.implementation() != null && net.structure() != null && net.spec() != null
                && net.optimizer() != null && net.learningRate() != null && net.iterations() != null,
                "network is incomplete");
        require(Optimizer.byId(net.optimizer()).isPresent(), "unknown optimizer " + net.optimizer());
        require(net.iterations() >= 0, "iterations is negative");
        require(h.arrays() != null && !h.arrays().isEmpty(), "no arrays");
        require(h.payloadSha256() != null && h.payloadSha256().matches("[0-9a-f]{64}"),
                "payloadSha256 is no SHA-256 in lower-case hex");
        long offset = 0;
        Set<String> names = new HashSet<>();
        for (ArrayHeader a : h.arrays()) {
            require(a != null && a.name() != null && a.shape() != null && a.shape().length > 0 && a.offset() != null,
                    "an array entry is incomplete");
            require(names.add(a.name()), "array " + a.name() + " appears twice");
            require(FLOAT32.equals(a.dtype()), "array " + a.name() + " has dtype " + a.dtype() + ", only "
                    + FLOAT32 + " is supported");
            require(a.offset().longValue() == offset, "array " + a.name() + " starts at " + a.offset() + ", expected " + offset);
            long elements = elements(a.shape());
            require(elements > 0 && elements <= Integer.MAX_VALUE - 8, "array " + a.name() + " has shape "
                    + Arrays.toString(a.shape()));
            offset += elements * Float.BYTES;
            if (headerEnd + offset > maxBytes) {
                throw new CheckpointException("checkpoint exceeds the limit of " + maxBytes + " bytes: array "
                        + a.name() + " of shape " + Arrays.toString(a.shape()) + " ends at byte "
                        + (headerEnd + offset));
            }
        }
        require(h.payloadBytes().longValue() == offset, "payloadBytes is " + h.payloadBytes() + ", the arrays take " + offset);
        return h.arrays();
    }

    /** Product of the dimensions, or -1 when one is not positive or the product overflows. */
    private static long elements(long[] shape) {
        long n = 1;
        for (long s : shape) {
            if (s <= 0) {
                return -1;
            }
            try {
                n = Math.multiplyExact(n, s);
            } catch (ArithmeticException e) {
                return -1;
            }
        }
        return n;
    }

    private static void require(boolean ok, String message) throws CheckpointException {
        if (!ok) {
            throw new CheckpointException("malformed checkpoint header: " + message);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Checkpoint c && batchSize == c.batchSize && trainingExamples == c.trainingExamples
                && history.equals(c.history) && state.equals(c.state);
    }

    @Override
    public int hashCode() {
        return Objects.hash(history, batchSize, trainingExamples, state);
    }

    @Override
    public String toString() {
        return "Checkpoint[epochsDone=" + epochsDone + ", seed=" + seed() + ", " + state.structure() + " "
                + state.implementation() + " network, " + state.elements() + " values]";
    }

    /** Boxed numbers: a missing field reads as null and is rejected, rather than taken as 0. */
    record Header(String format, Integer formatVersion, Long seed, Integer epochsDone, Integer batchSize,
            Integer trainingExamples, List<EpochResult> history, NetworkHeader network, List<ArrayHeader> arrays,
            Long payloadBytes, String payloadSha256) {
    }

    record NetworkHeader(String implementation, String structure, ModelSpec spec, String optimizer,
            Double learningRate, Long iterations) {
    }

    record ArrayHeader(String name, long[] shape, String dtype, Long offset) {
    }
}
