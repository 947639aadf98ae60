package io.featurerelay.learning.model;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Everything a network's next training step reads besides the batch and the dropout stream (which the training
 * loop reseeds at every epoch): its parameters, its optimizer's state and the optimizer's step count. An
 * immutable value; {@link Network#state()} takes one, {@link Network#restoreState} puts it back.
 *
 * <p>Array names: {@code param/<layer>/<key>} for parameters (in the layouts of
 * {@link ModelSpec#parameterShapes()}), {@code updater/<name>} for the optimizer's state (its layout is the
 * implementation's, see {@link #implementation}).
 *
 * @param implementation which network wrote it ({@code ops}: {@link NetworkFactory#standard()}, {@code layer-api}:
 *                       {@link NetworkFactory#layerApi()}); the updater arrays are laid out as that one keeps them
 * @param structure      {@code full}, {@code full-frozen-features} or {@code head-only}
 * @param spec           the spec the network was built from
 * @param hyperparameters optimizer, learning rate and seed it trains with
 * @param iterations     optimisation steps taken so far (Adam's bias correction counts them)
 * @param arrays         parameter arrays first, then the updater's
 */
public record NetworkState(String implementation, String structure, ModelSpec spec, Hyperparameters hyperparameters,
        long iterations, List<Array> arrays) {

    public static final String FULL = "full";
    public static final String FULL_FROZEN_FEATURES = "full-frozen-features";
    public static final String HEAD_ONLY = "head-only";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._/-]{1,200}");

    public NetworkState {
        Objects.requireNonNull(implementation, "implementation");
        Objects.requireNonNull(structure, "structure");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(hyperparameters, "hyperparameters");
        if (iterations < 0) {
            throw new IllegalArgumentException("iterations must not be negative, got " + iterations);
        }
        arrays = List.copyOf(arrays);
        Set<String> names = new HashSet<>();
        for (Array a : arrays) {
            if (!names.add(a.name())) {
                throw new IllegalArgumentException("array " + a.name() + " appears twice");
            }
        }
    }

    /** The array named {@code name}, or null. */
    public Array array(String name) {
        for (Array a : arrays) {
            if (a.name().equals(name)) {
                return a;
            }
        }
        return null;
    }

    /** Values of all arrays together. */
    public long elements() {
        long n = 0;
        for (Array a : arrays) {
            n += a.elements();
        }
        return n;
    }

    /** Name of a parameter array: {@code param/conv1/W}. */
    public static String parameterName(String layer, String key) {
        return "param/" + layer + "/" + key;
    }

    /**
     * Throws {@link IllegalArgumentException} naming the first difference unless {@code this} can be restored into
     * a network whose own state is {@code target}: same implementation, structure, spec, hyperparameters, array
     * names and shapes.
     */
    public void requireCompatibleWith(NetworkState target) {
        require(implementation.equals(target.implementation), "was written by the " + implementation
                + " network implementation, this network is " + target.implementation);
        require(structure.equals(target.structure), "holds a " + structure + " network, this network is "
                + target.structure);
        require(spec.equals(target.spec), "holds a network of spec " + spec + ", this network's is " + target.spec);
        require(hyperparameters.equals(target.hyperparameters), "was trained with " + hyperparameters
                + ", this network trains with " + target.hyperparameters);
        List<String> mine = new ArrayList<>();
        List<String> theirs = new ArrayList<>();
        arrays.forEach(a -> mine.add(a.name() + Arrays.toString(a.shape())));
        target.arrays.forEach(a -> theirs.add(a.name() + Arrays.toString(a.shape())));
        require(mine.equals(theirs), "holds arrays " + mine + ", this network has " + theirs);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("the state " + message);
        }
    }

    /** One named float32 array in C order; immutable (its values are copied in and read through a read-only view). */
    public static final class Array {

        private final String name;
        private final long[] shape;
        private final float[] values;

        /** Takes {@code values} as they are (no copy): the caller hands them over and must not change them. */
        private Array(String name, long[] shape, float[] values) {
            if (!NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("array name must match " + NAME + ", got " + name);
            }
            long n = 1;
            for (long s : shape) {
                if (s <= 0) {
                    throw new IllegalArgumentException("array " + name + " has shape " + Arrays.toString(shape));
                }
                n = Math.multiplyExact(n, s);
            }
            if (n != values.length) {
                throw new IllegalArgumentException("array " + name + " of shape " + Arrays.toString(shape) + " needs "
                        + n + " values, got " + values.length);
            }
            this.name = name;
            this.shape = shape.clone();
            this.values = values;
        }

        /** A copy of {@code values}. */
        public static Array of(String name, long[] shape, float[] values) {
            return new Array(name, shape, values.clone());
        }

        /** {@code values} without a copy: for arrays just created that nothing else references. */
        static Array wrap(String name, long[] shape, float[] values) {
            return new Array(name, shape, values);
        }

        public String name() {
            return name;
        }

        public long[] shape() {
            return shape.clone();
        }

        public int elements() {
            return values.length;
        }

        /** The values, read-only. */
        public FloatBuffer values() {
            return FloatBuffer.wrap(values).asReadOnlyBuffer();
        }

        /** A copy of the values. */
        public float[] toFloatArray() {
            return values.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Array a && name.equals(a.name) && Arrays.equals(shape, a.shape)
                    && Arrays.equals(values, a.values);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, Arrays.hashCode(shape), Arrays.hashCode(values));
        }

        @Override
        public String toString() {
            return name + Arrays.toString(shape);
        }
    }
}
