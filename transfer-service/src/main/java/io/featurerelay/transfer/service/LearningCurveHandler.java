package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.transfer.FeaturizedTraining;
import io.featurerelay.learning.transfer.FineTuning;
import io.featurerelay.learning.transfer.HeadMode;
import io.featurerelay.learning.transfer.TransferLearner;
import io.featurerelay.learning.wire.DecodeLimits;
import io.featurerelay.learning.wire.FeatureWeights;
import io.featurerelay.learning.wire.FeatureWeightsCodec;
import io.featurerelay.service.jobs.JobHandler;
import io.featurerelay.service.jobs.JobState;
import io.featurerelay.service.jobs.RunningJob;
import io.featurerelay.service.metrics.RunMetrics;
import io.featurerelay.transfer.config.TransferConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * What a learning-curve job does: for each label budget, smallest first, model 2 (fresh head, featurized), then
 * the fine-tuned model when asked, then the baseline, each on the same images drawn with the seed
 * ({@link TrainTestSplit#withTrainPerClass}); each finished point is saved at once, so that a job taken over by
 * another replica goes on with the first point not done (the checkpoint granularity here is the point: a point is
 * short beside a whole sweep, and a point's epochs do not change because it was interrupted, they are drawn from
 * the seed).
 */
final class LearningCurveHandler implements JobHandler {

    private static final Logger LOG = Logger.getLogger(LearningCurveHandler.class);
    private static final long LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The progress series' role: the whole sweep. */
    static final String SWEEP = "curve";
    /**
     * How much more an epoch of a whole network costs than one of model 2's head on pre-computed features
     * (featurizing included), for the sweep's fraction done: about five on the reference network (README's
     * benchmark: 20 s against 4-6 s for the same images).
     */
    private static final double FULL_NETWORK_COST = 5;

    private final TransferConfig config;
    private final BaseModelStore baseModels;
    private final RunMetrics runMetrics;
    private final NetworkFactory factory = NetworkFactory.standard();

    LearningCurveHandler(TransferConfig config, BaseModelStore baseModels, RunMetrics runMetrics) {
        this.config = config;
        this.baseModels = baseModels;
        this.runMetrics = runMetrics;
    }

    @Override
    public void run(RunningJob job) throws Exception {
        String id = job.id();
        LearningCurveParameters p = job.parameters(LearningCurveParameters.class);
        LearningCurveDetails details = job.storedDetails(LearningCurveDetails.class);
        BaseModel base = details.lineage();
        FeatureWeights weights = new FeatureWeightsCodec(new DecodeLimits(config.maxEnvelopeBytes(), 1 << 20))
                .decode(baseModels.envelope(base.id(), base.sha256()));
        TrainTestSplit all = TransferJobs.dataset(p.dataset(), "learning curve " + id).load(Path.of(p.dataDir()),
                p.classes());
        FeatureWeightsCodec.checkCompatible(weights, all.shape());
        details = details.withClassNames(all.classNames());
        int classes = p.classes().size();
        Sweep sweep = new Sweep(job, p, details, all.train().size());
        for (LearningCurveStatus.Point done : details.points()) {
            runMetrics.curvePoint(id, base.id(), done.role(), done.budget(), done.imagesPerClass(),
                    done.finalAccuracy(), done.seconds());
        }
        if (!details.points().isEmpty()) {
            LOG.infof("learning curve %s resumes after %d of %d points (attempt %d)", id, details.points().size(),
                    sweep.points, job.attempt());
        }
        TransferLearner learner = new TransferLearner(factory);
        for (int budget : p.budgets()) {
            String label = LearningCurveParameters.label(budget);
            TrainTestSplit target;
            try {
                target = all.withTrainPerClass(budget, p.seed());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("budget " + label + ": " + e.getMessage(), e);
            }
            int imagesPerClass = budget == 0 ? Math.round(all.train().size() / (float) classes) : budget;
            TransferParameters tp = p.transfer(budget);
            Hyperparameters hp = TransferJobHandler.hyperparameters(tp);
            TrainingConfig training = new TrainingConfig(p.epochs(), p.batchSize(), hp);
            Network model2 = null;
            for (String role : p.roles()) {
                if (sweep.details.done(label, role)) {
                    continue;
                }
                TrainingListener listener = sweep.point(label, role, target.train().size(),
                        role.equals(TransferJobHandler.FINE_TUNE) ? p.fineTuneEpochs() : p.epochs());
                TrainingHistory history;
                double seconds;
                boolean tuning = role.equals(TransferJobHandler.FINE_TUNE);
                if (role.equals(TransferJobHandler.TRANSFER) || (tuning && model2 == null)) {
                    // model 2 also when only its fine-tuning is left (a resumed job): the same, drawn from the seed
                    boolean recorded = role.equals(TransferJobHandler.TRANSFER);
                    model2 = learner.model2(weights.header().spec(), weights.parameters(), classes, HeadMode.FRESH,
                            hp);
                    FeaturizedTraining fast = learner.trainFeaturized(model2, target, training,
                            recorded ? listener : TrainingListener.NONE, job::stopRequested, null);
                    if (recorded) {
                        sweep.finish(label, imagesPerClass, role, fast.head(), fast.totalSeconds(), base.id());
                        continue;
                    }
                }
                if (tuning) {
                    FineTuning tuned = learner.fineTune(model2, target, new TrainingConfig(p.fineTuneEpochs(),
                            p.batchSize(), TransferJobHandler.fineTuneHyperparameters(tp)), listener,
                            job::stopRequested, null);
                    history = tuned.history();
                    seconds = history.trainingSeconds();
                } else {
                    Network scratch = learner.scratch(weights.header().spec(), classes, hp);
                    history = Trainer.train(scratch, TrainingData.of(target.train()), TrainingData.of(target.test()),
                            training, listener, job::stopRequested, null);
                    seconds = history.trainingSeconds();
                }
                sweep.finish(label, imagesPerClass, role, history, seconds, base.id());
            }
        }
        LearningCurveDetails done = sweep.details.withProgress(null);
        job.finish(JobState.SUCCEEDED, null, done);
        runMetrics.progress(id, SWEEP, 1.0, 0, 0);
        LearningCurveStatus.crossover(done.points()).ifPresentOrElse(
                c -> LOG.infof("learning curve %s done: %d points; the baseline reaches model 2 at %s per class", id,
                        done.points().size(), c.budget()),
                () -> LOG.infof("learning curve %s done: %d points; the baseline stays below model 2", id,
                        done.points().size()));
    }

    /** The sweep's bookkeeping: its details, the work done, and the progress of the point training now. */
    private final class Sweep {

        private final RunningJob job;
        private final LearningCurveParameters p;
        private final double totalWork;
        private final int points;
        private final long started = System.nanoTime();
        private final double workAtStart;
        private final int allImages;
        private LearningCurveDetails details;
        private double workDone;
        private long lastLog = System.nanoTime();

        Sweep(RunningJob job, LearningCurveParameters p, LearningCurveDetails details, int allImages) {
            this.job = job;
            this.p = p;
            this.details = details;
            this.allImages = allImages;
            double total = 0;
            double done = 0;
            for (int budget : p.budgets()) {
                for (String role : p.roles()) {
                    double w = work(budget, role);
                    total += w;
                    if (details.done(LearningCurveParameters.label(budget), role)) {
                        done += w;
                    }
                }
            }
            this.totalWork = total;
            this.points = p.budgets().size() * p.roles().size();
            this.workDone = done;
            this.workAtStart = done;
        }

        private double work(int budget, String role) {
            double images = budget == 0 ? allImages : (double) budget * p.classes().size();
            return switch (role) {
                case TransferJobHandler.TRANSFER -> images * p.epochs();
                case TransferJobHandler.FINE_TUNE -> images * p.fineTuneEpochs() * FULL_NETWORK_COST;
                default -> images * p.epochs() * FULL_NETWORK_COST;
            };
        }

        /** A listener for the point that starts now. */
        TrainingListener point(String budget, String role, int images, int epochs) {
            int budgetValue = budget.equals("all") ? 0 : Integer.parseInt(budget);
            double pointWork = work(budgetValue, role);
            LOG.infof("learning curve %s: %s on %s images per class (%d images, %d epoch(s)), point %d of %d",
                    job.id(), role, budget, images, epochs, details.points().size() + 1, points);
            progress(budget, role, "training", 0, epochs, 0, 0, 0, 0);
            return new TrainingListener() {
                @Override
                public void onBatch(BatchProgress b) {
                    progress(budget, role, "training", b.epoch(), b.epochs(), b.batch(), b.batches(),
                            pointWork * b.fractionDone(), b.imagesPerSecond());
                }

                @Override
                public void onEpoch(EpochResult r) {
                    LOG.infof("learning curve %s: %s at %s per class, epoch %d/%d: validation accuracy %.4f",
                            job.id(), role, budget, r.epoch(), epochs, r.validationAccuracy());
                }
            };
        }

        private void progress(String budget, String role, String phase, int epoch, int epochs, int batch,
                int batches, double pointWorkDone, double imagesPerSecond) {
            double fraction = Math.min(1, (workDone + pointWorkDone) / totalWork);
            double elapsed = (System.nanoTime() - started) / 1e9;
            double gained = fraction - workAtStart / totalWork;
            double eta = gained > 0 ? elapsed * (1 - fraction) / gained : 0;
            details = details.withProgress(new LearningCurveStatus.Progress(budget, role, phase, epoch, epochs, batch,
                    batches, details.points().size(), points, fraction, imagesPerSecond, eta));
            job.saveProgress(details);
            runMetrics.progress(job.id(), SWEEP, fraction, eta, imagesPerSecond);
            long now = System.nanoTime();
            if (now - lastLog > LOG_INTERVAL_NANOS) {
                lastLog = now;
                LOG.infof("learning curve %s: %.0f%% of the sweep (%s at %s per class, epoch %d/%d batch %d/%d),"
                        + " %.0f images/s, ETA %.0f s", job.id(), 100 * fraction, role, budget, epoch, epochs, batch,
                        batches, imagesPerSecond, eta);
            }
        }

        /** A point is done: into the details (saved now) and the metrics. */
        void finish(String budget, int imagesPerClass, String role, TrainingHistory history, double seconds,
                String baseRun) {
            int budgetValue = budget.equals("all") ? 0 : Integer.parseInt(budget);
            workDone += work(budgetValue, role);
            double accuracy = history.last().validationAccuracy();
            details = details.withPoint(new LearningCurveStatus.Point(budget, imagesPerClass, role, accuracy, seconds,
                    new ArrayList<>(history.epochs())));
            job.saveDetails(details);
            runMetrics.curvePoint(job.id(), baseRun, role, budget, imagesPerClass, accuracy, seconds);
            LOG.infof("learning curve %s: %s at %s per class: %.4f in %.1f s (%d of %d points)", job.id(), role,
                    budget, accuracy, seconds, details.points().size(), points);
        }
    }
}
