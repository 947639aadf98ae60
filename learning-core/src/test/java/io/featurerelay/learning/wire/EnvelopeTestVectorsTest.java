package io.featurerelay.learning.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.training.EpochResult;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed test vectors of the FeatureWeights envelope ({@code docs/envelope/vectors}): small envelopes,
 * one valid (and signed) and one for each way of being wrong, with {@code vectors.json} saying what a reader
 * must make of each. The Python reader's tests read the same files (clients/python). This test checks that
 * the committed files are exactly what the codec writes and corrupts (so they cannot drift from the code), and
 * that the codec gives each the reason the manifest names. To write them anew after a deliberate format
 * change: {@code -Dfeaturerelay.write-vectors=true}.
 */
class EnvelopeTestVectorsTest {

    static final Path DIRECTORY = Path.of("../docs/envelope/vectors");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Non-square input, one convolution: 43 parameters. */
    private static final ModelSpec SPEC = new ModelSpec(List.of(1, 6, 5), List.of(2), 3, 2, 0.25, 3, 0.5, 2);
    private static final byte[] KEY = "test-vector signing key".getBytes(StandardCharsets.UTF_8);

    /** One vector: its file, what it is, the bytes, the reason expected ("valid" for none) and the inputs. */
    private record Vector(String file, String description, byte[] bytes, String expect, String signature,
            Integer maxEnvelopeBytes) {
    }

    private static Map<String, Map<String, float[]>> parameters() {
        Map<String, Map<String, float[]>> params = new LinkedHashMap<>();
        int[] counter = {0};
        SPEC.parameterShapes().forEach((layer, arrays) -> arrays.forEach((key, shape) -> {
            float[] v = new float[shape.stream().reduce(1, (a, b) -> a * b)];
            for (int i = 0; i < v.length; i++) {
                v[i] = (counter[0]++ - 20) / 8f;
            }
            params.computeIfAbsent(layer, k -> new LinkedHashMap<>()).put(key, v);
        }));
        // awkward floats a reader must keep bit for bit: -0, the smallest subnormal, the largest float, a NaN payload
        float[] w = params.get("conv1").get("W");
        w[0] = -0f;
        w[1] = Float.MIN_VALUE;
        w[2] = Float.MAX_VALUE;
        w[3] = Float.intBitsToFloat(0x7fc00123);
        return params;
    }

    static byte[] validEnvelope() {
        return new FeatureWeightsCodec().encode("base-test-vector", Instant.parse("2026-12-01T00:00:00Z"),
                new DatasetInfo("image-folder", List.of(0, 1), List.of("left", "right"), SPEC.inputShape(),
                        DatasetInfo.PIXELS_OVER_255),
                SPEC, parameters(), List.of(new EpochResult(1, 0.625, 0.75, 1.5, 1000)), 1.5);
    }

    private static List<Vector> vectors() throws IOException {
        byte[] valid = validEnvelope();
        int headerLength = ByteBuffer.wrap(valid, 4, 4).getInt();
        int payloadStart = FeatureWeightsCodec.PREFIX + headerLength;
        String signature = FeatureWeightsCodec.sign(valid, KEY);

        byte[] badMagic = valid.clone();
        badMagic[3] = '2';
        byte[] checksum = valid.clone();
        checksum[valid.length - 1] ^= 0x01;
        byte[] hugeHeaderLength = valid.clone();
        ByteBuffer.wrap(hugeHeaderLength, 4, 4).putInt(2 << 20);
        byte[] trailing = Arrays.copyOf(valid, valid.length + 4);

        ObjectNode header = (ObjectNode) JSON.readTree(new String(valid, FeatureWeightsCodec.PREFIX, headerLength,
                StandardCharsets.UTF_8));
        ObjectNode version2 = header.deepCopy();
        version2.put("schemaVersion", 2);
        ObjectNode swapped = header.deepCopy();
        // the dense weights as [out, in]: the same number of floats, so only the architecture check can catch it
        for (JsonNode entry : swapped.get("arrays")) {
            if (entry.get("layer").asText().equals("dense") && entry.get("key").asText().equals("W")) {
                ArrayNode shape = (ArrayNode) entry.get("shape");
                JsonNode in = shape.get(0);
                shape.set(0, shape.get(1));
                shape.set(1, in);
            }
        }
        byte[] payload = Arrays.copyOfRange(valid, payloadStart, valid.length);

        return List.of(
                new Vector("valid.frw", "a valid envelope (non-square 1x6x5 input, one convolution; awkward floats "
                        + "in conv1.W)", valid, "valid", null, null),
                new Vector("valid.frw", "the same, signed with the manifest's key", valid, "valid", signature, null),
                new Vector("valid.frw", "the same, with a key configured but no signature", valid,
                        "missing-signature", "", null),
                new Vector("valid.frw", "the same, signed with another key", valid, "bad-signature",
                        FeatureWeightsCodec.sign(valid, "another key".getBytes(StandardCharsets.UTF_8)), null),
                new Vector("valid.frw", "the same, read with a 100-byte envelope limit", valid, "oversized", null,
                        100),
                new Vector("truncated-prefix.frw", "6 bytes: shorter than the 8-byte prefix",
                        Arrays.copyOf(valid, 6), "truncated", null, null),
                new Vector("truncated-header.frw", "the header length runs past the end",
                        Arrays.copyOf(valid, FeatureWeightsCodec.PREFIX + headerLength / 2), "truncated", null, null),
                new Vector("truncated-payload.frw", "the last 8 payload bytes missing",
                        Arrays.copyOf(valid, valid.length - 8), "truncated", null, null),
                new Vector("oversized-header-length.frw", "a header length of 2 MiB, over the 1 MiB maximum",
                        hugeHeaderLength, "oversized", null, null),
                new Vector("bad-magic.frw", "starts with FRW2", badMagic, "bad-magic", null, null),
                new Vector("unsupported-version.frw", "schemaVersion 2", pack(version2, payload),
                        "unsupported-version", null, null),
                new Vector("malformed-json.frw", "the header is not JSON",
                        pack("{\"schemaVersion\": 1,".getBytes(StandardCharsets.UTF_8), payload), "malformed-header",
                        null, null),
                new Vector("trailing-bytes.frw", "4 bytes after the payload the header describes", trailing,
                        "malformed-header", null, null),
                new Vector("checksum-mismatch.frw", "one payload bit flipped", checksum, "checksum-mismatch", null,
                        null),
                new Vector("architecture-mismatch.frw", "dense.W declared [3, 4] where the spec makes it [4, 3]",
                        pack(swapped, payload), "architecture-mismatch", null, null));
    }

