package io.featurerelay.trainer.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Everything the trainer can be told, under {@code trainer.*} (environment: {@code TRAINER_*}). */
@ConfigMapping(prefix = "trainer")
public interface TrainerConfig {

    /** Dataset of a request that names none: fashion-mnist, mnist, cifar-10 or image-folder. */
    @WithDefault("fashion-mnist")
    String dataset();

    /** Directory of the dataset's files when a request names none; absent: the dataset's own default. */
    Optional<Path> dataDir();

    /** Largest checkpoint a resumed job reads back (parameters and optimizer state of one network). */
    @WithDefault("268435456")
    long maxCheckpointBytes();

    /** Largest envelope the outbox sends (the broker's message size limit). */
    @WithDefault("10485760")
    long maxEnvelopeBytes();

    /** Largest number of epochs a request may ask for. */
    @WithDefault("50")
    int maxEpochs();

    /** Largest batch size a request may ask for. */
    @WithDefault("2048")
    int maxBatchSize();

    /**
     * Most memory one training may plan for (parameters, optimizer state and the activations of its batches, as
     * learning-core's MemoryBudget estimates them); a request whose spec and batch size need more gets 400.
     * Absent: three quarters of ND4J's off-heap cap ({@code -Dorg.bytedeco.javacpp.maxbytes}, else -Xmx).
     */
    Optional<Long> maxTrainingBytes();

    /** Hyper-parameters of a request that leaves them out. */
    Defaults defaults();

    /**
     * HMAC-SHA256 key signing every envelope, at least 16 bytes. Absent: the service does not start, unless
     * {@code featurerelay.allow-unsigned=true} lets it publish unsigned envelopes.
     */
    Optional<String> signingKey();

    /** Jobs that train at the same time on each replica. */
    @WithDefault("1")
    int concurrency();

    /** Jobs that may wait for a worker, over all replicas; one more gets 429. */
    @WithDefault("8")
    int queueSize();

    /** Run one job with the defaults at start-up (demos). */
    @WithDefault("false")
    boolean autostart();

    /** Runs whose per-epoch series stay in /q/metrics. */
    @WithDefault("20")
    int keptRuns();

    /** Re-publishing of envelopes that Kafka did not acknowledge. */
    Publish publish();

    interface Defaults {
        /** Passes over the training data. */
        @WithDefault("5")
        int epochs();

        /** Images per optimisation step. */
        @WithDefault("128")
        int batchSize();

        /** adadelta or adam. */
        @WithDefault("adadelta")
        String optimizer();

        /** Adam's learning rate (Adadelta adapts its own). */
        @WithDefault("0.001")
        double learningRate();

        /** Seed of initialisation, shuffling and dropout. */
        @WithDefault("42")
        long seed();

        /** Source classes. */
        @WithDefault("0,1,2,3,4")
        List<Integer> classes();
    }

    interface Publish {
        /** Wait before the first retry; doubles after each failure. */
        @WithDefault("1s")
        Duration initialBackoff();

        /** Longest wait between retries. */
        @WithDefault("30s")
        Duration maxBackoff();
    }
}
