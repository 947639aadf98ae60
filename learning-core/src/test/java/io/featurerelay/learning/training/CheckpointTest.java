package io.featurerelay.learning.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.featurerelay.learning.FashionMnistSample;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.NetworkState;
import io.featurerelay.learning.model.Optimizer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The checkpoint format: round trip, every kind of corruption rejected before allocating, resume mismatches. */
class CheckpointTest {

    static final ModelSpec SMALL = new ModelSpec(List.of(1, 28, 28), List.of(4), 3, 2, 0.25, 16, 0.5, 3);
    static final Hyperparameters ADAM = new Hyperparameters(Optimizer.ADAM, 1e-3, 7);
    static final TrainingConfig ONE_EPOCH = new TrainingConfig(1, 16, ADAM);
    static final long LIMIT = 16 << 20;

    static TrainTestSplit data;
    static Checkpoint checkpoint;
    static byte[] bytes;

    @BeforeAll
    static void trainOneEpoch() throws IOException {
        TrainTestSplit all = FashionMnistSample.load().subset(List.of(0, 1, 2));
        data = new TrainTestSplit(all.train().firstPerClass(20), all.test().firstPerClass(10));
        Network network = NetworkFactory.standard().create(SMALL, ADAM);
        List<Checkpoint> seen = new ArrayList<>();
        Trainer.train(network, TrainingData.of(data.train()), TrainingData.of(data.test()), ONE_EPOCH,
                new TrainingListener() {
                    @Override
                    public void onCheckpoint(Checkpoint c) {
                        seen.add(c);
                    }
                }, () -> false);
        assertThat(seen).hasSize(1);
        checkpoint = seen.get(0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        checkpoint.writeTo(out);
        bytes = out.toByteArray();
    }

    private static Checkpoint read(byte[] b, long maxBytes) throws IOException {
        return Checkpoint.readFrom(new ByteArrayInputStream(b), maxBytes);
    }

    @Test
    void writesAndReadsBackTheSameCheckpoint() throws IOException {
        Checkpoint back = read(bytes, LIMIT);
        assertThat(back).isEqualTo(checkpoint);
        assertThat(back.epochsDone()).isEqualTo(1);
        assertThat(back.history()).isEqualTo(checkpoint.history());
        assertThat(back.seed()).isEqualTo(7);
        assertThat(back.batchSize()).isEqualTo(16);
        assertThat(back.trainingExamples()).isEqualTo(60);
        assertThat(back.state().iterations()).isEqualTo(4);
        assertThat(back.state().structure()).isEqualTo(NetworkState.FULL);
        assertThat(back.state().spec()).isEqualTo(SMALL);
        assertThat(back.state().arrays()).extracting(NetworkState.Array::name).containsExactly(
                "param/conv1/W", "param/conv1/b", "param/dense/W", "param/dense/b", "param/output/W",
                "param/output/b", "updater/adam/m", "updater/adam/v");
        assertThat(checkpoint.sizeInBytes()).isEqualTo(bytes.length);
        // the updater state moved: it is really there
        float[] m = back.state().array("updater/adam/m").toFloatArray();
        assertThat(m).isNotEqualTo(new float[m.length]);
        // language-neutral: magic, big-endian header length, a JSON header, little-endian floats
        assertThat(Arrays.copyOf(bytes, 4)).isEqualTo("FRC1".getBytes(StandardCharsets.US_ASCII));
        int headerLength = ByteBuffer.wrap(bytes, 4, 4).getInt();
        ObjectNode header = (ObjectNode) new ObjectMapper().readTree(Arrays.copyOfRange(bytes, 8, 8 + headerLength));
        assertThat(header.get("format").asText()).isEqualTo("featurerelay.Checkpoint.v1");
        assertThat(header.get("seed").asLong()).isEqualTo(7);
        assertThat(header.get("network").get("optimizer").asText()).isEqualTo("adam");
        float first = ByteBuffer.wrap(bytes, 8 + headerLength, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        assertThat(first).isEqualTo(back.state().array("param/conv1/W").values().get(0));
        assertThat(header.get("payloadBytes").asLong()).isEqualTo(bytes.length - 8 - headerLength);
    }

    @Test
    void aDivergedRunsHistoryRoundTrips() throws IOException {
        Checkpoint diverged = new Checkpoint(List.of(new EpochResult(1, Double.NaN, 0.1, 2.5, Double.POSITIVE_INFINITY)),
                16, 60, checkpoint.state());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        diverged.writeTo(out);
        Checkpoint back = read(out.toByteArray(), LIMIT);
        assertThat(back).isEqualTo(diverged);
        assertThat(back.history().get(0).loss()).isNaN();
    }

    @Test
    void rejectsWhatIsNoCheckpoint() {
        byte[] bad = bytes.clone();
        bad[3] = '2';
        assertThatThrownBy(() -> read(bad, LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("magic");
        assertThatThrownBy(() -> read(new byte[0], LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("truncated");
        assertThatThrownBy(() -> read("PK\u0003\u0004 a zip".getBytes(StandardCharsets.ISO_8859_1), LIMIT))
                .isInstanceOf(CheckpointException.class).hasMessageContaining("magic");
    }

    @Test
    void rejectsATruncatedCheckpointWhereverItEnds() {
        int headerEnd = 8 + ByteBuffer.wrap(bytes, 4, 4).getInt();
        for (int length : new int[] {3, 7, 8, 20, headerEnd - 1, headerEnd, headerEnd + 3, bytes.length - 1}) {
            byte[] cut = Arrays.copyOf(bytes, length);
            assertThatThrownBy(() -> read(cut, LIMIT)).as("cut at " + length).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("truncated");
        }
    }

    @Test
    void rejectsTrailingBytes() {
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        assertThatThrownBy(() -> read(longer, LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("trailing");
    }

    @Test
    void rejectsAHeaderOrArraysLargerThanAllowedBeforeAllocating() throws IOException {
        // a header length of 2^32 - 1 in the prefix
        byte[] huge = bytes.clone();
        huge[4] = huge[5] = huge[6] = huge[7] = (byte) 0xff;
        assertThatThrownBy(() -> read(huge, Long.MAX_VALUE)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("header of 4294967295 bytes exceeds the limit");
        // a header longer than maxBytes allows
        assertThatThrownBy(() -> read(bytes, 100)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("exceeds the limit");
        // the whole checkpoint one byte over the limit: rejected from the header's array list
        assertThatThrownBy(() -> read(bytes, bytes.length - 1)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("exceeds the limit of " + (bytes.length - 1) + " bytes: array updater/adam/v");
        assertThat(read(bytes, bytes.length)).isEqualTo(checkpoint);
        // an array claiming 2^31 x 2^31 elements (with a matching payloadBytes) is rejected, never allocated
        byte[] giant = withHeader(h -> {
            ((ArrayNode) h.get("arrays").get(0).get("shape")).removeAll().add(1L << 31).add(1L << 31);
        });
        assertThatThrownBy(() -> read(giant, Long.MAX_VALUE)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("param/conv1/W");
        byte[] large = withHeader(h -> ((ArrayNode) h.get("arrays").get(0).get("shape")).removeAll().add(400_000_000));
        assertThatThrownBy(() -> read(large, LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("exceeds the limit of " + LIMIT + " bytes: array param/conv1/W");
    }

    @Test
    void rejectsAChecksumMismatch() {
        byte[] flipped = bytes.clone();
        flipped[bytes.length - 2] ^= 0x10;
        assertThatThrownBy(() -> read(flipped, LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("checksum mismatch");
    }

    @Test
    void rejectsAMalformedHeader() {
        int headerLength = ByteBuffer.wrap(bytes, 4, 4).getInt();
        byte[] garbled = bytes.clone();
        garbled[8] = 'x';
        assertThatThrownBy(() -> read(garbled, LIMIT)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("malformed checkpoint header");
        assertThat(headerLength).isPositive();
        List<Consumer<ObjectNode>> edits = List.of(
                h -> h.put("format", "something.else"),
                h -> h.put("formatVersion", 2),
                h -> h.put("epochsDone", 2),
                h -> h.remove("network"),
                h -> h.remove("seed"),
                h -> h.remove("history"),
                h -> ((ObjectNode) h.get("network")).remove("iterations"),
                h -> ((ObjectNode) h.get("arrays").get(0)).remove("offset"),
                h -> ((ObjectNode) h.get("history").get(0)).put("epoch", 2),
                h -> h.put("payloadSha256", "00"),
                h -> ((ObjectNode) h.get("arrays").get(1)).put("offset", 0),
                h -> ((ObjectNode) h.get("arrays").get(1)).put("dtype", "float64"),
                h -> ((ObjectNode) h.get("arrays").get(1)).put("name", "param/conv1/W"),
                h -> ((ArrayNode) h.get("arrays").get(1).get("shape")).removeAll().add(0),
                h -> ((ObjectNode) h.get("network")).put("optimizer", "sgd"),
                h -> ((ObjectNode) h.get("network").get("spec")).put("kernel", 99));
        for (Consumer<ObjectNode> edit : edits) {
            byte[] edited = withHeader(edit);
            assertThatThrownBy(() -> read(edited, LIMIT)).isInstanceOf(CheckpointException.class);
        }
    }

    /** The checkpoint with its header edited, the payload and its checksum left as they are. */
    private static byte[] withHeader(Consumer<ObjectNode> edit) {
        try {
            int headerLength = ByteBuffer.wrap(bytes, 4, 4).getInt();
            ObjectMapper json = new ObjectMapper();
            ObjectNode header = (ObjectNode) json.readTree(Arrays.copyOfRange(bytes, 8, 8 + headerLength));
            edit.accept(header);
            byte[] h = json.writeValueAsBytes(header);
            byte[] payload = Arrays.copyOfRange(bytes, 8 + headerLength, bytes.length);
            return ByteBuffer.allocate(8 + h.length + payload.length).put(bytes, 0, 4).putInt(h.length).put(h)
                    .put(payload).array();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aConsistentlyEditedPayloadStillReads() throws Exception {
        // the checksum covers the payload: recomputing it after an edit makes a valid checkpoint again, which
        // shows that the check is on the payload bytes exactly
        int headerLength = ByteBuffer.wrap(bytes, 4, 4).getInt();
        byte[] edited = bytes.clone();
        edited[8 + headerLength] ^= 0x01;
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(Arrays.copyOfRange(edited, 8 + headerLength, edited.length)));
        byte[] payload = Arrays.copyOfRange(edited, 8 + headerLength, edited.length);
        byte[] rewritten = withHeader(h -> h.put("payloadSha256", sha));
        System.arraycopy(payload, 0, rewritten, rewritten.length - payload.length, payload.length);
        Checkpoint back = read(rewritten, LIMIT);
        assertThat(back.state().array("param/conv1/W").values().get(0))
                .isNotEqualTo(checkpoint.state().array("param/conv1/W").values().get(0));
    }

    @Test
    void resumeRejectsAnotherSeedSpecOptimizerBatchSizeOrDataSize() throws IOException {
        Checkpoint c = read(bytes, LIMIT);
        TrainingData train = TrainingData.of(data.train());
        TrainingData test = TrainingData.of(data.test());
        TrainingConfig twoEpochs = ONE_EPOCH.withEpochs(2);

        Hyperparameters otherSeed = new Hyperparameters(Optimizer.ADAM, 1e-3, 8);
        assertThatThrownBy(() -> Trainer.train(NetworkFactory.standard().create(SMALL, otherSeed), train, test,
                new TrainingConfig(2, 16, otherSeed), TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("seed 7");

        ModelSpec wider = new ModelSpec(List.of(1, 28, 28), List.of(4), 3, 2, 0.25, 32, 0.5, 3);
        assertThatThrownBy(() -> Trainer.train(NetworkFactory.standard().create(wider, ADAM), train, test,
                twoEpochs, TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("spec");

        Hyperparameters adadelta = new Hyperparameters(Optimizer.ADADELTA, 1e-3, 7);
        assertThatThrownBy(() -> Trainer.train(NetworkFactory.standard().create(SMALL, adadelta), train, test,
                new TrainingConfig(2, 16, adadelta), TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("ADADELTA");

        Network fresh = NetworkFactory.standard().create(SMALL, ADAM);
        var before = fresh.parameters(SMALL.parameterShapes().keySet());
        assertThatThrownBy(() -> Trainer.train(fresh, train, test, new TrainingConfig(2, 32, ADAM),
                TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("batch size 16");
        assertThatThrownBy(() -> Trainer.train(fresh, TrainingData.of(data.test()), test, twoEpochs,
                TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("60 training examples");
        // a head-only network's state has other arrays
        assertThatThrownBy(() -> Trainer.train(NetworkFactory.standard().headOnly(SMALL, ADAM), train, test,
                twoEpochs, TrainingListener.NONE, () -> false, c))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("head-only");
        // nothing was changed by the rejected resumes
        var after = fresh.parameters(SMALL.parameterShapes().keySet());
        before.forEach((layer, arrays) -> arrays.forEach((key, v) ->
                assertThat(after.get(layer).get(key)).as(layer + "." + key).isEqualTo(v)));
    }

    @Test
    void aCheckpointWithEveryEpochDoneReturnsItsHistoryAtOnce() throws IOException {
        Network fresh = NetworkFactory.standard().create(SMALL, ADAM);
        List<BatchProgress> batches = new ArrayList<>();
        TrainingHistory history = Trainer.train(fresh, TrainingData.of(data.train()), TrainingData.of(data.test()),
                ONE_EPOCH, new TrainingListener() {
                    @Override
                    public void onBatch(BatchProgress progress) {
                        batches.add(progress);
                    }
                }, () -> false, read(bytes, LIMIT));
        assertThat(batches).isEmpty();
        assertThat(history.epochs()).isEqualTo(checkpoint.history());
        assertThat(history.trainingSeconds()).isEqualTo(checkpoint.trainingSeconds());
        // and the network holds the checkpoint's parameters
        assertThat(fresh.state()).isEqualTo(checkpoint.state());
        assertThatThrownBy(() -> Trainer.train(NetworkFactory.standard().create(SMALL, ADAM),
                TrainingData.of(data.train()), TrainingData.of(data.test()), ONE_EPOCH, TrainingListener.NONE,
                () -> false, new Checkpoint(List.of(checkpoint.history().get(0),
                        new EpochResult(2, 1, 0.5, 1, 60)), 16, 60, checkpoint.state())))
                .isInstanceOf(IncompatibleCheckpointException.class).hasMessageContaining("2 epochs done");
    }
}
