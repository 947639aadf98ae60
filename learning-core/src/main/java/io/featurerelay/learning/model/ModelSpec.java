package io.featurerelay.learning.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.dataset.ImageShape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference "transfer CNN" as data. Feature layers: for each entry of {@code convFilters} a
 * {@code kernel x kernel} valid convolution with ReLU, then max pooling, dropout and flatten. Height and width
 * are independent throughout (an image folder's images need not be square); a window that does not fit at the
 * bottom or right edge is dropped, as DL4J's "truncate" mode does.
 * Head: dense with ReLU, dropout, dense softmax over {@code numClasses}.
 *
 * @param inputShape   [channels, height, width]
 * @param convFilters  filters of each convolution, e.g. [32, 32]
 * @param kernel       convolution kernel side
 * @param pool         max-pooling side (and stride)
 * @param convDropout  fraction of activations dropped after pooling (0.25)
 * @param denseUnits   units of the hidden dense layer (128)
 * @param denseDropout fraction dropped after the dense layer (0.5)
 * @param numClasses   classes of the output layer
 */
public record ModelSpec(List<Integer> inputShape, List<Integer> convFilters, int kernel, int pool, double convDropout,
        int denseUnits, double denseDropout, int numClasses) {

    /** Names of the layers that carry parameters, features first. */
    public static final String DENSE = "dense";
    public static final String OUTPUT = "output";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public ModelSpec {
        ImageShape.of(inputShape);
        inputShape = List.copyOf(inputShape);
        if (convFilters == null || convFilters.isEmpty() || convFilters.size() > 8) {
            throw new IllegalArgumentException("convFilters must list 1..8 convolutions");
        }
        for (Integer f : convFilters) {
            if (f == null || f <= 0 || f > 1024) {
                throw new IllegalArgumentException("convFilters entries must be in 1..1024, got " + f);
            }
        }
        convFilters = List.copyOf(convFilters);
        require(kernel >= 1 && kernel <= 11, "kernel must be in 1..11");
        require(pool >= 1 && pool <= 8, "pool must be in 1..8");
        require(convDropout >= 0 && convDropout < 1, "convDropout must be in [0,1)");
        require(denseDropout >= 0 && denseDropout < 1, "denseDropout must be in [0,1)");
        require(denseUnits >= 1 && denseUnits <= 65536, "denseUnits must be in 1..65536");
        require(numClasses >= 2 && numClasses <= 1000, "numClasses must be in 2..1000");
        ImageShape s = ImageShape.of(inputShape);
        int side = Math.min(s.height(), s.width()) - convFilters.size() * (kernel - 1);
        require(side >= pool, "input " + s + " is too small for " + convFilters.size() + " convolutions of "
                + kernel + "x" + kernel + " and pooling " + pool);
        // every array is indexed by int (ND4J views, the envelope's element counts): refuse sizes beyond that
        // here, where the spec is read, rather than overflowing in featureSize() or the first allocation
        long convolved = convFilters.size() * (long) (kernel - 1);
        long features = (long) convFilters.get(convFilters.size() - 1) * ((s.height() - convolved) / pool)
                * ((s.width() - convolved) / pool);
        require(features * denseUnits <= Integer.MAX_VALUE, "the dense layer would have " + features + " x "
                + denseUnits + " weights, more than one array holds (" + Integer.MAX_VALUE + ")");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** The reference network of DESIGN.md for 28x28 gray images (MNIST, Fashion-MNIST). */
    public static ModelSpec reference(int numClasses) {
        return new ModelSpec(List.of(1, 28, 28), List.of(32, 32), 3, 2, 0.25, 128, 0.5, numClasses);
    }

    /** The CIFAR-10 variant: 64 filters on 32x32 colour images. */
    public static ModelSpec cifar10(int numClasses) {
        return new ModelSpec(List.of(3, 32, 32), List.of(64, 64), 3, 2, 0.25, 128, 0.5, numClasses);
    }

    /** The reference network with this input shape (64 filters for colour images, as the CIFAR-10 variant). */
    public static ModelSpec forInput(ImageShape shape, int numClasses) {
        int filters = shape.channels() == 3 ? 64 : 32;
        return new ModelSpec(shape.asList(), List.of(filters, filters), 3, 2, 0.25, 128, 0.5, numClasses);
    }

    public ModelSpec withNumClasses(int classes) {
        return new ModelSpec(inputShape, convFilters, kernel, pool, convDropout, denseUnits, denseDropout, classes);
    }

    @JsonIgnore
    public ImageShape imageShape() {
        return ImageShape.of(inputShape);
    }

    /** Name of the i-th convolution (0-based): conv1, conv2, ... */
    public static String convName(int i) {
        return "conv" + (i + 1);
    }

    /** Layers with parameters that form the transferable features, in order. */
    @JsonIgnore
    public List<String> featureLayers() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < convFilters.size(); i++) {
            names.add(convName(i));
        }
        return names;
    }

    /** Layers with parameters that form the classification head, in order. */
    @JsonIgnore
    public List<String> headLayers() {
        return List.of(DENSE, OUTPUT);
    }

    /** Height and width after the convolutions and pooling. */
    @JsonIgnore
    public int[] pooledSize() {
        ImageShape s = imageShape();
        int h = s.height() - convFilters.size() * (kernel - 1);
        int w = s.width() - convFilters.size() * (kernel - 1);
        return new int[] {h / pool, w / pool};
    }

    /** Length of the flattened feature vector that the head receives. */
    @JsonIgnore
    public int featureSize() {
        int[] hw = pooledSize();
        return convFilters.get(convFilters.size() - 1) * hw[0] * hw[1];
    }

    /**
     * Expected shape of every parameter array, by layer then key, in the order the wire format carries them.
     * Convolution weights are [out, in, kh, kw] (OIHW), dense weights [in, out]; biases [out].
     */
    @JsonIgnore
    public Map<String, Map<String, List<Integer>>> parameterShapes() {
        Map<String, Map<String, List<Integer>>> shapes = new LinkedHashMap<>();
        int in = imageShape().channels();
        for (int i = 0; i < convFilters.size(); i++) {
            int out = convFilters.get(i);
            shapes.put(convName(i), orderedMap("W", List.of(out, in, kernel, kernel), "b", List.of(out)));
            in = out;
        }
        shapes.put(DENSE, orderedMap("W", List.of(featureSize(), denseUnits), "b", List.of(denseUnits)));
        shapes.put(OUTPUT, orderedMap("W", List.of(denseUnits, numClasses), "b", List.of(numClasses)));
        return shapes;
    }

    private static Map<String, List<Integer>> orderedMap(String k1, List<Integer> v1, String k2, List<Integer> v2) {
        Map<String, List<Integer>> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a ModelSpec always serialises", e);
        }
    }

    /** @throws IllegalArgumentException when the JSON is no valid spec, naming the problem */
    public static ModelSpec fromJson(String json) {
        try {
            return JSON.readValue(json, ModelSpec.class);
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException("invalid model spec: " + cause.getMessage(), e);
        }
    }
}