    private static byte[] pack(ObjectNode header, byte[] payload) throws IOException {
        return pack(new ObjectMapper().writeValueAsBytes(header), payload);
    }

    private static byte[] pack(byte[] header, byte[] payload) {
        return ByteBuffer.allocate(FeatureWeightsCodec.PREFIX + header.length + payload.length)
                .put(FeatureWeightsCodec.MAGIC).putInt(header.length).put(header).put(payload).array();
    }

    private static byte[] manifest(List<Vector> vectors) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FeatureWeightsCodec.SCHEMA_NAME);
        root.put("signingKeyHex", HexFormat.of().formatHex(KEY));
        root.put("maxEnvelopeBytes", DecodeLimits.DEFAULT.maxEnvelopeBytes());
        root.put("maxHeaderBytes", DecodeLimits.DEFAULT.maxHeaderBytes());
        ObjectNode expected = root.putObject("validParametersFloat32Bits");
        parameters().forEach((layer, arrays) -> arrays.forEach((key, values) -> {
            ArrayNode bits = expected.putArray(layer + "." + key);
            for (float v : values) {
                bits.add(Integer.toUnsignedLong(Float.floatToRawIntBits(v)));
            }
        }));
        ArrayNode list = root.putArray("vectors");
        for (Vector v : vectors) {
            ObjectNode entry = list.addObject();
            entry.put("file", v.file());
            entry.put("description", v.description());
            entry.put("expect", v.expect());
            if (v.signature() != null) {
                entry.put("signature", v.signature());
            }
            if (v.maxEnvelopeBytes() != null) {
                entry.put("maxEnvelopeBytes", v.maxEnvelopeBytes());
            }
        }
        return (JSON.writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theCommittedVectorsAreWhatTheCodecWritesAndEachIsReadAsTheManifestSays() throws IOException {
        List<Vector> vectors = vectors();
        byte[] manifest = manifest(vectors);
        if (Boolean.getBoolean("featurerelay.write-vectors")) {
            Files.createDirectories(DIRECTORY);
            for (Vector v : vectors) {
                Files.write(DIRECTORY.resolve(v.file()), v.bytes());
            }
            Files.write(DIRECTORY.resolve("vectors.json"), manifest);
        }
        assertThat(Files.readString(DIRECTORY.resolve("vectors.json")))
                .isEqualTo(new String(manifest, StandardCharsets.UTF_8));
        for (Vector v : vectors) {
            assertThat(Files.readAllBytes(DIRECTORY.resolve(v.file()))).as(v.file()).isEqualTo(v.bytes());
        }

        JsonNode root = JSON.readTree(manifest);
        for (JsonNode entry : root.get("vectors")) {
            byte[] bytes = Files.readAllBytes(DIRECTORY.resolve(entry.get("file").asText()));
            int maxEnvelope = entry.has("maxEnvelopeBytes") ? entry.get("maxEnvelopeBytes").asInt()
                    : root.get("maxEnvelopeBytes").asInt();
            FeatureWeightsCodec codec = new FeatureWeightsCodec(new DecodeLimits(maxEnvelope,
                    root.get("maxHeaderBytes").asInt()));
            Throwable thrown = catchThrowable(() -> {
                FeatureWeights decoded = codec.decode(bytes);
                if (entry.has("signature")) {
                    FeatureWeightsCodec.verifySignature(bytes, entry.get("signature").asText(), KEY);
                }
                root.get("validParametersFloat32Bits").fields().forEachRemaining(e -> {
                    String[] name = e.getKey().split("\\.");
                    float[] values = decoded.parameters().get(name[0]).get(name[1]);
                    for (int i = 0; i < values.length; i++) {
                        assertThat(Integer.toUnsignedLong(Float.floatToRawIntBits(values[i])))
                                .as(e.getKey() + "[" + i + "]").isEqualTo(e.getValue().get(i).asLong());
                    }
                });
            });
            String description = entry.get("file").asText() + ": " + entry.get("description").asText();
            if (entry.get("expect").asText().equals("valid")) {
                assertThat(thrown).as(description).isNull();
            } else {
                assertThat(thrown).as(description).isInstanceOf(EnvelopeException.class);
                assertThat(((EnvelopeException) thrown).reason()).as(description)
                        .isEqualTo(entry.get("expect").asText());
            }
        }
    }
}
