package io.featurerelay.learning.model;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.training.TrainingData;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Times the ops network section by section ({@link LayerProfile}) over a run of batches, for
 * {@code bench/profile.sh}: training steps of the base network, featurizing (the frozen feature layers,
 * forward only, into a float16 store, as model 2 does), and model 2's head trained on that store. Batches are drawn
 * in order, and the first
 * {@code warmup} are not counted (buffers, oneDNN primitives and the JIT are made then).
 */
public final class NetworkProfiler {

    /** What one phase measured: milliseconds per batch, each section's and the whole batch's. */
    public record Result(String phase, int batchSize, int batches, double batchMillis,
            Map<String, Double> sectionMillis) {

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("phase", phase);
            m.put("batchSize", batchSize);
            m.put("batches", batches);
            m.put("batchMillis", batchMillis);
            m.put("sectionMillis", sectionMillis);
            return m;
        }
    }

    private NetworkProfiler() {
    }

    public static Result training(ModelSpec spec, Hyperparameters hp, ImageDataset images, int batchSize,
            int warmup, int batches) {
        OpsNetwork network = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, false);
        return run("training", images, batchSize, warmup, batches, network,
                batch -> network.fitBatch(batch));
    }

    public static Result featurizing(ModelSpec spec, Hyperparameters hp, ImageDataset images, int batchSize,
            int warmup, int batches) {
        OpsNetwork network = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, true);
        INDArray store = Nd4j.create(DataType.HALF, batchSize, spec.featureSize());
        return run("featurizing", images, batchSize, warmup, batches, network,
                batch -> network.featureActivations(batch.getFeatures(), store));
    }

    /**
     * Training steps of model 2's head on pre-computed features, as a featurized transfer runs them: the images'
     * frozen activations (untrained feature layers: the arithmetic is the same) stored as float16 once, then each
     * batch widened from that store ({@link TrainingData#ofFeatures}) and fitted.
     */
    public static Result head(ModelSpec spec, Hyperparameters hp, ImageDataset images, int batchSize, int warmup,
            int batches) {
        OpsNetwork features = new OpsNetwork(spec, hp, OpsNetwork.Kind.FULL, true);
        int count = Math.min(images.size(), batchSize * (warmup + batches));
        INDArray store = Nd4j.create(DataType.HALF, count, spec.featureSize());
        for (int from = 0; from < count; from += batchSize) {
            int[] rows = java.util.stream.IntStream.range(from, Math.min(count, from + batchSize)).toArray();
            DataSet batch = ImageBatches.batch(images, rows);
            features.featureActivations(batch.getFeatures(),
                    store.get(NDArrayIndex.interval(from, from + rows.length), NDArrayIndex.all()));
        }
        int[] labels = java.util.Arrays.copyOf(images.labels(), count);
        TrainingData data = TrainingData.ofFeatures(store, labels, spec.numClasses());
        OpsNetwork network = new OpsNetwork(spec, hp, OpsNetwork.Kind.HEAD_ONLY, false);
        LayerProfile profile = LayerProfile.recording();
        network.profile(profile);
        long start = 0;
        for (int b = 0; b < warmup + batches; b++) {
            if (b == warmup) {
                profile.clear();
                start = System.nanoTime();
            }
            long t = profile.start();
            DataSet batch = data.batch(indices(b, batchSize, count));
            profile.end("batch: float16 rows widened", t);
            network.fitBatch(batch);
        }
        double wall = (System.nanoTime() - start) / 1e6 / batches;
        network.profile(LayerProfile.OFF);
        data.release();
        Map<String, Double> perBatch = new LinkedHashMap<>();
        profile.totalMillis().forEach((section, millis) -> perBatch.put(section, millis / batches));
        return new Result("head", batchSize, batches, wall, perBatch);
    }

    private static Result run(String phase, ImageDataset images, int batchSize, int warmup, int batches,
            OpsNetwork network, java.util.function.Consumer<DataSet> step) {
        if (images.size() < batchSize) {
            throw new IllegalArgumentException("a profile needs at least one whole batch of " + batchSize
                    + " images; the data has " + images.size());
        }
        LayerProfile profile = LayerProfile.recording();
        network.profile(profile);
        long start = 0;
        for (int b = 0; b < warmup + batches; b++) {
            if (b == warmup) {
                profile.clear();
                start = System.nanoTime();
            }
            long t = profile.start();
            DataSet batch = ImageBatches.batch(images, indices(b, batchSize, images.size()));
            profile.end("batch assembly (uint8 -> float32)", t);
            step.accept(batch);
            close(batch.getFeatures());
            close(batch.getLabels());
        }
        double wall = (System.nanoTime() - start) / 1e6 / batches;
        network.profile(LayerProfile.OFF);
        Map<String, Double> perBatch = new LinkedHashMap<>();
        profile.totalMillis().forEach((section, millis) -> perBatch.put(section, millis / batches));
        return new Result(phase, batchSize, batches, wall, perBatch);
    }

    private static void close(INDArray array) {
        if (array != null && array.closeable()) {
            array.close();
        }
    }

    private static int[] indices(int batch, int batchSize, int size) {
        int[] indices = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            indices[i] = (int) (((long) batch * batchSize + i) % size);
        }
        return indices;
    }
}
