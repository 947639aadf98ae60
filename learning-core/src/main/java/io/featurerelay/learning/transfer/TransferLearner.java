package io.featurerelay.learning.transfer;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.dataset.ImageShape;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.MemoryBudget;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.NetworkState;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.HalfStore;
import io.featurerelay.learning.training.IncompatibleCheckpointException;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingCancelledException;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds and trains model 2 from a base network's parameters, and the from-scratch baseline beside it. */
public final class TransferLearner {

    private static final Logger LOG = LoggerFactory.getLogger(TransferLearner.class);
    /**
     * Featurizing threads: one per core, up to four (each holds a replica of the feature layers with its
     * activation buffers, about 45 MB at batch 256); on more cores each runs its ops on several.
     */
    static final int FEATURIZE_WORKERS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    /** {@link #warmUpFeaturizing}: enough calls per pipeline for C2 to compile the transforms (20-50 measured). */
    private static final int WARM_UP_BATCHES = 25;
    private static final int WARM_UP_BATCH = 32;

    /** Feature stores (float16, training and validation images) above this start with {@link #returnFreeHeap}. */
    static final long RETURN_HEAP_ABOVE_BYTES = 512L << 20;

    private final NetworkFactory factory;

    public TransferLearner(NetworkFactory factory) {
        this.factory = factory;
    }

    /**
     * Model 2: the base's feature layers, frozen, and a head that is fresh or the base's own.
     *
     * @param baseSpec   the base network's spec
     * @param baseParams the base network's parameters (at least its feature layers; its head too for REUSE)
     * @param numClasses classes of the target task
     */
    public Network model2(ModelSpec baseSpec, Map<String, Map<String, float[]>> baseParams, int numClasses,
            HeadMode head, Hyperparameters hp) {
        ModelSpec spec = baseSpec.withNumClasses(numClasses);
        Map<String, Map<String, float[]>> start = new LinkedHashMap<>();
        for (String layer : spec.featureLayers()) {
            start.put(layer, require(baseParams, layer));
        }
        if (head == HeadMode.REUSE) {
            if (baseSpec.numClasses() != numClasses) {
                throw new IllegalArgumentException("head mode reuse needs as many target classes as the base has ("
                        + baseSpec.numClasses() + "), got " + numClasses);
            }
            for (String layer : spec.headLayers()) {
                start.put(layer, require(baseParams, layer));
            }
        }
        Network model2 = factory.withFrozenFeatures(spec, hp, start);
        LOG.info("model 2 ({} head):\n{}", head.id(), model2.summary().toTable());
        return model2;
    }

    /** The baseline: model 2's spec, every layer trainable, freshly initialised with the same seed. */
    public Network scratch(ModelSpec baseSpec, int numClasses, Hyperparameters hp) {
        return factory.create(baseSpec.withNumClasses(numClasses), hp);
    }

    /** Plain path: every batch runs forward through the frozen layers too. */
    public TrainingHistory trainPlain(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled) {
        return trainPlain(model2, target, config, listener, cancelled, null);
    }

    /**
     * Plain path, resumable: the checkpoints it reports hold the whole of model 2 (its frozen features too, which
     * a resume checks are bit for bit those of {@code model2}).
     *
     * @param resumeFrom a checkpoint this path reported for the same model 2 and target, or null to start afresh
     */
    public TrainingHistory trainPlain(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled, Checkpoint resumeFrom) {
        return Trainer.train(model2, TrainingData.of(target.train()), TrainingData.of(target.test()), config, listener,
                cancelled, resumeFrom);
    }

    /**
     * The from-scratch baseline's training (any network trained on the target from its first layer): the
     * training loop itself, resumable as {@link Trainer#train(Network, TrainingData, TrainingData, TrainingConfig,
     * TrainingListener, BooleanSupplier, Checkpoint)}.
     */
    public TrainingHistory trainScratch(Network scratch, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled, Checkpoint resumeFrom) {
        return Trainer.train(scratch, TrainingData.of(target.train()), TrainingData.of(target.test()), config,
                listener, cancelled, resumeFrom);
    }

