package io.featurerelay.learning.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.dataset.ImageShape;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.training.EpochResult;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encodes and decodes FeatureWeights envelopes (v1): magic {@code FRW1}, u32 big-endian header length,
 * UTF-8 JSON header, then float32 little-endian arrays in header order. Decoding checks every length
 * against the input and the limits before it allocates, then the checksum and the architecture.
 */
public final class FeatureWeightsCodec {

    public static final int SCHEMA_VERSION = 1;
    public static final String SCHEMA_NAME = "featurerelay.FeatureWeights.v1";
    static final byte[] MAGIC = {'F', 'R', 'W', '1'};
    static final int PREFIX = MAGIC.length + 4;
    /** Base64 of 32 bytes is 44 characters; a little room for surrounding white space. */
    static final int MAX_SIGNATURE_CHARS = 64;
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final String HMAC = "HmacSHA256";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true);

    private final DecodeLimits limits;

    public FeatureWeightsCodec(DecodeLimits limits) {
        this.limits = limits;
    }

    public FeatureWeightsCodec() {
        this(DecodeLimits.DEFAULT);
    }

    /**
     * Encodes a base network's parameters.
     *
     * @param parameters every layer of {@code spec.parameterShapes()}, by layer then key
     */
    public byte[] encode(String baseModelId, Instant createdAt, DatasetInfo dataset, ModelSpec spec,
            Map<String, Map<String, float[]>> parameters, List<EpochResult> history, double trainingSeconds) {
        // the id becomes the record key, a path segment and a database key on the other side
        Identifier.BASE_MODEL_ID.require("baseModelId", baseModelId);
        List<ArrayEntry> arrays = new ArrayList<>();
        long offset = 0;
        for (var layer : spec.parameterShapes().entrySet()) {
            for (var key : layer.getValue().entrySet()) {
                ArrayEntry entry = new ArrayEntry(layer.getKey(), key.getKey(), key.getValue(), ArrayEntry.FLOAT32,
                        offset);
                float[] values = parameters.getOrDefault(layer.getKey(), Map.of()).get(key.getKey());
                if (values == null || values.length != entry.elements()) {
                    throw new IllegalArgumentException("parameter " + layer.getKey() + "." + key.getKey() + " needs "
                            + entry.elements() + " values, got " + (values == null ? "none" : values.length));
                }
                arrays.add(entry);
                offset += entry.elements() * Float.BYTES;
            }
        }
        ByteBuffer payload = ByteBuffer.allocate(Math.toIntExact(offset)).order(ByteOrder.LITTLE_ENDIAN);
        for (ArrayEntry entry : arrays) {
            for (float v : parameters.get(entry.layer()).get(entry.key())) {
                payload.putFloat(v);
            }
        }
        byte[] payloadBytes = payload.array();
        EnvelopeHeader header = new EnvelopeHeader(SCHEMA_VERSION, baseModelId, createdAt.toString(), dataset, spec,
                spec.featureLayers(), spec.headLayers(), arrays, history, trainingSeconds, payloadBytes.length,
                sha256(payloadBytes));
        byte[] headerBytes;
        try {
            headerBytes = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("header always serialises", e);
        }
        int total = PREFIX + headerBytes.length + payloadBytes.length;
        if (total > limits.maxEnvelopeBytes() || headerBytes.length > limits.maxHeaderBytes()) {
            throw new EnvelopeException.Oversized("envelope of " + total + " bytes (header " + headerBytes.length
                    + ") exceeds the limits " + limits);
        }
        return ByteBuffer.allocate(total).put(MAGIC).putInt(headerBytes.length).put(headerBytes).put(payloadBytes)
                .array();
    }

    /**
     * Decodes and verifies structure, sizes, checksum and architecture (not the signature: see
     * {@link #verifySignature}).
     *
     * @throws EnvelopeException naming the first problem found
     */
    public FeatureWeights decode(byte[] bytes) {
        if (bytes == null || bytes.length < PREFIX) {
            throw new EnvelopeException.Truncated("envelope has " + (bytes == null ? 0 : bytes.length)
                    + " bytes, fewer than the " + PREFIX + "-byte prefix");
        }
        if (bytes.length > limits.maxEnvelopeBytes()) {
            throw new EnvelopeException.Oversized("envelope has " + bytes.length + " bytes, more than the maximum "
                    + limits.maxEnvelopeBytes());
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new EnvelopeException.BadMagic("envelope starts with 0x"
                        + HexFormat.of().formatHex(bytes, 0, MAGIC.length) + ", not FRW1");
            }
        }
        long headerLength = ByteBuffer.wrap(bytes, MAGIC.length, 4).getInt() & 0xFFFF_FFFFL;
        if (headerLength > limits.maxHeaderBytes()) {
            throw new EnvelopeException.Oversized("header length " + headerLength + " exceeds the maximum "
                    + limits.maxHeaderBytes());
        }
        if (PREFIX + headerLength > bytes.length) {
            throw new EnvelopeException.Truncated("header length " + headerLength + " runs past the end of the "
                    + bytes.length + "-byte envelope");
        }
        EnvelopeHeader header = parseHeader(bytes, (int) headerLength);
        int payloadStart = PREFIX + (int) headerLength;
        long actualPayload = bytes.length - (long) payloadStart;
        if (header.payloadLength() > limits.maxEnvelopeBytes()) {
            throw new EnvelopeException.Oversized("payload length " + header.payloadLength() + " exceeds the maximum "
                    + limits.maxEnvelopeBytes());
        }
        if (actualPayload < header.payloadLength()) {
            throw new EnvelopeException.Truncated("payload has " + actualPayload + " bytes, the header promises "
                    + header.payloadLength());
        }
        if (actualPayload > header.payloadLength()) {
            throw new EnvelopeException.MalformedHeader("payload has " + (actualPayload - header.payloadLength())
                    + " bytes more than the header's payloadLength " + header.payloadLength());
        }
        checkArrays(header);
        String sha = sha256(bytes, payloadStart, (int) actualPayload);
        if (!sha.equals(header.payloadSha256())) {
            throw new EnvelopeException.ChecksumMismatch("payload SHA-256 is " + sha + ", the header says "
                    + header.payloadSha256());
        }
        ByteBuffer payload = ByteBuffer.wrap(bytes, payloadStart, (int) actualPayload).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Map<String, float[]>> parameters = new LinkedHashMap<>();
        for (ArrayEntry entry : header.arrays()) {
            float[] values = new float[(int) entry.elements()];
            payload.position((int) entry.offset());
            payload.asFloatBuffer().get(values);
            parameters.computeIfAbsent(entry.layer(), k -> new LinkedHashMap<>()).put(entry.key(), values);
        }
        return new FeatureWeights(header, parameters);
    }

    private EnvelopeHeader parseHeader(byte[] bytes, int headerLength) {
        JsonNode tree;
        try {
            tree = JSON.readTree(new String(bytes, PREFIX, headerLength, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new EnvelopeException.MalformedHeader("header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new EnvelopeException.MalformedHeader("header is not a JSON object");
        }
        JsonNode version = tree.get("schemaVersion");
        if (version == null || !version.isInt()) {
            throw new EnvelopeException.MalformedHeader("header has no integer schemaVersion");
        }
        if (version.intValue() != SCHEMA_VERSION) {
            throw new EnvelopeException.UnsupportedVersion("schema version " + version.intValue()
                    + " is not supported; this reader knows version " + SCHEMA_VERSION);
        }
        EnvelopeHeader header;
        try {
            header = JSON.treeToValue(tree, EnvelopeHeader.class);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            String detail = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
            throw new EnvelopeException.MalformedHeader("header does not match the v1 schema: " + detail, e);
        }
        Identifier.BASE_MODEL_ID.problem(header.baseModelId()).ifPresent(problem -> {
            throw new EnvelopeException.MalformedHeader("header: baseModelId " + problem);
        });
        require(header.spec() != null, "spec is missing");
        require(header.arrays() != null && !header.arrays().isEmpty(), "arrays are missing");
        require(header.featureLayers() != null && header.headLayers() != null, "featureLayers/headLayers are missing");
        require(header.dataset() != null, "dataset is missing");
        String location = header.dataset().location();
        require(location == null || (location.length() <= MAX_LOCATION_CHARS && location.chars().noneMatch(ch -> ch < 0x20)),
                "dataset.location must be at most " + MAX_LOCATION_CHARS + " characters without control characters");
        require(header.payloadSha256() != null && SHA256_HEX.matcher(header.payloadSha256()).matches(),
                "payloadSha256 must be 64 lower-case hex digits");
        require(header.payloadLength() >= 0, "payloadLength must not be negative");
        try {
            Instant.parse(header.createdAt());
        } catch (RuntimeException e) {
            throw new EnvelopeException.MalformedHeader("createdAt is no ISO-8601 instant: " + header.createdAt());
        }
        return header;
    }

    /** A directory name, not a document: PATH_MAX on Linux. */
    static final int MAX_LOCATION_CHARS = 4096;

    private static void require(boolean ok, String problem) {
        if (!ok) {
            throw new EnvelopeException.MalformedHeader("header: " + problem);
        }
    }

    /** Offsets contiguous from 0, float32 only, sizes summing to the payload, shapes as the spec builds them. */
    private static void checkArrays(EnvelopeHeader header) {
        long expectedOffset = 0;
        for (ArrayEntry entry : header.arrays()) {
            require(entry != null && entry.layer() != null && entry.key() != null && entry.shape() != null,
                    "an array entry lacks layer, key or shape");
            String name = entry.layer() + "." + entry.key();
            require(ArrayEntry.FLOAT32.equals(entry.dtype()), name + " has dtype " + entry.dtype()
                    + ", only float32 is defined");
            long elements = entry.elements();
            require(elements > 0, name + " has an invalid shape " + entry.shape());
            require(entry.offset() == expectedOffset, name + " starts at " + entry.offset() + ", expected "
                    + expectedOffset);
            expectedOffset += elements * Float.BYTES;
            require(expectedOffset <= header.payloadLength(), name + " ends at " + expectedOffset
                    + ", past the payload's " + header.payloadLength() + " bytes");
        }
        require(expectedOffset == header.payloadLength(), "arrays cover " + expectedOffset + " bytes, payloadLength is "
                + header.payloadLength());

        Map<String, Map<String, List<Integer>>> expected = header.spec().parameterShapes();
        Map<String, Map<String, List<Integer>>> actual = new LinkedHashMap<>();
        for (ArrayEntry entry : header.arrays()) {
            actual.computeIfAbsent(entry.layer(), k -> new LinkedHashMap<>()).put(entry.key(), entry.shape());
        }
        if (!expected.equals(actual)) {
            throw new EnvelopeException.ArchitectureMismatch("the arrays " + actual
                    + " are not the parameters of the spec, which needs " + expected);
        }
        if (!header.spec().featureLayers().equals(header.featureLayers())) {
            throw new EnvelopeException.ArchitectureMismatch("featureLayers " + header.featureLayers()
                    + " differ from the spec's " + header.spec().featureLayers());
        }
    }

    /**
     * Checks that the features can read a target dataset's images.
     *
     * @throws EnvelopeException.ArchitectureMismatch when the input shapes differ
     */
    public static void checkCompatible(FeatureWeights weights, ImageShape targetInput) {
        ImageShape source = weights.header().spec().imageShape();
        if (!source.equals(targetInput)) {
            throw new EnvelopeException.ArchitectureMismatch("the features read " + source + " images but the target "
                    + "dataset has " + targetInput);
        }
    }

    /** Base64 HMAC-SHA256 of the whole envelope (magic, header and payload). */
    public static String sign(byte[] envelope, byte[] key) {
        return Base64.getEncoder().encodeToString(hmac(envelope, key));
    }

    /**
     * @param signature the record's signature header, or null when it carries none
     * @throws EnvelopeException.MissingSignature or {@link EnvelopeException.BadSignature}
     */
    public static void verifySignature(byte[] envelope, String signature, byte[] key) {
        verifySignature(envelope, signature, List.of(key));
    }

    /**
     * Accepts a signature made with any of {@code keys}: during a key rotation the receiver accepts the old
     * and the new key until every producer signs with the new one.
     *
     * @param signature the record's signature header, or null when it carries none
     * @throws EnvelopeException.MissingSignature or {@link EnvelopeException.BadSignature}
     */
    public static void verifySignature(byte[] envelope, String signature, List<byte[]> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("no signing key to verify with");
        }
        if (signature == null || signature.isBlank()) {
            throw new EnvelopeException.MissingSignature("a signing key is configured but the record is not signed");
        }
        if (signature.length() > MAX_SIGNATURE_CHARS) {
            // a header field from outside: its size is checked before it is decoded
            throw new EnvelopeException.BadSignature("the signature header has " + signature.length()
                    + " characters, more than an HMAC-SHA256 signature's " + MAX_SIGNATURE_CHARS);
        }
        byte[] given;
        try {
            given = Base64.getDecoder().decode(signature.trim());
        } catch (IllegalArgumentException e) {
            throw new EnvelopeException.BadSignature("the signature is not base64");
        }
        boolean valid = false;
        for (byte[] key : keys) {
            // every key is tried, so that the time taken does not tell which one matched
            valid |= MessageDigest.isEqual(given, hmac(envelope, key));
        }
        if (!valid) {
            throw new EnvelopeException.BadSignature("the HMAC-SHA256 signature does not match the envelope"
                    + (keys.size() > 1 ? " under any of the " + keys.size() + " accepted keys" : ""));
        }
    }

    private static byte[] hmac(byte[] data, byte[] key) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            mac.init(new SecretKeySpec(key, HMAC));
            return mac.doFinal(data);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    public static String sha256(byte[] data) {
        return sha256(data, 0, data.length);
    }

    static String sha256(byte[] data, int offset, int length) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(data, offset, length);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
