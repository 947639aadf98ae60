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
 * What a transfer does on whichever replica claimed it: model 2 (frozen features, new or reused head) and then
 * the from-scratch baseline, each checkpointed at every epoch; a resumed job continues the model it was
 * training from its last checkpoint. At the end, in one transaction: model 2 stored, the result record in the
 * outbox, the job SUCCEEDED.
 */
final class TransferJobHandler implements JobHandler {

    private static final Logger LOG = Logger.getLogger(TransferJobHandler.class);
    static final String TRANSFER = "transfer";
    static final String SCRATCH = "scratch";
    static final String MODEL2 = "model2.zip";
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
        return new Hyperparameters(Optimizer.byId(p.optimizer()).orElse(Optimizer.ADADELTA), p.learningRate(),
                p.seed());
    }

    @Override
    public void run(RunningJob job) throws Exception {
        String id = job.id();
        TransferParameters p = job.parameters(TransferParameters.class);
        TransferDetails details = job.storedDetails(TransferDetails.class);
        BaseModel base = details.lineage();
        FeatureWeights weights = codec.decode(baseModels.envelope(base.id(), base.sha256()));
        TrainTestSplit target = TransferJobs.dataset(p.dataset(), "transfer " + id).load(Path.of(p.dataDir()))
                .subset(p.classes());
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
        details = details.prepared(target.classNames(), model2.summary())
                .withHistory(TRANSFER, transferResume == null ? List.of() : transferResume.history())
                .withHistory(SCRATCH, scratchResume == null ? List.of() : scratchResume.history());
        runMetrics.info(id, "kind", TRANSFER, "base_run", base.id(), "target", p.target(), "dataset", p.dataset(),
                "classes", p.classes().toString());
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
        job.artifacts().database().transaction(c -> {
            job.artifacts().write(c, id, MODEL2, model2::save);
            job.artifacts().delete(c, id, TRANSFER_CHECKPOINT);
            job.artifacts().delete(c, id, SCRATCH_CHECKPOINT);
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

    private static Checkpoint resume(RunningJob job, String name) {
        if (job.attempt() <= 1) {
            return null;
        }
        return job.readArtifact(name, (in, bytes) -> Checkpoint.readFrom(in, MAX_CHECKPOINT_BYTES)).orElse(null);
    }

    private static TransferResult result(String id, TransferParameters p, TransferDetails d) {
        return new TransferResult(id, d.lineage().id(), d.lineage().sha256(), p.target(), p.classes(), p.head(),
                d.transferHistory(), d.scratchHistory(), d.featurizeSeconds(), d.transferSeconds(),
                d.scratchSeconds(), d.summary().frozenParams(), d.summary().trainableParams());
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