    /**
     * The step fine-tuning takes when none is asked for: a tenth of the head's. With Adam that is a tenth of its
     * learning rate. Adadelta has no learning rate (its step adapts from running averages of gradients and
     * updates, which for the unfrozen features start from nothing, so its first steps are as large as the
     * head's were); in Keras's convention its rate is 1, which multiplies the step, so a tenth is 0.1: every
     * Adadelta step scaled by 0.1. Why a small step at all: the features were learned on far more images than a
     * target task usually has, and full-size steps on few images overwrite them (catastrophic forgetting).
     */
    public static double defaultFineTuneLearningRate(Hyperparameters head) {
        return head.optimizer() == io.featurerelay.learning.model.Optimizer.ADAM ? head.learningRate() / 10 : 0.1;
    }

    /**
     * Fine-tuning after model 2's head has trained on frozen features: a copy of model 2 with every layer
     * trainable trains on the target images for {@code config.epochs()} more epochs at
     * {@code config.hyperparameters().learningRate()} ({@link NetworkFactory#forFineTuning}). {@code model2}
     * itself is not changed. Resumable as the other phases: its checkpoints hold the whole network ({@code full}).
     *
     * @param resumeFrom a checkpoint this phase reported for the same model 2 and target, or null to start afresh
     * @throws IllegalArgumentException when model 2 has no feature layers to unfreeze
     */
    public FineTuning fineTune(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled, Checkpoint resumeFrom) {
        ModelSpec spec = model2.spec();
        if (spec.featureLayers().isEmpty()) {
            throw new IllegalArgumentException("model 2 has no feature layers to unfreeze");
        }
        List<String> layers = new ArrayList<>(spec.featureLayers());
        layers.addAll(spec.headLayers());
        Network tuned = factory.forFineTuning(spec, config.hyperparameters(), model2.parameters(layers));
        LOG.info("fine-tuning, every layer trainable, learning rate {} ({}):\n{}",
                config.hyperparameters().learningRate(), config.hyperparameters().optimizer().id(),
                tuned.summary().toTable());
        TrainingHistory history = Trainer.train(tuned, TrainingData.of(target.train()), TrainingData.of(target.test()),
                config, listener, cancelled, resumeFrom);
        return new FineTuning(tuned, history);
    }

    /**
     * Featurized fast path: the frozen activations of every train and test image are computed once, then
     * the head alone trains on them; its parameters are written back into {@code model2}. Gives the same
     * accuracies as {@link #trainPlain} for the same seed, since frozen layers run in inference mode either way.
     * The two featurizing times are kept apart: the training images' belongs to model 2's training, the test
     * images' to its validation, which no model's training time includes.
     */
    public FeaturizedTraining trainFeaturized(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled) {
        return trainFeaturized(model2, target, config, listener, cancelled, null);
    }

