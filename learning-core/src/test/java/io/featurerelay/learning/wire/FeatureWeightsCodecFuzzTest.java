package io.featurerelay.learning.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.featurerelay.learning.SeededInputs;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.training.EpochResult;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The decoder against input nobody meant to send: arbitrary bytes, and valid envelopes with bytes overwritten,
 * cut short, extended, a wrong header length, or any number in the JSON header replaced. Whatever comes in,
 * decode either returns or throws {@link EnvelopeException} (which the consumer turns into a dead-letter reason),
 * never anything else, and the memory it allocates stays within a small multiple of the configured maximum
 * envelope size: no size read from the input is trusted before it is checked. The inputs come from seeded
 * generators ({@link SeededInputs}): the same cases in every build, as many as the earlier jqwik properties tried.
 */
class FeatureWeightsCodecFuzzTest {

    private static final DecodeLimits LIMITS = new DecodeLimits(64 << 10, 16 << 10);
    /**
     * What one decode may allocate on the heap: the header's text and JSON tree, the decoded floats (at most
     * the envelope's size) and Jackson's buffers, all bounded by the limits; a decoder that trusted a length
     * from the input would allocate far more.
     */
    private static final long ALLOCATION_BOUND = 8L * LIMITS.maxEnvelopeBytes() + (512 << 10);
    private static final ModelSpec SPEC = new ModelSpec(List.of(1, 12, 12), List.of(4, 4), 3, 2, 0.25, 8, 0.5, 5);
    private static final FeatureWeightsCodec CODEC = new FeatureWeightsCodec(LIMITS);
    private static final byte[] VALID = CODEC.encode("base-1", Instant.parse("2026-11-29T10:00:00Z"),
            new DatasetInfo("fashion-mnist", List.of(0, 1, 2, 3, 4), List.of("a", "b", "c", "d", "e"),
                    List.of(1, 12, 12), DatasetInfo.PIXELS_OVER_255),
            SPEC, FeatureWeightsCodecTest.parameters(SPEC), List.of(new EpochResult(1, 0.5, 0.8, 10, 100)), 10);
    private static final int HEADER_LENGTH = ByteBuffer.wrap(VALID, 4, 4).getInt();
    private static final String HEADER = new String(VALID, 8, HEADER_LENGTH, StandardCharsets.UTF_8);
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?");
    private static final List<int[]> NUMBERS_IN_HEADER = numbers();
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static {
        CODEC.decode(VALID); // class loading and Jackson's caches are not the decoder's per-record cost
    }

    private static List<int[]> numbers() {
        List<int[]> spans = new ArrayList<>();
        Matcher m = NUMBER.matcher(HEADER);
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        return spans;
    }

    /**
     * Decodes; only the codec's own exception may come out, and allocation stays bounded. The allocation is
     * measured on a second decode of the same input, so that one-time class loading and initialisation on the
     * first path through an exception does not count as the decoder's cost.
     */
    private static void decodeSafely(byte[] input) {
        decode(input);
        long before = THREADS.getCurrentThreadAllocatedBytes();
        decode(input);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        assertThat(allocated).as("bytes allocated decoding %d input bytes", input.length)
                .isLessThanOrEqualTo(ALLOCATION_BOUND);
    }

