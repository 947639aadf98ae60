package io.featurerelay.learning.model;

import java.util.Locale;

/**
 * What training one network of a spec at a batch size needs in memory, against what this process may use, so
 * that a spec that cannot fit is refused before a job starts instead of dying of an OutOfMemoryError (or the
 * kernel's OOM kill) in its first batch.
 *
 * <p>The estimate follows what {@link OpsNetwork} allocates, in float32: the flat parameters and their
 * gradients, the optimizer's two state values per parameter (Adam's m and v, Adadelta's two running averages),
 * the layer-API twin that saving a model builds (its parameters, gradients and updater state); per batch, every
 * convolution's output and its gradient, the pooled maps and theirs, the input's gradient, the head's
 * activations, for two training batch sizes (the full one and the last, shorter one: both stay cached) and two
 * inference batch sizes (evaluation and featurizing run 256 images at a time); and the largest workspace of one
 * convolution call: oneDNN's reorders of the output and its gradient on the oneDNN builds, libnd4j's im2col
 * columns of the whole batch on the generic build (several times larger). It leaves out the data set itself (the
 * services' readers bound it separately) and the featurized path's feature store, which grows with the number
 * of training images, not with the spec.
 *
 * @param maxBytes the most the estimate may come to
 * @param oneDnn   whether the convolutions run on a oneDNN build of libnd4j (see {@link NativeBackend})
 */
public record MemoryBudget(long maxBytes, boolean oneDnn) {

    /** The javacpp property that caps ND4J's off-heap memory (javacpp's default: the heap's maximum). */
    public static final String MAX_BYTES_PROPERTY = "org.bytedeco.javacpp.maxbytes";
    /**
     * Share of the off-heap cap a network may plan for: the rest is for the training set's arrays, libnd4j's
     * and oneDNN's own caches and the arrays a service keeps beside the job (a prediction model).
     */
    static final double SHARE_OF_NATIVE_LIMIT = 0.75;
    /**
     * Evaluation and featurizing batch size: oneDNN's convolutions run fastest per image at batches of 128-256 on
     * two cores (the activations stay in cache); 500 was a third slower.
     */
    static final int INFERENCE_BATCH = 256;
    /**
     * At most this many bytes of activation buffers for one inference batch (evaluation, featurizing): the
     * reference network's 256 images take 46 MB; the CIFAR-10 variant's (64 filters on 32x32x3) would take 126 MB
     * per batch, and per featurizing pipeline, which beside its 750 MB of float16 features took transfer-service
     * past its 1.5 GB cap. So that network runs 96 images at a time.
     */
    static final long INFERENCE_BUFFER_BYTES = 48L << 20;