    /**
     * Featurized fast path, resumable. The checkpoints it reports hold the head network alone (structure
     * {@code head-only}): the frozen features are {@code model2}'s own and do not change. On resume the
     * activations are computed again (the same, they are deterministic), the head takes the checkpoint's state and
     * trains on from the epoch after it, and is written back into {@code model2} as in an uninterrupted run.
     *
     * @param resumeFrom a checkpoint this path reported for the same model 2 and target, or null to start afresh
     * @throws io.featurerelay.learning.training.IncompatibleCheckpointException when it does not fit (checked
     *         before featurizing)
     */
    public FeaturizedTraining trainFeaturized(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled, Checkpoint resumeFrom) {
        if (resumeFrom != null && !NetworkState.HEAD_ONLY.equals(resumeFrom.state().structure())) {
            throw new IncompatibleCheckpointException("the featurized path resumes from a checkpoint of its head ("
                    + NetworkState.HEAD_ONLY + "), this one holds a " + resumeFrom.state().structure() + " network");
        }
        long storeBytes = 2L * model2.spec().featureSize() * (target.train().size() + target.test().size());
        if (storeBytes > RETURN_HEAP_ABOVE_BYTES) {
            returnFreeHeap();
        }
        long start = System.nanoTime();
        // the featurizing workers' replicas of the feature layers, made once for both sets: a new one allocates its
        // buffers and page-faults them in on its first batches
        List<Network> replicas = new ArrayList<>(List.of(model2));
        TrainingData trainFeatures = featurize(model2, target.train(), config.hyperparameters(), cancelled, replicas);
        double featurizeSeconds = (System.nanoTime() - start) / 1e9;
        TrainingData testFeatures = null;
        try {
            start = System.nanoTime();
            testFeatures = featurize(model2, target.test(), config.hyperparameters(), cancelled, replicas);
            double validationFeaturizeSeconds = (System.nanoTime() - start) / 1e9;
            LOG.info("featurized {} training images in {} s and {} validation images in {} s",
                    target.train().size(), String.format("%.1f", featurizeSeconds), target.test().size(),
                    String.format("%.1f", validationFeaturizeSeconds));

            ModelSpec spec = model2.spec();
            Network head = factory.headOnly(spec, config.hyperparameters());
            head.setParameters(model2.parameters(spec.headLayers()));
            TrainingHistory history = Trainer.train(head, trainFeatures, testFeatures, config, listener, cancelled,
                    resumeFrom);
            model2.setParameters(head.parameters(spec.headLayers()));
            return new FeaturizedTraining(featurizeSeconds, validationFeaturizeSeconds, history);
        } finally {
            // the features are the largest allocation of a transfer; what follows (the scratch baseline) should
            // not train beside them
            trainFeatures.release();
            if (testFeatures != null) {
                testFeatures.release();
            }
        }
    }

    /**
     * A full collection before the feature store, a transfer's largest allocation (off the heap, 750 MB for the
     * CIFAR-10 variant's 30,000 images): the heap's garbage from reading the dataset goes, and a JVM run with the
     * services' {@code -XX:MaxHeapFreeRatio=30} then gives all but 30% over the live data back to the system. On
     * the CIFAR-10 variant the heap held 417 MB, 215 of them live, while the features were made beside it, and the
     * transfer-service peaked at 1.55 GB (1.38 with this). Only for stores above {@link #RETURN_HEAP_ABOVE_BYTES}:
     * the shrunk heap grows again while featurizing, and on full Fashion-MNIST (323 MB of features, 1.03 GB peak
     * without it) featurizing took 3.9 s instead of 3.2.
     */
    private static void returnFreeHeap() {
        System.gc();
    }

    private TrainingData featurize(Network model2, ImageDataset images, Hyperparameters hp,
            BooleanSupplier cancelled, List<Network> replicas) {
        HalfStore features = featurize(model2, images, hp, FEATURIZE_WORKERS, cancelled, replicas);
        return TrainingData.ofFeatures(features, images.labels(), images.numClasses());
    }

    /**
     * The frozen activations of {@code images} [n, featureSize], float16, computed by {@code workers} threads,
     * each with a replica of model 2's feature layers and its own share of the batches, and each running its
     * native ops on {@code cores / workers} threads.
     *
     * <p>Why so rather than one thread whose every op spreads over all cores: the oneDNN convolutions of
     * libnd4j spend a good part of each call reordering their buffers between layouts, which waits on memory;
     * two single-threaded pipelines overlap one's reorders with the other's arithmetic, and skip the hand-off
     * between cores at every op. On two cores: 3.4-3.7 s instead of 3.6-4.9 s for 30,000 Fashion-MNIST images
     * (interleaved runs in one process).
     */
    HalfStore featurize(Network model2, ImageDataset images, Hyperparameters hp, int workers,
            BooleanSupplier cancelled) {
        return featurize(model2, images, hp, workers, cancelled, new ArrayList<>(List.of(model2)));
    }

