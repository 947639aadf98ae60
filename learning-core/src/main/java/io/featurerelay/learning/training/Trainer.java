package io.featurerelay.learning.training;

import io.featurerelay.learning.model.Network;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop shared by the base model, the transferred model and the baseline: seeded shuffling
 * (the same order for every network given the same seed), per-batch progress, per-epoch validation,
 * cancellation between batches.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    /**
     * Evaluation batch size: oneDNN's convolutions run fastest per image at batches of 128-256 on two cores
     * (the activations stay in cache); 500 was a third slower.
     */
    static final int EVALUATION_BATCH = 256;

    private Trainer() {
    }

    /**
     * Trains {@code network} on {@code train} and evaluates it on {@code validation} after every epoch.
     *
     * @param cancelled polled before each batch; when true the run stops with {@link TrainingCancelledException}
     */
    public static TrainingHistory train(Network network, TrainingData train, TrainingData validation,
            TrainingConfig config, TrainingListener listener, BooleanSupplier cancelled) {
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training examples");
        }
        network.reseed();
        Random shuffle = new Random(config.hyperparameters().seed());
        int[] order = new int[train.size()];
        Arrays.setAll(order, i -> i);
        int batches = (train.size() + config.batchSize() - 1) / config.batchSize();
        List<EpochResult> results = new ArrayList<>();
        double trainingSeconds = 0;
        long imagesSeen = 0;
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
            shuffle(order, shuffle);
            double lossSum = 0;
            long epochStart = System.nanoTime();
            for (int b = 0; b < batches; b++) {
                if (cancelled.getAsBoolean()) {
                    throw new TrainingCancelledException(epoch, b + 1);
                }
                int from = b * config.batchSize();
                int[] indices = Arrays.copyOfRange(order, from, Math.min(from + config.batchSize(), order.length));
                DataSet batch = train.batch(indices);
                lossSum += network.fitBatch(batch);
                close(batch);
                imagesSeen += indices.length;
                double elapsed = trainingSeconds + (System.nanoTime() - epochStart) / 1e9;
                double rate = imagesSeen / Math.max(elapsed, 1e-9);
                long remaining = (long) train.size() * config.epochs() - imagesSeen;
                listener.onBatch(new BatchProgress(epoch, config.epochs(), b + 1, batches, rate, remaining / rate));
            }
            double seconds = (System.nanoTime() - epochStart) / 1e9;
            trainingSeconds += seconds;
            double accuracy = accuracy(network, validation);
            EpochResult result = new EpochResult(epoch, lossSum / batches, accuracy, seconds, train.size() / seconds);
            LOG.info("epoch {}/{}: loss {}, validation accuracy {}, {} s, {} images/s", epoch, config.epochs(),
                    String.format("%.4f", result.loss()), String.format("%.4f", accuracy),
                    String.format("%.1f", seconds), String.format("%.0f", result.imagesPerSecond()));
            results.add(result);
            listener.onEpoch(result);
        }
        return new TrainingHistory(results, trainingSeconds);
    }

    /** Fraction of {@code data} whose most probable class is its label. */
    public static double accuracy(Network network, TrainingData data) {
        if (data.size() == 0) {
            return 0;
        }
        int correct = 0;
        for (int from = 0; from < data.size(); from += EVALUATION_BATCH) {
            int[] indices = new int[Math.min(EVALUATION_BATCH, data.size() - from)];
            for (int i = 0; i < indices.length; i++) {
                indices[i] = from + i;
            }
            DataSet batch = data.batch(indices);
            INDArray probabilities = network.output(batch.getFeatures());
            INDArray predicted = probabilities.argMax(1);
            close(batch);
            close(probabilities);
            for (int i = 0; i < indices.length; i++) {
                if (predicted.getInt(i) == data.label(indices[i])) {
                    correct++;
                }
            }
        }
        return correct / (double) data.size();
    }

    /** Frees a batch's off-heap memory now: a few MB per step would otherwise wait for the garbage collector. */
    private static void close(DataSet batch) {
        close(batch.getFeatures());
        close(batch.getLabels());
    }

    /** Frees an array's off-heap memory now, unless it is a view or belongs to a workspace. */
    public static void close(INDArray array) {
        if (array != null && array.closeable()) {
            array.close();
        }
    }

    private static void shuffle(int[] order, Random random) {
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}