    private static void decode(byte[] input) {
        try {
            CODEC.decode(input);
        } catch (EnvelopeException expected) {
            assertThat(expected.reason()).isNotBlank();
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    static Stream<byte[]> arbitraryBytes() {
        return SeededInputs.draw(1000, r -> SeededInputs.bytes(r, 4096));
    }

    @ParameterizedTest
    @MethodSource
    void arbitraryBytes(byte[] input) {
        decodeSafely(input);
    }

    static Stream<byte[]> arbitraryBytesAfterTheMagic() {
        return SeededInputs.draw(1000, r -> SeededInputs.bytes(r, 4096));
    }

    @ParameterizedTest
    @MethodSource
    void arbitraryBytesAfterTheMagic(byte[] rest) {
        byte[] input = Arrays.copyOf(FeatureWeightsCodec.MAGIC, 4 + rest.length);
        System.arraycopy(rest, 0, input, 4, rest.length);
        decodeSafely(input);
    }

    static Stream<byte[]> mutatedValidEnvelopes() {
        return SeededInputs.draw(3000, FeatureWeightsCodecFuzzTest::mutation);
    }

    @ParameterizedTest
    @MethodSource
    void mutatedValidEnvelopes(byte[] input) {
        decodeSafely(input);
    }

    /** One of five kinds of damage, each as likely as the others. */
    private static byte[] mutation(SplittableRandom r) {
        switch (r.nextInt(5)) {
            case 0 -> {
                // 1-16 bytes overwritten with arbitrary values
                byte[] copy = VALID.clone();
                int n = 1 + r.nextInt(16);
                for (int i = 0; i < n; i++) {
                    copy[r.nextInt(VALID.length)] = (byte) r.nextInt(256);
                }
                return copy;
            }
            case 1 -> {
                return Arrays.copyOf(VALID, r.nextInt(VALID.length));
            }
            case 2 -> {
                byte[] extra = new byte[1 + r.nextInt(1024)];
                r.nextBytes(extra);
                byte[] copy = Arrays.copyOf(VALID, VALID.length + extra.length);
                System.arraycopy(extra, 0, copy, VALID.length, extra.length);
                return copy;
            }
            case 3 -> {
                byte[] copy = VALID.clone();
                ByteBuffer.wrap(copy, 4, 4).putInt(r.nextInt());
                return copy;
            }
            default -> {
                // any number of the header (shape dimensions, offsets, payloadLength, filters, version...)
                // replaced by an arbitrary one, the header length kept consistent
                String replacement = switch (r.nextInt(3)) {
                    case 0 -> String.valueOf(r.nextLong());
                    case 1 -> String.valueOf(r.nextInt(-2, 70_001));
                    default -> SeededInputs.oneOf(r, List.of("1e30", "-0", "0.5", "NaN", "99999999999999999999",
                            "\"x\"", "null", "[]", "{}"));
                };
                return withHeaderNumber(r.nextInt(NUMBERS_IN_HEADER.size()), replacement);
            }
        }
    }

    private static byte[] withHeaderNumber(int which, String replacement) {
        int[] span = NUMBERS_IN_HEADER.get(which);
        String header = HEADER.substring(0, span[0]) + replacement + HEADER.substring(span[1]);
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        byte[] payload = Arrays.copyOfRange(VALID, 8 + HEADER_LENGTH, VALID.length);
        return ByteBuffer.allocate(8 + headerBytes.length + payload.length).put(FeatureWeightsCodec.MAGIC)
                .putInt(headerBytes.length).put(headerBytes).put(payload).array();
    }

    static Stream<String> hugeDimensions() {
        // the edges of both ranges, then values drawn from them
        Stream<String> edges = Stream.of(1 << 20, Integer.MAX_VALUE, 1L << 31, Long.MAX_VALUE).map(String::valueOf);
        return Stream.concat(edges, SeededInputs.draw(196, r -> r.nextBoolean()
                ? String.valueOf(r.nextInt(1 << 20, Integer.MAX_VALUE))
                : String.valueOf(r.nextLong(1L << 31, Long.MAX_VALUE))));
    }

    @ParameterizedTest
    @MethodSource("hugeDimensions")
    void aShapeClaimingHugeArraysIsRejectedBeforeAllocating(String dimension) {
        // the first array's first dimension made huge: the payload cannot hold it, and nothing is allocated for it
        String header = HEADER.replaceFirst("\"shape\":\\[\\d+", "\"shape\":[" + dimension);
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        byte[] payload = Arrays.copyOfRange(VALID, 8 + HEADER_LENGTH, VALID.length);
        byte[] input = ByteBuffer.allocate(8 + headerBytes.length + payload.length).put(FeatureWeightsCodec.MAGIC)
                .putInt(headerBytes.length).put(headerBytes).put(payload).array();
        assertThat(header).as("the dimension was replaced").contains("\"shape\":[" + dimension);
        assertThatThrownBy(() -> CODEC.decode(input)).isInstanceOf(EnvelopeException.class);
        decodeSafely(input);
    }

    /** The envelope with its base model id replaced (written as JSON, so that any character can be in it). */
    static byte[] withBaseModelId(String id) {
        try {
            String header = HEADER.replace("\"baseModelId\":\"base-1\"", "\"baseModelId\":"
                    + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(id));
            byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
            byte[] payload = Arrays.copyOfRange(VALID, 8 + HEADER_LENGTH, VALID.length);
            return ByteBuffer.allocate(8 + headerBytes.length + payload.length).put(FeatureWeightsCodec.MAGIC)
                    .putInt(headerBytes.length).put(headerBytes).put(payload).array();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static Stream<String> baseModelIds() {
        Stream<String> hostile = Stream.of(".", "..", "../../etc", "a/b", "a\\b", "a\u0000b", "a\nb", "base-\u00e9",
                "x".repeat(102), "Base-1", "base.1", "");
        return Stream.concat(hostile,
                SeededInputs.draw(500, r -> SeededInputs.string(r, "abz09-.", 1 + r.nextInt(110))));
    }

    @ParameterizedTest
    @MethodSource("baseModelIds")
    void aBaseModelIdIsDecodedOnlyWhenItIsAnIdentifier(String id) {
        byte[] input = withBaseModelId(id);
        if (Identifier.BASE_MODEL_ID.valid(id)) {
            assertThat(CODEC.decode(input).header().baseModelId()).isEqualTo(id);
        } else {
            assertThatThrownBy(() -> CODEC.decode(input)).isInstanceOf(EnvelopeException.MalformedHeader.class)
                    .hasMessageContaining("baseModelId");
            assertThatThrownBy(() -> CODEC.encode(id, Instant.now(), CODEC.decode(VALID).header().dataset(), SPEC,
                    FeatureWeightsCodecTest.parameters(SPEC), List.of(), 0))
                    .isInstanceOf(io.featurerelay.learning.ids.InvalidIdentifierException.class);
        }
        decodeSafely(input);
    }

    @Test
    void theUnmutatedEnvelopeDecodes() {
        assertThat(CODEC.decode(VALID).parameters()).containsKeys("conv1", "conv2", "dense", "output");
    }
}
