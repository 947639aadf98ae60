package io.featurerelay.learning.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.featurerelay.learning.dataset.ImageShape;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.training.EpochResult;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FeatureWeightsCodecTest {

    private static final ModelSpec SPEC = new ModelSpec(List.of(1, 12, 12), List.of(4, 4), 3, 2, 0.25, 8, 0.5, 5);
    private static final byte[] KEY = "a signing key of 32 bytes or so!".getBytes(StandardCharsets.UTF_8);
    private final FeatureWeightsCodec codec = new FeatureWeightsCodec();

    /** Deterministic values with awkward floats in them: NaN payloads, -0, subnormals, extremes. */
    static Map<String, Map<String, float[]>> parameters(ModelSpec spec) {
        Random random = new Random(7);
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        spec.parameterShapes().forEach((layer, arrays) -> arrays.forEach((key, shape) -> {
            float[] v = new float[shape.stream().reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) random.nextGaussian();
            }
            v[0] = -0f;
            if (v.length > 3) {
                v[1] = Float.MIN_VALUE;
                v[2] = Float.MAX_VALUE;
                v[3] = Float.intBitsToFloat(0x7fc00123);
            }
            params.computeIfAbsent(layer, k -> new LinkedHashMap<>()).put(key, v);
        }));
        return params;
    }

    private byte[] envelope() {
        return codec.encode("base-1", Instant.parse("2026-11-29T10:00:00Z"),
                new DatasetInfo("fashion-mnist", List.of(0, 1, 2, 3, 4), List.of("a", "b", "c", "d", "e"),
                        List.of(1, 12, 12), DatasetInfo.PIXELS_OVER_255),
                SPEC, parameters(SPEC), List.of(new EpochResult(1, 0.5, 0.8, 10, 100)), 10);
    }

    @Test
    void roundTripIsBitExact() {
        FeatureWeights decoded = codec.decode(envelope());

        Map<String, Map<String, float[]>> expected = parameters(SPEC);
        assertThat(decoded.parameters().keySet()).containsExactly("conv1", "conv2", "dense", "output");
        expected.forEach((layer, arrays) -> arrays.forEach((key, values) -> {
            float[] actual = decoded.parameters().get(layer).get(key);
            assertThat(actual).hasSize(values.length);
            for (int i = 0; i < values.length; i++) {
                assertThat(Float.floatToRawIntBits(actual[i])).as(layer + "." + key + "[" + i + "]")
                        .isEqualTo(Float.floatToRawIntBits(values[i]));
            }
        }));
        assertThat(decoded.header().spec()).isEqualTo(SPEC);
        assertThat(decoded.header().baseModelId()).isEqualTo("base-1");
        assertThat(decoded.header().featureLayers()).containsExactly("conv1", "conv2");
        assertThat(decoded.featureParameters().keySet()).containsExactly("conv1", "conv2");
        assertThat(decoded.header().history()).containsExactly(new EpochResult(1, 0.5, 0.8, 10, 100));
        assertThat(codec.encode("base-1", Instant.parse("2026-11-29T10:00:00Z"), decoded.header().dataset(), SPEC,
                decoded.parameters(), decoded.header().history(), 10)).isEqualTo(envelope());
    }

    @Test
    void layoutIsMagicLengthHeaderPayload() {
        byte[] bytes = envelope();
        assertThat(new String(bytes, 0, 4, StandardCharsets.US_ASCII)).isEqualTo("FRW1");
        int headerLength = ByteBuffer.wrap(bytes, 4, 4).getInt();
        String header = new String(bytes, 8, headerLength, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{").contains("\"schemaVersion\":1").contains("\"payloadSha256\"");
        FeatureWeights decoded = codec.decode(bytes);
        assertThat(bytes.length - 8 - headerLength).isEqualTo(decoded.header().payloadLength());
        float first = ByteBuffer.wrap(bytes, 8 + headerLength, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat();
        assertThat(Float.floatToRawIntBits(first)).isEqualTo(Float.floatToRawIntBits(-0f));
    }

    private EnvelopeException rejection(byte[] bytes) {
        Throwable t = catchThrowable(() -> codec.decode(bytes));
        assertThat(t).isInstanceOf(EnvelopeException.class);
        return (EnvelopeException) t;
    }

    @Test
    void truncatedEnvelopesAreRejectedAtEveryCut() {
        byte[] bytes = envelope();
        int headerEnd = 8 + ByteBuffer.wrap(bytes, 4, 4).getInt();
        for (int cut : new int[] {0, 3, 7, 8, 100, headerEnd - 1, headerEnd, headerEnd + 1, bytes.length - 1}) {
            EnvelopeException e = rejection(Arrays.copyOf(bytes, cut));
            assertThat(e).as("cut at " + cut).isInstanceOf(EnvelopeException.Truncated.class);
            assertThat(e.reason()).isEqualTo("truncated");
        }
    }

    @Test
    void oversizedEnvelopeAndHeaderLengthAreRejectedBeforeAllocating() {
        FeatureWeightsCodec small = new FeatureWeightsCodec(new DecodeLimits(1000, 500));
        assertThatThrownBy(() -> small.decode(envelope())).isInstanceOf(EnvelopeException.Oversized.class)
                .hasMessageContaining("more than the maximum 1000");

        byte[] lying = envelope();
        ByteBuffer.wrap(lying).putInt(4, 0x7fffffff);
        assertThatThrownBy(() -> codec.decode(lying)).isInstanceOf(EnvelopeException.Oversized.class)
                .hasMessageContaining("header length 2147483647 exceeds");
        ByteBuffer.wrap(lying).putInt(4, -1);
        assertThatThrownBy(() -> codec.decode(lying)).isInstanceOf(EnvelopeException.Oversized.class)
                .hasMessageContaining("header length 4294967295");
    }

    @Test
    void wrongMagicIsRejected() {
        byte[] bytes = envelope();
        bytes[3] = '2';
        assertThat(rejection(bytes)).isInstanceOf(EnvelopeException.BadMagic.class)
                .hasMessageContaining("0x46525732, not FRW1");
    }

    private byte[] withHeader(String header, byte[] original) {
        int headerLength = ByteBuffer.wrap(original, 4, 4).getInt();
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] payload = Arrays.copyOfRange(original, 8 + headerLength, original.length);
        return ByteBuffer.allocate(8 + h.length + payload.length).put("FRW1".getBytes(StandardCharsets.US_ASCII))
                .putInt(h.length).put(h).put(payload).array();
    }

    private static String header(byte[] bytes) {
        return new String(bytes, 8, ByteBuffer.wrap(bytes, 4, 4).getInt(), StandardCharsets.UTF_8);
    }

    @Test
    void unknownVersionIsRejected() {
        byte[] bytes = envelope();
        byte[] v2 = withHeader(header(bytes).replace("\"schemaVersion\":1", "\"schemaVersion\":2"), bytes);
        assertThat(rejection(v2)).isInstanceOf(EnvelopeException.UnsupportedVersion.class)
                .hasMessageContaining("schema version 2 is not supported");
    }

    @Test
    void malformedHeadersAreRejected() {
        byte[] bytes = envelope();
        assertThat(rejection(withHeader("{not json", bytes))).isInstanceOf(EnvelopeException.MalformedHeader.class);
        assertThat(rejection(withHeader("[1,2]", bytes))).isInstanceOf(EnvelopeException.MalformedHeader.class);
        assertThat(rejection(withHeader(header(bytes).replace("\"float32\"", "\"float64\""), bytes)))
                .isInstanceOf(EnvelopeException.MalformedHeader.class).hasMessageContaining("only float32");
        assertThat(rejection(withHeader(header(bytes).replace("\"base-1\"", "\"../etc\""), bytes)))
                .isInstanceOf(EnvelopeException.MalformedHeader.class).hasMessageContaining("baseModelId");
        byte[] extra = Arrays.copyOf(bytes, bytes.length + 4);
        assertThat(rejection(extra)).isInstanceOf(EnvelopeException.MalformedHeader.class)
                .hasMessageContaining("4 bytes more");
    }

    @Test
    void corruptedPayloadFailsTheChecksum() {
        byte[] bytes = envelope();
        bytes[bytes.length - 10] ^= 0x01;
        assertThat(rejection(bytes)).isInstanceOf(EnvelopeException.ChecksumMismatch.class)
                .extracting(EnvelopeException::reason).isEqualTo("checksum-mismatch");
    }

    @Test
    void architectureMismatchIsRejected() {
        byte[] bytes = envelope();
        // the spec now claims 8 filters in the second convolution, the arrays still hold 4
        String changed = header(bytes).replace("\"convFilters\":[4,4]", "\"convFilters\":[4,8]");
        assertThat(rejection(withHeader(changed, bytes))).isInstanceOf(EnvelopeException.ArchitectureMismatch.class)
                .hasMessageContaining("not the parameters of the spec");

        FeatureWeights ok = codec.decode(bytes);
        assertThatThrownBy(() -> FeatureWeightsCodec.checkCompatible(ok, new ImageShape(3, 12, 12)))
                .isInstanceOf(EnvelopeException.ArchitectureMismatch.class)
                .hasMessageContaining("read 1x12x12 images but the target dataset has 3x12x12");
    }

    @Test
    void signaturesAreVerified() {
        byte[] bytes = envelope();
        String signature = FeatureWeightsCodec.sign(bytes, KEY);
        FeatureWeightsCodec.verifySignature(bytes, signature, KEY);

        assertThatThrownBy(() -> FeatureWeightsCodec.verifySignature(bytes, signature, "other".getBytes()))
                .isInstanceOf(EnvelopeException.BadSignature.class);
        byte[] tampered = bytes.clone();
        tampered[20] ^= 1;
        assertThatThrownBy(() -> FeatureWeightsCodec.verifySignature(tampered, signature, KEY))
                .isInstanceOf(EnvelopeException.BadSignature.class);
        assertThatThrownBy(() -> FeatureWeightsCodec.verifySignature(bytes, "%%%", KEY))
                .isInstanceOf(EnvelopeException.BadSignature.class).hasMessageContaining("not base64");
        assertThatThrownBy(() -> FeatureWeightsCodec.verifySignature(bytes, null, KEY))
                .isInstanceOf(EnvelopeException.MissingSignature.class);
        // a header from outside is measured before it is decoded: a megabyte of base64 is no signature
        assertThatThrownBy(() -> FeatureWeightsCodec.verifySignature(bytes, "A".repeat(1 << 20), KEY))
                .isInstanceOf(EnvelopeException.BadSignature.class).hasMessageContaining("1048576 characters");
        FeatureWeightsCodec.verifySignature(bytes, " " + signature + "\n", KEY);
    }

    @Test
    void randomAndMutatedBytesNeverEscapeAsAnotherException() {
        byte[] good = envelope();
        Random random = new Random(1);
        for (int i = 0; i < 2000; i++) {
            byte[] input;
            if (i % 2 == 0) {
                input = new byte[random.nextInt(64)];
                random.nextBytes(input);
                if (i % 4 == 0 && input.length >= 8) {
                    System.arraycopy(good, 0, input, 0, 4);
                }
            } else {
                input = good.clone();
                for (int m = 0; m < 1 + random.nextInt(4); m++) {
                    input[random.nextInt(input.length)] = (byte) random.nextInt(256);
                }
            }
            byte[] candidate = input;
            Throwable t = catchThrowable(() -> codec.decode(candidate));
            assertThat(t).as("input " + i).satisfiesAnyOf(x -> assertThat(x).isNull(),
                    x -> assertThat(x).isInstanceOf(EnvelopeException.class));
        }
    }
}
