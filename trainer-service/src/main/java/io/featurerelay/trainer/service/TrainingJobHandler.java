package io.featurerelay.trainer.service;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
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
import io.featurerelay.learning.wire.DatasetInfo;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.JobHandler;
import io.featurerelay.service.jobs.JobProgressListener;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.jobs.Outbox;
import io.featurerelay.service.jobs.RunningJob;
import io.featurerelay.service.messaging.FeatureWeightsTopic;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.trainer.config.TrainerConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * What a base training does on whichever replica claimed it: loads the source classes, trains (from the last
 * checkpoint when the job was taken over or resumed), checkpoints every epoch, and then, in one transaction,
 * stores the full model and the envelope, puts the envelope in the outbox and moves the job to PUBLISH_PENDING.
 */
final class TrainingJobHandler implements JobHandler {

    private static final Logger LOG = Logger.getLogger(TrainingJobHandler.class);
    static final String ROLE = "base";
    static final String MODEL = "model.zip";
    static final String ENVELOPE = "envelope.frw";
    static final String CHECKPOINT = "checkpoint.frc";

    private final TrainerConfig config;
    private final RunMetrics runMetrics;
    /** HMAC key of the envelopes; null: unsigned (featurerelay.allow-unsigned). */
    private final byte[] signingKey;
    private final NetworkFactory factory = NetworkFactory.standard();
    private final FeatureWeightsCodec codec = new FeatureWeightsCodec();
    private Outbox outbox;
    private Runnable recordAdded = () -> { };

    TrainingJobHandler(TrainerConfig config, RunMetrics runMetrics, byte[] signingKey) {
        this.config = config;
        this.runMetrics = runMetrics;
        this.signingKey = signingKey;
    }

    /** The outbox the envelope goes to, and who to tell when it is there. */
    void outbox(Outbox o, Runnable added) {
        this.outbox = o;
        this.recordAdded = added;
    }

    @Override
    public void run(RunningJob job) throws Exception {
        TrainingParameters p = job.parameters(TrainingParameters.class);
        String id = job.id();
        TrainingDetails stored = job.storedDetails(TrainingDetails.class);
        TrainTestSplit data = DatasetKind.byId(p.dataset()).orElseThrow()
                .load(Path.of(p.dataDir()), p.classes());
        ModelSpec spec = p.spec() != null ? p.spec() : ModelSpec.forInput(data.shape(), p.classes().size());
        // the request was checked against the budget where the spec was known; an image folder's shape is known now
        RequestValidator.budget(config).check(spec, p.batchSize());
        Hyperparameters hp = new Hyperparameters(Optimizer.byId(p.optimizer()).orElseThrow(), p.learningRate(),
                p.seed());
        Network network = factory.create(spec, hp);
        Checkpoint resume = job.attempt() > 1 ? job.readArtifact(CHECKPOINT,
                (in, bytes) -> Checkpoint.readFrom(in, config.maxCheckpointBytes())).orElse(null) : null;
        TrainingDetails details = (stored == null ? TrainingDetails.empty() : stored).withSummary(network.summary())
                .withHistory(resume == null ? java.util.List.of() : resume.history());
        job.saveDetails(details);
        runMetrics.parameters(id, ROLE, network.summary());
        runMetrics.info(id, "kind", ROLE, "dataset", p.dataset(), "classes", p.classes().toString());
        if (resume != null) {
            resume.history().forEach(e -> runMetrics.epoch(id, ROLE, e));
            LOG.infof("training %s resumes after epoch %d of %d (attempt %d)", id, resume.epochsDone(), p.epochs(),
                    job.attempt());
        } else {
            LOG.infof("training %s on %d images of %s, %d epochs", id, data.train().size(), data.classNames(),
                    p.epochs());
        }
        Listener listener = new Listener(job, details);
        TrainingHistory history = Trainer.train(network, TrainingData.of(data.train()), TrainingData.of(data.test()),
                new TrainingConfig(p.epochs(), p.batchSize(), hp), listener, job::stopRequested, resume);
        runMetrics.finished(id, ROLE, history.trainingSeconds(), history.imagesPerSecond(data.train().size()));

        byte[] envelope = codec.encode(id, Instant.now(),
                // the data's absolute location lets a receiver that sees the same files derive the target task
                new DatasetInfo(p.dataset(), p.classes(), data.classNames(), spec.inputShape(),
                        DatasetInfo.PIXELS_OVER_255, Path.of(p.dataDir()).toAbsolutePath().normalize().toString()),
                spec, network.parameters(spec.parameterShapes().keySet()), history.epochs(),
                history.trainingSeconds());
        String sha = FeatureWeightsCodec.sha256(envelope);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put(FeatureWeightsTopic.SCHEMA_HEADER, FeatureWeightsCodec.SCHEMA_NAME);
        headers.put(FeatureWeightsTopic.SHA256_HEADER, sha);
        if (signingKey != null) {
            headers.put(FeatureWeightsTopic.SIGNATURE_HEADER, FeatureWeightsCodec.sign(envelope, signingKey));
        }
        TrainingDetails trained = listener.details().withHistory(history.epochs())
                .trained(history.trainingSeconds(), sha);
        job.artifacts().database().transaction(c -> {
            job.artifacts().write(c, id, MODEL, network::save);
            job.artifacts().write(c, id, ENVELOPE, out -> out.write(envelope));
            job.artifacts().delete(c, id, CHECKPOINT);
            outbox.add(c, id, FeatureWeightsTopic.NAME, id, ENVELOPE, null, headers);
            job.finish(c, JobState.PUBLISH_PENDING, null, trained);
            return null;
        });
        recordAdded.run();
        LOG.infof("training %s done: validation accuracy %.4f; model and envelope (%d bytes) stored, publishing", id,
                history.last().validationAccuracy(), envelope.length);
    }

    /** A base training's progress, epochs and checkpoints into its job. */
    private final class Listener extends JobProgressListener<TrainingDetails> {

        Listener(RunningJob job, TrainingDetails details) {
            super(job, runMetrics, ROLE, CHECKPOINT, "training " + job.id(), details);
        }

        @Override
        protected TrainingDetails withProgress(TrainingDetails current, BatchProgress p) {
            return current.withProgress(new TrainingStatus.Progress(p.epoch(), p.epochs(), p.batch(), p.batches(),
                    p.fractionDone(), p.imagesPerSecond(), p.etaSeconds()));
        }

        @Override
        protected TrainingDetails withEpoch(TrainingDetails current, EpochResult result) {
            return current.withEpoch(result);
        }
    }
}
