package io.featurerelay.transfer.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Everything the transfer service can be told, under {@code transfer.*} (environment: {@code TRANSFER_*}). */
@ConfigMapping(prefix = "transfer")
public interface TransferConfig {

    /**
     * HMAC-SHA256 keys accepted (comma-separated); when any is set, every envelope must carry a signature made
     * with one of them. More than one during a key rotation: add the new key here, switch the trainer's
     * {@code trainer.signing-key}, then drop the old one. None: the service does not start, unless
     * {@code featurerelay.allow-unsigned=true} lets it accept unsigned envelopes.
     */
    Optional<List<String>> signingKeys();

    /** Largest envelope accepted, in bytes. */
    @WithDefault("10485760")
    int maxEnvelopeBytes();

    /**
     * Target tasks by name (e.g. {@code transfer.targets.cifar-animals.*}); none by default. Each one feeds every
     * received base model whose input shape it fits.
     */
    Map<String, TargetTask> targets();

    /**
     * The target task derived from a base model's own envelope: the same dataset and data location, the classes
     * the base did not use. It feeds every base model that no configured target fits.
     */
    DerivedTarget derivedTarget();

    /**
     * Where this service reads a dataset, by dataset id (e.g. {@code transfer.data-dirs.cifar-10=/data/cifar}), when
     * it differs from where the trainer read it (the envelope's location) or from the dataset's default.
     */
    Map<String, Path> dataDirs();

    /** Jobs that train at the same time on each replica. */
    @WithDefault("1")
    int concurrency();

    /** Jobs that may wait for a worker, over all replicas; a re-run beyond it gets 429 (automatic jobs wait regardless). */
    @WithDefault("16")
    int queueSize();

    /** Largest accepted prediction upload, in bytes. */
    @WithDefault("5242880")
    int maxUploadBytes();

    /** Runs whose per-epoch series stay in /q/metrics. */
    @WithDefault("20")
    int keptRuns();

    /** Largest number of epochs a re-run may ask for. */
    @WithDefault("50")
    int maxEpochs();

    /**
     * Most memory one network of a transfer may plan for (parameters, optimizer state and the activations of its
     * batches, as learning-core's MemoryBudget estimates them); a re-run whose base spec and batch size need more
     * gets 400, and a target job that would is failed before it allocates. Absent: three quarters of ND4J's
     * off-heap cap ({@code -Dorg.bytedeco.javacpp.maxbytes}, else -Xmx).
     */
    java.util.Optional<Long> maxTrainingBytes();

    /** Largest batch size a re-run may ask for (activations grow with it). */
    @WithDefault("2048")
    int maxBatchSize();

    /** How a target task trains, whatever its data. */
    interface TrainingSettings {
        /** Epochs of model 2 and of the baseline. */
        @WithDefault("5")
        int epochs();

        /** Images per step. */
        @WithDefault("128")
        int batchSize();

        /** fresh (new head) or reuse (the base head keeps training). */
        @WithDefault("fresh")
        String head();

        /** Also train the from-scratch baseline. */
        @WithDefault("true")
        boolean baseline();

        /** Train the head on frozen activations computed once (the fast path). */
        @WithDefault("true")
        boolean featurized();

        /** adadelta or adam. */
        @WithDefault("adadelta")
        String optimizer();

        /** Adam's learning rate. */
        @WithDefault("0.001")
        double learningRate();

        /** Seed shared by model 2 and the baseline. */
        @WithDefault("42")
        long seed();

        /** Epochs of fine-tuning after model 2's head (feature layers unfrozen, whole network); 0: none. */
        @WithDefault("0")
        int fineTuneEpochs();

        /**
         * Fine-tuning's step: Adam's learning rate, or with Adadelta the scale of its step; absent: a tenth of the
         * head's (Adam: learning-rate / 10; Adadelta: 0.1).
         */
        Optional<Double> fineTuneLearningRate();

        /** Training images per class of the target task (a label budget, drawn with the seed); 0: all. */
        @WithDefault("0")
        int trainPerClass();
    }

    /** A configured head to train on every base model received that it fits. */
    interface TargetTask extends TrainingSettings {
        /** Train this target for every base model it fits. */
        @WithDefault("true")
        boolean enabled();

        /** fashion-mnist, mnist, cifar-10 or image-folder. */
        @WithDefault("fashion-mnist")
        String dataset();

        /** Directory of the dataset's files; absent: {@code transfer.data-dirs.<dataset>}, else the dataset's default. */
        Optional<Path> dataDir();

        /** Target classes, remapped to 0..n-1. */
        @WithDefault("5,6,7,8,9")
        List<Integer> classes();
    }

    /** The target derived from each base model's envelope (see {@link #derivedTarget()}). */
    interface DerivedTarget extends TrainingSettings {
        /** Derive a target for base models that no configured target fits; false: they are stored without a job. */
        @WithDefault("true")
        boolean enabled();
    }
}
