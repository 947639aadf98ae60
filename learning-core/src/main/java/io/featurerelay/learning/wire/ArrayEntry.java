package io.featurerelay.learning.wire;

import java.util.List;

/**
 * Where one parameter array lies in the payload.
 *
 * @param layer  layer name, e.g. {@code conv1}
 * @param key    {@code W} or {@code b}
 * @param shape  dimensions; convolution weights OIHW, dense weights [in, out]
 * @param dtype  always {@code float32} (little-endian) in v1
 * @param offset byte offset in the payload
 */
public record ArrayEntry(String layer, String key, List<Integer> shape, String dtype, long offset) {

    public static final String FLOAT32 = "float32";

    /** Elements in the array; -1 when a dimension is not positive or the product overflows an int. */
    public long elements() {
        long n = 1;
        for (Integer d : shape) {
            if (d == null || d <= 0) {
                return -1;
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                return -1;
            }
        }
        return n;
    }
}