    /** As above, with the workers' replicas of model 2 (model 2 first) taken from and added to {@code replicas}. */
    private HalfStore featurize(Network model2, ImageDataset images, Hyperparameters hp, int workers,
            BooleanSupplier cancelled, List<Network> replicas) {
        ModelSpec spec = model2.spec();
        // half precision: the frozen activations of 30,000 Fashion-MNIST images take 277 MB instead of 553 MB
        // (the largest allocation of a transfer); batches are widened back to float32 as they are drawn
        HalfStore store = HalfStore.allocate(images.size(), spec.featureSize());
        INDArray features = store.matrix();
        // the batch size at which the frozen convolutions run fastest, unless its buffers would be too large
        int batchSize = MemoryBudget.inferenceBatch(spec);
        int batches = (images.size() + batchSize - 1) / batchSize;
        int threads = Math.max(1, Math.min(workers, batches));
        try {
            if (threads == 1) {
                INDArray input = inputBatch(images, Math.min(batchSize, images.size()));
                try {
                    for (int b = 0; b < batches; b++) {
                        featurizeBatch(model2, images, b, batchSize, input, features, cancelled);
                    }
                } finally {
                    Trainer.close(input);
                }
            } else {
                featurizeInParallel(model2, images, hp, threads, batches, batchSize, features, cancelled, replicas);
            }
        } catch (RuntimeException | Error e) {
            store.close();
            throw e;
        }
        return store;
    }

    /**
     * Runs the featurizing pipelines' code on small batches of blank images until the JIT has compiled it, so that
     * the first transfer featurizes at full speed: the Winograd transforms that pool on the way are Java loops, and
     * in a fresh JVM on two busy cores they ran interpreted or half-compiled for about two seconds of the first
     * 30,000 images (4.5-5.0 s against 2.8-3.3 s warm). A service calls this at start-up, after
     * {@link NativeBackend#warmUp}; it takes about 1.5-2 s there. The compiled code serves every spec (the loops do
     * not depend on the channel counts). Then the head's float16 feature batches likewise
     * ({@link TrainingData#warmUpFeatureBatches}: the vector API's widening ran boxed, about a second of the first
     * head epoch, until compiled).
     *
     * @return whether every pipeline ran its batches (a failure is logged: the first transfer is then slower, and
     *         reports the failure itself if it recurs)
     */
    public boolean warmUpFeaturizing() {
        long start = System.nanoTime();
        ModelSpec spec = ModelSpec.reference(2);
        Hyperparameters hp = Hyperparameters.defaults();
        Map<String, Map<String, float[]>> frozen = factory.create(spec, hp).parameters(spec.featureLayers());
        int workers = FEATURIZE_WORKERS;
        int nativeThreads = Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int w = 0; w < workers; w++) {
            Thread t = new Thread(() -> {
                try {
                    NativeBackend.limitCurrentThread(nativeThreads);
                    Network replica = factory.withFrozenFeatures(spec, hp, frozen);
                    INDArray images = Nd4j.zeros(DataType.FLOAT, WARM_UP_BATCH, spec.imageShape().channels(),
                            spec.imageShape().height(), spec.imageShape().width());
                    for (int i = 0; i < WARM_UP_BATCHES; i++) {
                        Trainer.close(replica.featureActivations(images));
                    }
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                }
            }, "featurize-warm-up-" + w);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        if (failure.get() != null) {
            // a slower first transfer, not a broken service: the same code runs again then and reports there
            LOG.warn("featurizing warm-up failed: {}", failure.get().toString());
            return false;
        }
        long featurizing = (System.nanoTime() - start) / 1_000_000;
        long widening;
        try {
            widening = TrainingData.warmUpFeatureBatches();
        } catch (RuntimeException | Error e) {
            LOG.warn("feature batches' warm-up failed: {}", e.toString());
            return false;
        }
        LOG.info("featurizing warmed up in {} ms ({} pipelines, {} batches of {} images each), the head's feature "
                + "batches in {} ms", featurizing, workers, WARM_UP_BATCHES, WARM_UP_BATCH, widening);
        return true;
    }

