package io.featurerelay.learning.training;

import io.featurerelay.learning.model.MemoryBudget;
import io.featurerelay.learning.model.Network;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop shared by the base model, the transferred model and the baseline: seeded shuffling
 * (the same order for every network given the same seed), per-batch progress, per-epoch validation and
 * checkpoints, resuming from a checkpoint, cancellation between batches.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private Trainer() {
    }

    /**
     * Trains {@code network} on {@code train} and evaluates it on {@code validation} after every epoch: as
     * {@link #train(Network, TrainingData, TrainingData, TrainingConfig, TrainingListener, BooleanSupplier,
     * Checkpoint)} from the start.
     */
    public static TrainingHistory train(Network network, TrainingData train, TrainingData validation,
            TrainingConfig config, TrainingListener listener, BooleanSupplier cancelled) {
        return train(network, train, validation, config, listener, cancelled, null);
    }

    /**
     * Trains {@code network} on {@code train} and evaluates it on {@code validation} after every epoch, reporting
     * a {@link Checkpoint} after each; with {@code resumeFrom}, first puts the network back into the checkpoint's
     * state and continues with the epoch after it, as the run that wrote it would have: the same seed gives the
     * same shuffles and dropout masks, since each epoch's are drawn from streams seeded by
     * {@link #shuffleSeed} and {@link #dropoutSeed} (the run's seed and the epoch number) alone.
     *
     * @param cancelled  polled before each batch; when true the run stops with {@link TrainingCancelledException}
     * @param resumeFrom a checkpoint of this run (same network spec, structure and hyperparameters, batch size and
     *                   training set size, at most {@code config.epochs()} epochs done), or null to start afresh
     * @return every epoch's result, the checkpoint's first; the training seconds are summed over all of them
     * @throws IncompatibleCheckpointException when {@code resumeFrom} does not fit this run; nothing is changed then
     */
    public static TrainingHistory train(Network network, TrainingData train, TrainingData validation,
            TrainingConfig config, TrainingListener listener, BooleanSupplier cancelled, Checkpoint resumeFrom) {
        if (train.size() == 0) {
            throw new IllegalArgumentException("no training examples");
        }
        long seed = config.hyperparameters().seed();
        List<EpochResult> results = new ArrayList<>();
        int firstEpoch = 1;
        if (resumeFrom != null) {
            requireFits(resumeFrom, network, train, config);
            results.addAll(resumeFrom.history());
            firstEpoch = resumeFrom.epochsDone() + 1;
            LOG.info("resuming at epoch {}/{} from a checkpoint", firstEpoch, config.epochs());
        }
        int batches = (train.size() + config.batchSize() - 1) / config.batchSize();
        double trainingSeconds = results.stream().mapToDouble(EpochResult::seconds).sum();
        long imagesSeen = (long) train.size() * results.size();
        for (int epoch = firstEpoch; epoch <= config.epochs(); epoch++) {
            int[] order = epochOrder(train.size(), seed, epoch);
            network.reseed(dropoutSeed(seed, epoch));
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
            listener.onCheckpoint(new Checkpoint(results, config.batchSize(), train.size(), network.state()));
        }
        return new TrainingHistory(results, trainingSeconds);
    }

    private static void requireFits(Checkpoint checkpoint, Network network, TrainingData train,
            TrainingConfig config) {
        if (checkpoint.seed() != config.hyperparameters().seed()) {
            throw new IncompatibleCheckpointException("the checkpoint was written by a run with seed "
                    + checkpoint.seed() + ", this run's seed is " + config.hyperparameters().seed());
        }
        if (checkpoint.epochsDone() > config.epochs()) {
            throw new IncompatibleCheckpointException("the checkpoint has " + checkpoint.epochsDone()
                    + " epochs done, this run has only " + config.epochs());
        }
        if (checkpoint.batchSize() != config.batchSize()) {
            throw new IncompatibleCheckpointException("the checkpoint was written by a run with batch size "
                    + checkpoint.batchSize() + ", this run's is " + config.batchSize());
        }
        if (checkpoint.trainingExamples() != train.size()) {
            throw new IncompatibleCheckpointException("the checkpoint was written by a run on "
                    + checkpoint.trainingExamples() + " training examples, this run has " + train.size());
        }
        try {
            network.restoreState(checkpoint.state());
        } catch (IllegalArgumentException e) {
            throw new IncompatibleCheckpointException("the checkpoint does not fit this network: " + e.getMessage(), e);
        }
    }

    private static final long SHUFFLE_STREAM = 0x5348_5546_464c_4531L;
    private static final long DROPOUT_STREAM = 0x4452_4f50_4f55_5431L;

    /**
     * Seed of epoch {@code epoch}'s shuffle (a Fisher-Yates pass over the identity order, drawing
     * {@code new SplittableRandom(seed).nextInt(i + 1)} for i from n-1 down to 1).
     */
    public static long shuffleSeed(long seed, int epoch) {
        return epochSeed(seed, epoch, SHUFFLE_STREAM);
    }

    /**
     * The order in which epoch {@code epoch} of a run with this seed visits {@code size} training examples (batches
     * are consecutive slices of it): what another framework needs to replay the same run (bench/same_start.py).
     */
    public static int[] epochOrder(int size, long seed, int epoch) {
        int[] order = new int[size];
        Arrays.setAll(order, i -> i);
        shuffle(order, new SplittableRandom(shuffleSeed(seed, epoch)));
        return order;
    }

    /** Seed of epoch {@code epoch}'s dropout masks ({@link Network#reseed(long)}). */
    public static long dropoutSeed(long seed, int epoch) {
        return epochSeed(seed, epoch, DROPOUT_STREAM);
    }

    /** SplitMix64's finaliser over the seed and a per-stream, per-epoch constant: independent streams. */
    private static long epochSeed(long seed, int epoch, long stream) {
        return mix64(seed ^ mix64(stream + epoch * 0x9E37_79B9_7F4A_7C15L));
    }

    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /** Fraction of {@code data} whose most probable class is its label. */
    public static double accuracy(Network network, TrainingData data) {
        if (data.size() == 0) {
            return 0;
        }
        int correct = 0;
        int batchSize = MemoryBudget.inferenceBatch(network.spec());
        for (int from = 0; from < data.size(); from += batchSize) {
            int[] indices = new int[Math.min(batchSize, data.size() - from)];
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

    private static void shuffle(int[] order, SplittableRandom random) {
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    }
}