    public MemoryBudget {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("a memory budget must be positive, got " + maxBytes);
        }
    }

    /**
     * Three quarters of ND4J's off-heap cap in this JVM: {@code -Dorg.bytedeco.javacpp.maxbytes}, or, as
     * javacpp does without it, the heap's maximum ({@code -Xmx}); for the libnd4j build this JVM uses.
     */
    public static MemoryBudget fromJvmLimits() {
        long nativeLimit = nativeLimit(System.getProperty(MAX_BYTES_PROPERTY), Runtime.getRuntime().maxMemory());
        return withMaximum(Math.max(1, (long) (nativeLimit * SHARE_OF_NATIVE_LIMIT)));
    }

    /** A configured maximum, for the libnd4j build this JVM uses (choosing it loads nothing). */
    public static MemoryBudget withMaximum(long maxBytes) {
        return new MemoryBudget(maxBytes, NativeBackend.configure().startsWith("-onednn"));
    }

    /** javacpp's reading of its maxbytes property ("900m", "3G", bytes); {@code heapMax} when unset or 0. */
    static long nativeLimit(String property, long heapMax) {
        if (property == null || property.isBlank()) {
            return heapMax;
        }
        String v = property.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        char last = v.charAt(v.length() - 1);
        if ("kmgt".indexOf(last) >= 0) {
            unit = 1L << (10 * ("kmgt".indexOf(last) + 1));
            v = v.substring(0, v.length() - 1);
        }
        try {
            long n = Long.parseLong(v) * unit;
            return n > 0 ? n : heapMax;
        } catch (NumberFormatException e) {
            return heapMax;
        }
    }

    /** Bytes that training one network of this spec needs at this batch size (see the class comment). */
    public long trainingBytes(ModelSpec spec, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        }
        long parameters = parameterCount(spec);
        // parameters, gradients, two optimizer state values each; the layer-API twin of a saved model as much again
        double floats = 2 * 4.0 * parameters;
        floats += 2.0 * activations(spec, batchSize, true) + 2.0 * activations(spec, inferenceBatch(spec), false);
        floats += workspace(spec, Math.max(batchSize, inferenceBatch(spec)), oneDnn);
        // input images and labels of a batch, as the network's float32 copies
        floats += (double) batchSize * (spec.imageShape().size() + spec.numClasses());
        return (long) Math.min(Long.MAX_VALUE, floats * Float.BYTES);
    }

    /** Every weight and bias of the spec. */
    public static long parameterCount(ModelSpec spec) {
        long total = 0;
        for (var layer : spec.parameterShapes().values()) {
            for (var shape : layer.values()) {
                long n = 1;
                for (int d : shape) {
                    n *= d;
                }
                total += n;
            }
        }
        return total;
    }

    /** Floats of the cached activation buffers of one batch size (gradients too when training). */
    private static double activations(ModelSpec spec, int n, boolean training) {
        int copies = training ? 2 : 1;
        double perImage = 0;
        int height = spec.imageShape().height();
        int width = spec.imageShape().width();
        for (int filters : spec.convFilters()) {
            height -= spec.kernel() - 1;
            width -= spec.kernel() - 1;
            perImage += (double) copies * filters * height * width;
        }
        perImage += copies * (double) spec.featureSize();
        if (training) {
            perImage += spec.imageShape().size();
        }
        perImage += copies * (double) (spec.denseUnits() + spec.numClasses());
        return perImage * n;
    }

    /** Floats of the largest scratch buffer one convolution call takes (either libnd4j build). */
    private static double workspace(ModelSpec spec, int n, boolean oneDnn) {
        double largest = 0;
        int channels = spec.imageShape().channels();
        int height = spec.imageShape().height();
        int width = spec.imageShape().width();
        for (int filters : spec.convFilters()) {
            height -= spec.kernel() - 1;
            width -= spec.kernel() - 1;
            largest = Math.max(largest, oneDnn ? 2.0 * filters * height * width
                    : (double) channels * spec.kernel() * spec.kernel() * height * width);
            channels = filters;
        }
        return largest * n;
    }

    /**
     * @throws IllegalArgumentException when the spec at this batch size needs more than the budget, saying how
     *                                  much it needs, how much there is, and what would make it fit
     */
    public void check(ModelSpec spec, int batchSize) {
        long needed = trainingBytes(spec, batchSize);
        if (needed > maxBytes) {
            int fits = largestBatchThatFits(spec, batchSize - 1);
            String hint = fits > 0 ? "; a batch size of at most " + fits + " would fit"
                    : "; not even a batch of 1 fits: fewer filters or dense units, or smaller images";
            throw new IllegalArgumentException("training this network at batch size " + batchSize + " needs about "
                    + mib(needed) + " MiB, more than the " + mib(maxBytes) + " MiB this process may use" + hint);
        }
    }

    /** The largest batch size up to {@code upTo} within the budget, 0 for none (the estimate grows with it). */
    int largestBatchThatFits(ModelSpec spec, int upTo) {
        int low = 0;
        int high = upTo;
        while (low < high) {
            int mid = low + (high - low + 1) / 2;
            if (trainingBytes(spec, mid) <= maxBytes) {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        return low;
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }

    /**
     * Images per inference batch (evaluation, featurizing) for {@code spec}: {@link #INFERENCE_BATCH}, or fewer
     * (a multiple of 32, at least 32) when their activation buffers (the images in NHWC, each convolution's output,
     * the pooled features) would take more than {@link #INFERENCE_BUFFER_BYTES}.
     */
    public static int inferenceBatch(ModelSpec spec) {
        int height = spec.imageShape().height();
        int width = spec.imageShape().width();
        long floats = (long) height * width * spec.imageShape().channels() + spec.featureSize();
        for (int filters : spec.convFilters()) {
            height -= spec.kernel() - 1;
            width -= spec.kernel() - 1;
            floats += (long) height * width * filters;
        }
        long fits = INFERENCE_BUFFER_BYTES / (4 * floats);
        return (int) Math.max(32, Math.min(INFERENCE_BATCH, fits / 32 * 32));
    }
}
