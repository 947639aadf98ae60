package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The hand-written ops network against DL4J's layer-API network over the shapes ModelSpec accepts: the same
 * starting parameters and batches give the same loss at every step, the same parameters after the last one
 * and the same outputs on a batch neither trained on.
 *
 * <p>The grid is a covering design, not the cartesian product (3 x 3 x 3 x 2 x 3 x 3 x 2 cases would take far
 * too long on two cores): the first nine cases are an L9 orthogonal array over the number of convolutions
 * (1, 2, 3), the kernel (1, 3, 5), the pool (1, 2, 3) and the training mode (full, frozen features, head only),
 * so every pair of levels of those four factors occurs once; channels (1, 3), optimizer (Adam, Adadelta), the
 * sides (even, odd, non-square) and the batch sizes (the same at every step, or changing between steps, which
 * makes the ops network switch between its cached buffers) are spread over them so that every level occurs
 * at least three times. The last three cases train with dropout after the pooling: both networks draw that mask
 * from ND4J's random stream with the same op ({@code DropOutInverted}) over the same NCHW layout, so reseeding
 * the stream before each step gives both the same mask. The dense layer's dropout draws from a stream of our
 * own and cannot share masks with DL4J: DirectLoopsTest checks its keep rate, scale and gradient instead.
 *
 * <p>Tolerances, and why: the two compute in float32 in different orders (oneDNN's or im2col+sgemm's
 * convolutions against DL4J's im2col+gemm, sums split differently across threads), so single results differ in
 * the last bits (relative 1e-6..1e-7) and differences grow through the steps. Loss: within 1e-4 (absolute,
 * on losses around 1). Parameters: for each array, the Euclidean norm of the difference is within 1% of the norm
 * of how far the array moved (plus 1e-6 for arrays that barely move): a mistake in a gradient (a wrong index,
 * a missing term, a transposed weight) moves parameters the wrong way by about as much as they move, so it
 * fails by two orders of magnitude, while rounding stays far below. Not an element-wise bound because Adam
 * takes steps of about the learning rate whatever the gradient's size, so an element whose gradient is rounding
 * noise around zero may step either way in either network. Outputs (probabilities): within 1e-5.
 */
class OpsNetworkEquivalenceTest {

    enum Mode { FULL, FROZEN, HEAD_ONLY }

    static Stream<Arguments> grid() {
        return Stream.of(
                // convs, kernel, pool, channels, height, width, batches, mode, optimizer, conv dropout
                Arguments.of(1, 1, 1, 1, 8, 8, new int[] {4, 4, 4}, Mode.FULL, Optimizer.ADAM, 0.0),
                Arguments.of(1, 3, 2, 3, 9, 12, new int[] {5, 3, 5}, Mode.HEAD_ONLY, Optimizer.ADADELTA, 0.0),
                Arguments.of(1, 5, 3, 1, 13, 10, new int[] {6, 2, 6}, Mode.FROZEN, Optimizer.ADAM, 0.0),
                Arguments.of(2, 1, 2, 3, 7, 7, new int[] {3, 6, 3}, Mode.FROZEN, Optimizer.ADADELTA, 0.0),
                Arguments.of(2, 3, 3, 1, 12, 15, new int[] {4, 4, 4}, Mode.FULL, Optimizer.ADADELTA, 0.0),
                Arguments.of(2, 5, 1, 3, 11, 11, new int[] {2, 5, 2}, Mode.HEAD_ONLY, Optimizer.ADAM, 0.0),
                Arguments.of(3, 1, 3, 1, 9, 6, new int[] {5, 3, 5}, Mode.HEAD_ONLY, Optimizer.ADAM, 0.0),
                Arguments.of(3, 3, 1, 3, 10, 10, new int[] {4, 4, 4}, Mode.FROZEN, Optimizer.ADAM, 0.0),
                Arguments.of(3, 5, 2, 1, 16, 14, new int[] {6, 2, 6}, Mode.FULL, Optimizer.ADADELTA, 0.0),
                // dropout after the pooling, masks shared through the seeded stream
                Arguments.of(2, 3, 2, 1, 28, 28, new int[] {6, 6, 6}, Mode.FULL, Optimizer.ADAM, 0.25),
                Arguments.of(1, 3, 2, 3, 10, 9, new int[] {5, 3, 5}, Mode.FULL, Optimizer.ADADELTA, 0.5),
                Arguments.of(3, 3, 3, 1, 15, 12, new int[] {4, 4, 4}, Mode.FULL, Optimizer.ADAM, 0.25));
    }

    @ParameterizedTest(name = "{0} conv, kernel {1}, pool {2}, {3}x{4}x{5}, batches {6}, {7}, {8}, dropout {9}")
    @MethodSource("grid")
    void theOpsNetworkTrainsAsTheLayerApiNetworkDoes(int convs, int kernel, int pool, int channels, int height,
            int width, int[] batches, Mode mode, Optimizer optimizer, double convDropout) {
        List<Integer> filters = new ArrayList<>();
        for (int i = 0; i < convs; i++) {
            filters.add(4 + i);
        }
        ModelSpec spec = new ModelSpec(List.of(channels, height, width), filters, kernel, pool, convDropout, 8, 0,
                3);
        trainsAlike(spec, batches, mode, optimizer);
    }

    /**
     * The same with the second convolution by Winograd's minimal filtering, whichever way this CPU's build would
     * choose: 64 channels in and out (forward, input and weight gradients that way; its 10x10 output in partial
     * tiles), and 32 (the weight gradient alone).
     */
    @ParameterizedTest(name = "{0}, {1} filters")
    @org.junit.jupiter.params.provider.CsvSource({"FULL,64", "FROZEN,64", "FULL,32"})
    void winogradPassesTrainAsTheLayerApiNetworkDoes(Mode mode, int filters) {
        ModelSpec spec = new ModelSpec(List.of(1, 14, 14), List.of(filters, filters), 3, 2, 0.0, 8, 0, 3);
        String before = System.setProperty("featurerelay.winograd", "true");
        try {
            trainsAlike(spec, new int[] {5, 3, 5}, mode, Optimizer.ADAM);
        } finally {
            if (before == null) {
                System.clearProperty("featurerelay.winograd");
            } else {
                System.setProperty("featurerelay.winograd", before);
            }
        }
    }

    private static void trainsAlike(ModelSpec spec, int[] batches, Mode mode, Optimizer optimizer) {
        Hyperparameters hp = new Hyperparameters(optimizer, 1e-2, 11);
        Network layers;
        Network ops;
        List<String> all = List.copyOf(spec.parameterShapes().keySet());
        List<String> trained;
        switch (mode) {
            case FULL -> {
                layers = NetworkFactory.layerApi().create(spec, hp);
                ops = NetworkFactory.standard().create(spec, hp);
                trained = all;
            }
            case FROZEN -> {
                Map<String, Map<String, float[]>> base = NetworkFactory.layerApi().create(spec, hp).parameters(all);
                layers = NetworkFactory.layerApi().withFrozenFeatures(spec, hp, base);
                ops = NetworkFactory.standard().withFrozenFeatures(spec, hp, base);
                trained = spec.headLayers();
            }
            default -> {
                layers = NetworkFactory.layerApi().headOnly(spec, hp);
                ops = NetworkFactory.standard().headOnly(spec, hp);
                all = spec.headLayers();
                trained = all;
            }
        }
        ops.setParameters(layers.parameters(all));
        Map<String, Map<String, float[]>> before = ops.parameters(all);

        for (int step = 0; step < batches.length; step++) {
            DataSet data = batch(spec, mode, batches[step], 100 + step);
            Nd4j.getRandom().setSeed(500 + step);
            double expectedLoss = layers.fitBatch(data);
            Nd4j.getRandom().setSeed(500 + step);
            double loss = ops.fitBatch(data);
            assertThat(loss).as("loss at step %d", step).isCloseTo(expectedLoss,
                    org.assertj.core.api.Assertions.within(1e-4));
        }

        Map<String, Map<String, float[]>> expected = layers.parameters(all);
        Map<String, Map<String, float[]>> actual = ops.parameters(all);
        for (String layer : all) {
            for (String key : List.of("W", "b")) {
                float[] e = expected.get(layer).get(key);
                float[] a = actual.get(layer).get(key);
                float[] b = before.get(layer).get(key);
                double moved = distance(e, b);
                double differs = distance(e, a);
                if (trained.contains(layer)) {
                    assertThat(moved).as("%s.%s moved", layer, key).isGreaterThan(0);
                } else {
                    assertThat(a).as("frozen %s.%s", layer, key).containsExactly(b);
                    assertThat(e).as("frozen %s.%s in DL4J", layer, key).containsExactly(b);
                }
                assertThat(differs).as("%s.%s: |dl4j - ops| against |dl4j - start| = %s", layer, key, moved)
                        .isLessThanOrEqualTo(0.01 * moved + 1e-6);
            }
        }
        INDArray unseen = batch(spec, mode, 7, 999).getFeatures();
        float[] expectedOutput = Nd4j.toFlattened('c', layers.output(unseen)).toFloatVector();
        assertThat(Nd4j.toFlattened('c', ops.output(unseen)).toFloatVector()).containsExactly(expectedOutput,
                org.assertj.core.api.Assertions.within(1e-5f));
    }

    /** Random images in [0, 1) (or, head only, non-negative features as a ReLU + pooling gives), cycling labels. */
    private static DataSet batch(ModelSpec spec, Mode mode, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = mode == Mode.HEAD_ONLY ? Nd4j.rand(DataType.FLOAT, n, spec.featureSize())
                : Nd4j.rand(DataType.FLOAT, n, spec.imageShape().channels(), spec.imageShape().height(),
                        spec.imageShape().width());
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, spec.numClasses());
        for (int i = 0; i < n; i++) {
            y.putScalar(i, (int) ((i * 7 + seed) % spec.numClasses()), 1f);
        }
        return new DataSet(x, y);
    }

    private static double distance(float[] x, float[] y) {
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            double d = (double) x[i] - y[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }
}
