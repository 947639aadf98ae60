package io.featurerelay.learning;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * Inputs for the property tests: drawn from a random stream with a fixed seed, so that every run of
 * {@code mvn verify} tries the same cases (a failure is reproduced by its index, shown in the test's name).
 * {@code -Dfeaturerelay.properties.seed=N} draws another set, to look further.
 */
public final class SeededInputs {

    /** The seed of every generator; the default makes the runs repeatable. */
    public static final long SEED = Long.getLong("featurerelay.properties.seed", 20_261_202L);

    private SeededInputs() {
    }

    /** {@code tries} values, the i-th drawn from a stream of its own (seed, i), so that one case never shifts another. */
    public static <T> Stream<T> draw(int tries, Function<SplittableRandom, T> generator) {
        return IntStream.range(0, tries).mapToObj(i -> generator.apply(new SplittableRandom(SEED * 31 + i)));
    }

    /** Up to {@code maxLength} bytes, each arbitrary. */
    public static byte[] bytes(SplittableRandom random, int maxLength) {
        byte[] out = new byte[random.nextInt(maxLength + 1)];
        random.nextBytes(out);
        return out;
    }

    public static <T> T oneOf(SplittableRandom random, List<T> values) {
        return values.get(random.nextInt(values.size()));
    }

    /**
     * A string of up to {@code maxLength} characters, mostly from {@code alphabet} and now and then anything:
     * ASCII controls, NUL, separators, dots, non-ASCII letters, surrogates.
     */
    public static String string(SplittableRandom random, String alphabet, int maxLength) {
        int length = random.nextInt(maxLength + 1);
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            int pick = random.nextInt(20);
            if (pick < 16) {
                out.append(alphabet.charAt(random.nextInt(alphabet.length())));
            } else if (pick == 16) {
                out.append("./\\\0 ".charAt(random.nextInt(5)));
            } else if (pick == 17) {
                out.append((char) random.nextInt(0x80));
            } else {
                out.append((char) random.nextInt(0x10000));
            }
        }
        return out.toString();
    }
}
