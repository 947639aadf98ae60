package io.featurerelay.learning.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

/**
 * The decoder against input nobody meant to send: arbitrary bytes, and valid envelopes with bytes overwritten,
 * cut short, extended, a wrong header length, or any number in the JSON header replaced. Whatever comes in,
 * decode either returns or throws {@link EnvelopeException} (which the consumer turns into a dead-letter reason),
 * never anything else, and the memory it allocates stays within a small multiple of the configured maximum
 * envelope size: no size read from the input is trusted before it is checked.
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

    @Property(tries = 1000)
    void arbitraryBytes(@ForAll @Size(max = 4096) byte[] input) {
        decodeSafely(input);
    }

    @Property(tries = 1000)
    void arbitraryBytesAfterTheMagic(@ForAll @Size(max = 4096) byte[] rest) {
        byte[] input = Arrays.copyOf(FeatureWeightsCodec.MAGIC, 4 + rest.length);
        System.arraycopy(rest, 0, input, 4, rest.length);
        decodeSafely(input);
    }

    @Property(tries = 3000)
    void mutatedValidEnvelopes(@ForAll("mutations") byte[] input) {
        decodeSafely(input);
    }

    @Provide
    Arbitrary<byte[]> mutations() {
        Arbitrary<byte[]> overwritten = Combinators.combine(
                Arbitraries.integers().between(0, VALID.length - 1).list().ofMinSize(1).ofMaxSize(16),
                Arbitraries.bytes().list().ofSize(16)).as((positions, values) -> {
                    byte[] copy = VALID.clone();
                    for (int i = 0; i < positions.size(); i++) {
                        copy[positions.get(i)] = values.get(i);
                    }
                    return copy;
                });
        Arbitrary<byte[]> truncated = Arbitraries.integers().between(0, VALID.length - 1)
                .map(n -> Arrays.copyOf(VALID, n));
        Arbitrary<byte[]> extended = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(1024)
                .map(extra -> {
                    byte[] copy = Arrays.copyOf(VALID, VALID.length + extra.length);
                    System.arraycopy(extra, 0, copy, VALID.length, extra.length);
                    return copy;
                });
        Arbitrary<byte[]> headerLength = Arbitraries.integers().map(length -> {
            byte[] copy = VALID.clone();
            ByteBuffer.wrap(copy, 4, 4).putInt(length);
            return copy;
        });
        // any number of the header (shape dimensions, offsets, payloadLength, filters, version...) replaced
        // by an arbitrary one, the header length kept consistent
        Arbitrary<byte[]> headerNumber = Combinators.combine(
                Arbitraries.integers().between(0, NUMBERS_IN_HEADER.size() - 1),
                Arbitraries.oneOf(Arbitraries.longs().map(String::valueOf),
                        Arbitraries.integers().between(-2, 70_000).map(String::valueOf),
                        Arbitraries.of("1e30", "-0", "0.5", "NaN", "99999999999999999999", "\"x\"", "null", "[]",
                                "{}")))
                .as(FeatureWeightsCodecFuzzTest::withHeaderNumber);
        return Arbitraries.oneOf(overwritten, truncated, extended, headerLength, headerNumber);
    }

    private static byte[] withHeaderNumber(int which, String replacement) {
        int[] span = NUMBERS_IN_HEADER.get(which);
        String header = HEADER.substring(0, span[0]) + replacement + HEADER.substring(span[1]);
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        byte[] payload = Arrays.copyOfRange(VALID, 8 + HEADER_LENGTH, VALID.length);
        return ByteBuffer.allocate(8 + headerBytes.length + payload.length).put(FeatureWeightsCodec.MAGIC)
                .putInt(headerBytes.length).put(headerBytes).put(payload).array();
    }

    @Property(tries = 200)
    void aShapeClaimingHugeArraysIsRejectedBeforeAllocating(@ForAll("hugeDimensions") String dimension) {
        // the first array's first dimension made huge: the payload cannot hold it, and nothing is allocated for it
        String header = HEADER.replaceFirst("\"shape\":\\[\\d+", "\"shape\":[" + dimension);
        byte[] headerBytes = header.getBytes(StandardCharsets.UTF_8);
        byte[] payload = Arrays.copyOfRange(VALID, 8 + HEADER_LENGTH, VALID.length);
        byte[] input = ByteBuffer.allocate(8 + headerBytes.length + payload.length).put(FeatureWeightsCodec.MAGIC)
                .putInt(headerBytes.length).put(headerBytes).put(payload).array();
        assertThatThrownBy(() -> CODEC.decode(input)).isInstanceOf(EnvelopeException.class);
        decodeSafely(input);
    }

    @Provide
    Arbitrary<String> hugeDimensions() {
        return Arbitraries.oneOf(Arbitraries.integers().between(1 << 20, Integer.MAX_VALUE).map(String::valueOf),
                Arbitraries.longs().greaterOrEqual(1L << 31).map(String::valueOf));
    }

    @Example
    void theUnmutatedEnvelopeDecodes() {
        assertThat(CODEC.decode(VALID).parameters()).containsKeys("conv1", "conv2", "dense", "output");
    }
}
