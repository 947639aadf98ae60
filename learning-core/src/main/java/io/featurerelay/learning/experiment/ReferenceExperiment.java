package io.featurerelay.learning.experiment;

import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.transfer.FeaturizedTraining;
import io.featurerelay.learning.transfer.TransferLearner;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The classic experiment: train the base network on the source classes, freeze its features, train a head
 * on the target classes, and train the same network from scratch on them for comparison.
 */
public final class ReferenceExperiment {

    private static final Logger LOG = LoggerFactory.getLogger(ReferenceExperiment.class);

    /** The three models the experiment trains, for progress reports. */
    public enum Role { BASE, TRANSFER, SCRATCH }

    private final NetworkFactory factory;

    public ReferenceExperiment(NetworkFactory factory) {
        this.factory = factory;
    }

    public ExperimentReport run(ExperimentSettings settings, Function<Role, TrainingListener> listeners,
            BooleanSupplier cancelled) {
        TrainTestSplit all = settings.dataset().load(settings.dataDir());
        return run(all, settings, listeners, cancelled);
    }

    /** Runs on already loaded data (the full dataset, before the class split). */
    public ExperimentReport run(TrainTestSplit all, ExperimentSettings settings,
            Function<Role, TrainingListener> listeners, BooleanSupplier cancelled) {
        TrainTestSplit source = all.subset(settings.sourceClasses());
        TrainTestSplit target = all.subset(settings.targetClasses());
        LOG.info("source task: {} train / {} test images of {}", source.train().size(), source.test().size(),
                source.classNames());
        LOG.info("target task: {} train / {} test images of {}", target.train().size(), target.test().size(),
                target.classNames());

        ModelSpec baseSpec = ModelSpec.forInput(all.shape(), settings.sourceClasses().size());
        var hp = settings.training().hyperparameters();
        Network base = factory.create(baseSpec, hp);
        LOG.info("base model:\n{}", base.summary().toTable());
        TrainingHistory baseHistory = Trainer.train(base, TrainingData.of(source.train()),
                TrainingData.of(source.test()), settings.training(), listeners.apply(Role.BASE), cancelled);

        TransferLearner learner = new TransferLearner(factory);
        int targetClasses = settings.targetClasses().size();
        Network model2 = learner.model2(baseSpec, base.parameters(baseSpec.parameterShapes().keySet()),
                targetClasses, settings.head(), hp);
        TrainingHistory transferHistory;
        double featurizeSeconds = 0;
        if (settings.featurized()) {
            FeaturizedTraining fast = learner.trainFeaturized(model2, target, settings.training(),
                    listeners.apply(Role.TRANSFER), cancelled);
            transferHistory = fast.head();
            featurizeSeconds = fast.featurizeSeconds();
        } else {
            transferHistory = learner.trainPlain(model2, target, settings.training(), listeners.apply(Role.TRANSFER),
                    cancelled);
        }

        TrainingHistory scratchHistory = null;
        if (settings.baseline()) {
            Network scratch = learner.scratch(baseSpec, targetClasses, hp);
            scratchHistory = Trainer.train(scratch, TrainingData.of(target.train()), TrainingData.of(target.test()),
                    settings.training(), listeners.apply(Role.SCRATCH), cancelled);
        }
        return new ExperimentReport(baseHistory, transferHistory, featurizeSeconds, scratchHistory, model2.summary());
    }
}
