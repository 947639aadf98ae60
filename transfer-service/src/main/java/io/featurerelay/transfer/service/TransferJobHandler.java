package io.featurerelay.transfer.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.Checkpoint;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.transfer.FeaturizedTraining;
import io.featurerelay.learning.transfer.HeadMode;
import io.featurerelay.learning.transfer.TransferLearner;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.JobHandler;
import io.featurerelay.service.jobs.JobProgressListener;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.jobs.Outbox;
import io.featurerelay.service.jobs.RunningJob;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.transfer.config.TransferConfig;
import io.featurerelay.transfer.messaging.TransferResultPublisher;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * What a transfer does on whichever replica claimed it: model 2 (frozen features, new or reused head), optionally
 * fine-tuning (model 2 with every layer trainable, at a small step), then the from-scratch baseline, each
 * checkpointed at every epoch, all on the same training images (the label budget's, when there is one); a resumed job continues the model it was
 * training from its last checkpoint. At the end, in one transaction: model 2 (and the fine-tuned model) stored,
 * the result record in the
 * outbox, the job SUCCEEDED.
 */
final class TransferJobHandler implements JobHandler {

    private static final Logger LOG = Logger.getLogger(TransferJobHandler.class);
    static final String TRANSFER = "transfer";
    static final String SCRATCH = "scratch";
    static final String FINE_TUNE = "fine-tune";
    static final String MODEL2 = "model2.zip";
    static final String FINE_TUNE_MODEL = "model-fine-tune.zip";
    static final String FINE_TUNE_CHECKPOINT = "checkpoint-fine-tune.frc";
    static final String TRANSFER_CHECKPOINT = "checkpoint-transfer.frc";
    static final String SCRATCH_CHECKPOINT = "checkpoint-scratch.frc";
    /** Parameters and optimizer state of one network of the sizes ModelSpec admits. */
    private static final long MAX_CHECKPOINT_BYTES = 256L << 20;

    private final TransferConfig config;
    private final BaseModelStore baseModels;
    private final RunMetrics runMetrics;
    private final NetworkFactory factory = NetworkFactory.standard();
    private final FeatureWeightsCodec codec;
    private final ObjectMapper json;
    private Outbox outbox;
    private Runnable recordAdded = () -> { };

    TransferJobHandler(TransferConfig config, BaseModelStore baseModels, RunMetrics runMetrics, ObjectMapper json) {
        this.config = config;
        this.json = json;
        this.baseModels = baseModels;
        this.runMetrics = runMetrics;
        this.codec = new FeatureWeightsCodec(new DecodeLimits(config.maxEnvelopeBytes(), 1 << 20));
    }

    void outbox(Outbox o, Runnable added) {
        this.outbox = o;
        this.recordAdded = added;
    }

    static Hyperparameters hyperparameters(TransferParameters p) {
        return hyperparameters(p.optimizer(), p.learningRate(), p.seed());
    }

    static Hyperparameters hyperparameters(String optimizer, double learningRate, long seed) {
        return new Hyperparameters(Optimizer.byId(optimizer).orElse(Optimizer.ADADELTA), learningRate, seed);
    }

    /** Fine-tuning's hyperparameters: the same optimizer and seed, its own step. */
    static Hyperparameters fineTuneHyperparameters(TransferParameters p) {
        return hyperparameters(p.optimizer(), p.fineTuneLearningRate(), p.seed());
    }

    /** The target task's images, with the label budget drawn from the training images when there is one. */
    static TrainTestSplit target(TransferParameters p, String where) {
        TrainTestSplit all = TransferJobs.dataset(p.dataset(), where).load(Path.of(p.dataDir()), p.classes());
        try {
            return all.withTrainPerClass(p.trainPerClass(), p.seed());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("trainPerClass " + p.trainPerClass() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void run(RunningJob job) throws Exception {
        String id = job.id();
        TransferParameters p = job.parameters(TransferParameters.class);
        TransferDetails details = job.storedDetails(TransferDetails.class);
        BaseModel base = details.lineage();
        FeatureWeights weights = codec.decode(baseModels.envelope(base.id(), base.sha256()));
        TrainTestSplit target = target(p, "transfer " + id);
        FeatureWeightsCodec.checkCompatible(weights, target.shape());
        // a target task's batch size meets the base's spec only here (re-runs were checked when they came in)
        TransferJobs.budget(config).check(weights.header().spec().withNumClasses(p.classes().size()), p.batchSize());
        Hyperparameters hp = hyperparameters(p);
        TrainingConfig training = new TrainingConfig(p.epochs(), p.batchSize(), hp);
        TransferLearner learner = new TransferLearner(factory);
        HeadMode head = HeadMode.byId(p.head()).orElse(HeadMode.FRESH);
        Network model2 = learner.model2(weights.header().spec(), weights.parameters(), p.classes().size(), head, hp);
        Checkpoint transferResume = resume(job, TRANSFER_CHECKPOINT);
        Checkpoint scratchResume = resume(job, SCRATCH_CHECKPOINT);
        Checkpoint fineTuneResume = p.fineTuneEpochs() > 0 ? resume(job, FINE_TUNE_CHECKPOINT) : null;
        details = details.prepared(target.classNames(), model2.summary(), target.train().size())
                .withHistory(TRANSFER, transferResume == null ? List.of() : transferResume.history())
                .withHistory(SCRATCH, scratchResume == null ? List.of() : scratchResume.history())
                .withHistory(FINE_TUNE, fineTuneResume == null ? List.of() : fineTuneResume.history());
        runMetrics.info(id, "kind", TRANSFER, "base_run", base.id(), "target", p.target(), "dataset", p.dataset(),
                "classes", p.classes().toString(), "epochs", Integer.toString(p.epochs()), "head", p.head(),
                "optimizer", p.optimizer(), "fine_tune_epochs", Integer.toString(p.fineTuneEpochs()),
                "train_per_class", p.trainPerClassLabel());
        runMetrics.parameters(id, TRANSFER, model2.summary());
        if (transferResume != null) {
            LOG.infof("transfer %s resumes model 2 after epoch %d%s (attempt %d)", id, transferResume.epochsDone(),
                    scratchResume != null ? ", the baseline after epoch " + scratchResume.epochsDone() : "",
                    job.attempt());
            transferResume.history().forEach(e -> runMetrics.epoch(id, TRANSFER, e));
        } else {
            LOG.infof("transfer %s: model 2 (%s head) on %d images of %s", id, head.id(), target.train().size(),
                    target.classNames());
        }

        Listener transferListener = new Listener(job, TRANSFER, TRANSFER_CHECKPOINT, details);
        double featurizeSeconds = 0;
        TrainingHistory transferHistory;
        if (p.featurized()) {
            transferListener.phase("featurizing");
            FeaturizedTraining fast = learner.trainFeaturized(model2, target, training, transferListener,
                    job::stopRequested, transferResume);
            featurizeSeconds = fast.featurizeSeconds();
            transferHistory = fast.head();
        } else {
            transferHistory = learner.trainPlain(model2, target, training, transferListener, job::stopRequested,
                    transferResume);
        }
        double transferSeconds = featurizeSeconds + transferHistory.trainingSeconds();
        details = transferListener.details().withHistory(TRANSFER, transferHistory.epochs())
                .transferDone(featurizeSeconds, transferSeconds);
        runMetrics.finished(id, TRANSFER, transferSeconds,
                target.train().size() * (double) p.epochs() / transferSeconds);
        job.saveDetails(details);

        Network tuned = null;
        if (p.fineTuneEpochs() > 0) {
            FineTuning fineTuning = fineTune(job, learner, model2, target, p, details, fineTuneResume);
            tuned = fineTuning.network();
            details = fineTuning.details();
        }

        if (p.baseline()) {
            Network scratch = learner.scratch(weights.header().spec(), p.classes().size(), hp);
            runMetrics.parameters(id, SCRATCH, scratch.summary());
            if (scratchResume != null) {
                scratchResume.history().forEach(e -> runMetrics.epoch(id, SCRATCH, e));
            }
            Listener scratchListener = new Listener(job, SCRATCH, SCRATCH_CHECKPOINT, details);
            scratchListener.phase("training");
            TrainingHistory scratchHistory = Trainer.train(scratch, TrainingData.of(target.train()),
                    TrainingData.of(target.test()), training, scratchListener, job::stopRequested, scratchResume);
            details = scratchListener.details().withHistory(SCRATCH, scratchHistory.epochs())
                    .scratchDone(scratchHistory.trainingSeconds());
            runMetrics.finished(id, SCRATCH, scratchHistory.trainingSeconds(),
                    scratchHistory.imagesPerSecond(target.train().size()));
        }
        TransferDetails done = details.withProgress(null);
        byte[] result = json.writeValueAsBytes(result(id, p, done));
        Network fineTuned = tuned;
        job.artifacts().database().transaction(c -> {
            job.artifacts().write(c, id, MODEL2, model2::save);
            if (fineTuned != null) {
                job.artifacts().write(c, id, FINE_TUNE_MODEL, fineTuned::save);
            }
            job.artifacts().delete(c, id, TRANSFER_CHECKPOINT);
            job.artifacts().delete(c, id, SCRATCH_CHECKPOINT);
            job.artifacts().delete(c, id, FINE_TUNE_CHECKPOINT);
            outbox.add(c, id, TransferResultPublisher.CHANNEL, id, null, result, Map.of());
            job.finish(c, JobState.SUCCEEDED, null, done);
            return null;
        });
        recordAdded.run();
        LOG.infof("transfer %s done: model 2 %.4f in %.1f s%s", id, transferHistory.last().validationAccuracy(),
                transferSeconds, p.baseline() && !done.scratchHistory().isEmpty()
                        ? String.format(", scratch %.4f in %.1f s",
                                done.scratchHistory().get(done.scratchHistory().size() - 1).validationAccuracy(),
                                done.scratchSeconds()) : "");
    }

    /** The fine-tuned network and the details with its history and time. */
    private record FineTuning(Network network, TransferDetails details) {
    }

    /**
     * Fine-tuning after model 2: a copy of it with every layer trainable, checkpointed at every epoch as the other
     * phases are; model 2 itself stays as it was (it is stored beside the fine-tuned model).
     */
    private FineTuning fineTune(RunningJob job, TransferLearner learner, Network model2, TrainTestSplit target,
            TransferParameters p, TransferDetails details, Checkpoint resumeFrom) {
        String id = job.id();
        TrainingConfig config = new TrainingConfig(p.fineTuneEpochs(), p.batchSize(), fineTuneHyperparameters(p));
        if (resumeFrom != null) {
            resumeFrom.history().forEach(e -> runMetrics.epoch(id, FINE_TUNE, e));
        }
        Listener listener = new Listener(job, FINE_TUNE, FINE_TUNE_CHECKPOINT, details);
        listener.phase("training");
        LOG.infof("transfer %s: fine-tuning every layer for %d epoch(s) at %s", id, p.fineTuneEpochs(),
                p.fineTuneLearningRate());
        io.featurerelay.learning.transfer.FineTuning tuned = learner.fineTune(model2, target, config, listener,
                job::stopRequested, resumeFrom);
        runMetrics.parameters(id, FINE_TUNE, tuned.network().summary());
        TrainingHistory history = tuned.history();
        TransferDetails done = listener.details().withHistory(FINE_TUNE, history.epochs())
                .fineTuneDone(history.trainingSeconds());
        runMetrics.finished(id, FINE_TUNE, history.trainingSeconds(), history.imagesPerSecond(target.train().size()));
        job.saveDetails(done);
        return new FineTuning(tuned.network(), done);
    }

    private static Checkpoint resume(RunningJob job, String name) {
        if (job.attempt() <= 1) {
            return null;
        }
        return job.readArtifact(name, (in, bytes) -> Checkpoint.readFrom(in, MAX_CHECKPOINT_BYTES)).orElse(null);
    }

    private static TransferResult result(String id, TransferParameters p, TransferDetails d) {
        return new TransferResult(id, d.lineage().id(), d.lineage().sha256(), p.target(), p.classes(), p.head(),
                d.transferHistory(), d.scratchHistory(), d.featurizeSeconds(), d.transferSeconds(),
                d.scratchSeconds(), d.summary().frozenParams(), d.summary().trainableParams(), d.fineTuneHistory(),
                d.fineTuneSeconds(), d.bestModel(), p.trainPerClass());
    }

    /** One model's progress, epochs and checkpoints into its transfer job. */
    private final class Listener extends JobProgressListener<TransferDetails> {

        private final String role;

        Listener(RunningJob job, String role, String checkpointName, TransferDetails details) {
            super(job, runMetrics, role, checkpointName, "transfer " + job.id() + " " + role, details);
            this.role = role;
        }

        void phase(String phase) {
            update(details().withProgress(new TransferStatus.Progress(role, phase, 0, 0, 0, 0, 0, 0, 0)));
        }

        @Override
        protected TransferDetails withProgress(TransferDetails current, BatchProgress p) {
            return current.withProgress(new TransferStatus.Progress(role, "training", p.epoch(), p.epochs(),
                    p.batch(), p.batches(), p.fractionDone(), p.imagesPerSecond(), p.etaSeconds()));
        }

        @Override
        protected TransferDetails withEpoch(TransferDetails current, EpochResult result) {
            return current.withEpoch(role, result);
        }
    }
}
