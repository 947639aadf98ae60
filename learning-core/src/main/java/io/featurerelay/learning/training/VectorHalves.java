package io.featurerelay.learning.training;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * float16 to float32 eight or sixteen values at a time with the JDK's vector API (the {@code jdk.incubator.vector}
 * module, which the JVM loads only when asked: {@code --add-modules jdk.incubator.vector}). Only {@link HalfRows}
 * touches this class, and only after {@link #usable} said yes, so that a JVM without the module never loads it.
 *
 * <p>Why: the table lookup per value cannot be compiled to vector instructions (Java 17's auto-vectorizer does not
 * widen shorts), and was a sixth of the head's training step; the same arithmetic on vectors, reading the store's
 * native memory and writing the batch's, is the same bits in a third of the time.
 */
final class VectorHalves {

    /**
     * Sixteen values at a time where the JVM compiles 512-bit vectors (AVX-512): the CIFAR-10 variant's head batch
     * (128 rows of 12,544 halves) widened in 0.49-0.62 against 0.74-0.80 ms with eight (a Zen 5 EPYC, three interleaved
     * profile pairs, round 2's tenth pass).
     */
    private static final boolean WIDE = IntVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    private static final VectorSpecies<Short> HALVES = WIDE ? ShortVector.SPECIES_256 : ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> WORDS = WIDE ? IntVector.SPECIES_512 : IntVector.SPECIES_256;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** A half's exponent and mantissa shifted into a float's places read 2^-112 times the half's value. */
    private static final float SCALE = 0x1p112f;
    /** The shifted magnitude of the smallest half with an all-ones exponent (infinity, NaN). */
    private static final int SHIFTED_INFINITY = 0x7c00 << 13;

    private VectorHalves() {
    }

    /**
     * Whether this JVM compiles the vector API to 256-bit instructions; on a narrower CPU the API runs as plain
     * Java, far slower than the table.
     */
    static boolean usable() {
        return IntVector.SPECIES_PREFERRED.vectorBitSize() >= IntVector.SPECIES_256.vectorBitSize();
    }

    /**
     * {@code dst[dstAt..] = widen(src[srcAt..])} for {@code count} values; offsets in bytes. Exact: normal
     * and subnormal halves are scaled into place (a power of two), infinities and NaNs keep their payload.
     */
    static void widen(ByteBuffer src, int srcAt, ByteBuffer dst, int dstAt, int count, float[] table) {
        int k = 0;
        for (; k <= count - WORDS.length(); k += WORDS.length()) {
            ShortVector halves = ShortVector.fromByteBuffer(HALVES, src, srcAt + k * Short.BYTES, ORDER);
            IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, WORDS, 0);
            IntVector magnitude = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
            FloatVector scaled = magnitude.reinterpretAsFloats().mul(SCALE);
            // the sign extension put the sign in bit 31 and above: keep bit 31 only
            IntVector widened = scaled.reinterpretAsInts().or(bits.and(0x80000000));
            VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, SHIFTED_INFINITY);
            widened = widened.blend(magnitude.or(0x7f800000).or(bits.and(0x80000000)), special);
            widened.reinterpretAsFloats().intoByteBuffer(dst, dstAt + k * Float.BYTES, ORDER);
        }
        for (; k < count; k++) {
            dst.putFloat(dstAt + k * Float.BYTES, table[src.getShort(srcAt + k * Short.BYTES) & 0xffff]);
        }
    }
}
