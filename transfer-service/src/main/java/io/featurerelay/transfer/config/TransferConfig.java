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

    /** The target tasks every received base model feeds, by name (e.g. {@code transfer.targets.default.*}). */
    Map<String, TargetTask> targets();

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

    /** Largest batch size a re-run may ask for (activations grow with it). */
    @WithDefault("2048")
    int maxBatchSize();

    /** One head to train on every base model received. */
    interface TargetTask {
        /** Train this target for every base model. */
        @WithDefault("true")
        boolean enabled();

        /** fashion-mnist, mnist, cifar-10 or image-folder. */
        @WithDefault("fashion-mnist")
        String dataset();

        /** Directory of the dataset's files; absent: the dataset's default. */
        Optional<Path> dataDir();

        /** Target classes, remapped to 0..n-1. */
        @WithDefault("5,6,7,8,9")
        List<Integer> classes();

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
    }
}