    private void featurizeInParallel(Network model2, ImageDataset images, Hyperparameters hp, int workers,
            int batches, int batchSize, INDArray features, BooleanSupplier cancelled, List<Network> replicas) {
        ModelSpec spec = model2.spec();
        if (replicas.isEmpty() || replicas.get(0) != model2) {
            throw new IllegalArgumentException("the replicas must start with model 2 itself");
        }
        if (replicas.size() < workers) {
            Map<String, Map<String, float[]>> frozen = model2.parameters(spec.featureLayers());
            while (replicas.size() < workers) {
                replicas.add(factory.withFrozenFeatures(spec, hp, frozen));
            }
        }
        int nativeThreads = Math.max(1, Runtime.getRuntime().availableProcessors() / workers);
        AtomicBoolean failed = new AtomicBoolean();
        BooleanSupplier stop = () -> failed.get() || cancelled.getAsBoolean();
        AtomicInteger names = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers, task -> {
            Thread t = new Thread(task, "featurize-" + names.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                int worker = w;
                running.add(pool.submit(() -> {
                    // the limit stays with this pool's thread, which ends with this call
                    NativeBackend.limitCurrentThread(nativeThreads);
                    INDArray input = inputBatch(images, Math.min(batchSize, images.size()));
                    try {
                        for (int b = worker; b < batches; b += workers) {
                            featurizeBatch(replicas.get(worker), images, b, batchSize, input, features, stop);
                        }
                    } catch (RuntimeException | Error e) {
                        failed.set(true);
                        throw e;
                    } finally {
                        Trainer.close(input);
                    }
                    return null;
                }));
            }
            RuntimeException first = null;
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException("featurizing failed", e.getCause());
                    // a cancellation reported by one worker, or the failure that stopped the others
                    if (first == null || first instanceof TrainingCancelledException) {
                        first = cause;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failed.set(true);
                    throw new IllegalStateException("interrupted while featurizing", e);
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Batch {@code b} of {@code images} through the feature layers, into its rows of {@code features}; the images
     * are assembled in {@code input} (one per pipeline, [batchSize, c, h, w], reused batch after batch).
     */
    private static void featurizeBatch(Network network, ImageDataset images, int b, int batchSize, INDArray input,
            INDArray features, BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) {
            throw new TrainingCancelledException(0, b + 1);
        }
        int from = b * batchSize;
        int n = Math.min(batchSize, images.size() - from);
        INDArray batch = n == batchSize ? input : input.get(NDArrayIndex.interval(0, n), NDArrayIndex.all(),
                NDArrayIndex.all(), NDArrayIndex.all());
        ImageBatches.imagesInto(images, from, batch);
        network.featureActivations(batch, features.get(NDArrayIndex.interval(from, from + n), NDArrayIndex.all()));
    }

    /** A pipeline's input batch, [batchSize, c, h, w]; its owner closes it. */
    private static INDArray inputBatch(ImageDataset images, int batchSize) {
        ImageShape s = images.shape();
        // every image is written before it is read
        return Nd4j.createUninitialized(DataType.FLOAT, batchSize, s.channels(), s.height(), s.width());
    }

    private static Map<String, float[]> require(Map<String, Map<String, float[]>> params, String layer) {
        Map<String, float[]> arrays = params.get(layer);
        if (arrays == null) {
            throw new IllegalArgumentException("the base parameters lack layer " + layer);
        }
        return arrays;
    }
}
