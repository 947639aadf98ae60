package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.ClassSelection;
import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.transfer.HeadMode;
import io.featurerelay.learning.transfer.TransferLearner;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.transfer.config.TransferConfig;
import io.featurerelay.transfer.rest.TransferRequest;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/** Turns a re-run request into {@link TransferParameters}, or a 400 that names the field at fault. */
public final class RerunValidator {

    private RerunValidator() {
    }

    /**
     * What a re-run trains where the request is silent.
     *
     * @param dataset  the dataset, or null when the request must name it
     * @param dataDir  its directory (null with dataset)
     * @param classes  target classes, or null when the request must name them
     * @param settings epochs, batch size, head and the rest
     * @param noTarget why no target task fits the base model (said when a required field is missing), or null
     */
    public record Defaults(String dataset, Path dataDir, List<Integer> classes, TransferConfig.TrainingSettings settings,
            String noTarget) {
    }

    static TransferParameters validate(TransferRequest r, Defaults defaults, TargetSelection targets, int maxEpochs,
            int maxBatchSize) {
        String datasetId = r.dataset() != null ? r.dataset() : defaults.dataset();
        if (datasetId == null) {
            throw ProblemException.invalidField("dataset", "dataset is required: " + defaults.noTarget());
        }
        DatasetKind kind = DatasetKind.byId(datasetId).orElseThrow(() -> ProblemException.invalidField("dataset",
                "unknown dataset '" + datasetId + "'; known: " + DatasetKind.ids()));
        Path dataDir;
        if (r.dataDir() != null) {
            // a request names a directory to read, never one above it, and nothing that a path cannot hold
            Identifier.DATA_DIR.require("dataDir", r.dataDir());
        }
        try {
            dataDir = r.dataDir() != null ? Path.of(r.dataDir())
                    : r.dataset() == null || r.dataset().equals(defaults.dataset()) ? defaults.dataDir()
                    : targets.dataDir(kind);
        } catch (InvalidPathException e) {
            throw ProblemException.invalidField("dataDir", "dataDir is not a valid path: " + e.getReason());
        }
        if (!Files.isDirectory(dataDir) || !Files.isReadable(dataDir)) {
            throw ProblemException.invalidField("dataDir", "data directory " + dataDir
                    + " does not exist or is not readable. " + kind.howToGet());
        }
        if (r.classes() == null && (defaults.classes() == null || !kind.id().equals(defaults.dataset()))) {
            throw ProblemException.invalidField("classes", "classes is required"
                    + (defaults.noTarget() != null ? ": " + defaults.noTarget() : " for dataset " + kind.id()));
        }
        List<Integer> classes = r.classes() != null ? r.classes() : defaults.classes();
        TransferConfig.TrainingSettings settings = defaults.settings();
        int numClasses;
        try {
            numClasses = kind.describe(dataDir).classNames().size();
        } catch (DatasetException e) {
            throw ProblemException.invalidField("dataDir", e.getMessage());
        }
        try {
            ClassSelection.validate(classes, numClasses);
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalidField("classes", e.getMessage());
        }
        if (classes.size() < 2) {
            throw ProblemException.invalidField("classes", "a classifier needs at least 2 classes");
        }
        int epochs = r.epochs() != null ? r.epochs() : settings.epochs();
        if (epochs < 1 || epochs > maxEpochs) {
            throw ProblemException.invalidField("epochs", "epochs must be between 1 and " + maxEpochs + ", got "
                    + epochs);
        }
        int batchSize = r.batchSize() != null ? r.batchSize() : settings.batchSize();
        if (batchSize < 1 || batchSize > maxBatchSize) {
            throw ProblemException.invalidField("batchSize", "batchSize must be between 1 and " + maxBatchSize
                    + ", got " + batchSize);
        }
        String head = r.head() != null ? r.head() : settings.head();
        HeadMode.byId(head).orElseThrow(() -> ProblemException.invalidField("head",
                "head must be fresh or reuse, got '" + head + "'"));
        String optimizer = r.optimizer() != null ? r.optimizer() : settings.optimizer();
        Optimizer.byId(optimizer).orElseThrow(() -> ProblemException.invalidField("optimizer",
                "optimizer must be adadelta or adam, got '" + optimizer + "'"));
        double learningRate = r.learningRate() != null ? r.learningRate() : settings.learningRate();
        if (!(learningRate > 0 && learningRate <= 10)) {
            throw ProblemException.invalidField("learningRate", "learningRate must be in (0, 10], got " + learningRate);
        }
        int fineTuneEpochs = r.fineTuneEpochs() != null ? r.fineTuneEpochs() : settings.fineTuneEpochs();
        if (fineTuneEpochs < 0 || fineTuneEpochs > maxEpochs) {
            throw ProblemException.invalidField("fineTuneEpochs", "fineTuneEpochs must be between 0 (no fine-tuning)"
                    + " and " + maxEpochs + ", got " + fineTuneEpochs);
        }
        double fineTuneLearningRate = fineTuneLearningRate(r.fineTuneLearningRate(), fineTuneEpochs, settings,
                Optimizer.byId(optimizer).orElseThrow(), learningRate);
        int trainPerClass = r.trainPerClass() != null ? r.trainPerClass() : settings.trainPerClass();
        TrainingSetSizes.requireBudget("trainPerClass", trainPerClass, kind, dataDir, classes);
        return new TransferParameters(TransferJobs.MANUAL, kind.id(), dataDir.toString(), List.copyOf(classes),
                epochs, batchSize, head.toLowerCase(), r.baseline() != null ? r.baseline() : settings.baseline(),
                r.featurized() != null ? r.featurized() : settings.featurized(), optimizer.toLowerCase(),
                learningRate, r.seed() != null ? r.seed() : settings.seed(), fineTuneEpochs, fineTuneLearningRate,
                trainPerClass);
    }

    /**
     * The fine-tuning step asked for, or the default: a tenth of the head's
     * ({@link TransferLearner#defaultFineTuneLearningRate}); asking for one without fine-tuning epochs is a mistake
     * worth a 400, since nothing would use it.
     */
    static double fineTuneLearningRate(Double asked, int fineTuneEpochs, TransferConfig.TrainingSettings defaults,
            Optimizer optimizer, double learningRate) {
        if (asked != null && fineTuneEpochs == 0) {
            throw ProblemException.invalidField("fineTuneLearningRate", "fineTuneLearningRate is used only with"
                    + " fineTuneEpochs above 0");
        }
        double rate = asked != null ? asked : defaultFineTuneLearningRate(defaults, optimizer, learningRate);
        if (!(rate > 0 && rate <= 10)) {
            throw ProblemException.invalidField("fineTuneLearningRate", "fineTuneLearningRate must be in (0, 10],"
                    + " got " + rate);
        }
        return rate;
    }

    /**
     * The fine-tuning step where a request is silent: the configured one, else a tenth of the head's
     * ({@link TransferLearner#defaultFineTuneLearningRate}); one rule for configured targets and re-runs.
     */
    static double defaultFineTuneLearningRate(TransferConfig.TrainingSettings settings, Optimizer optimizer,
            double learningRate) {
        return settings.fineTuneLearningRate().orElseGet(() -> TransferLearner.defaultFineTuneLearningRate(
                new Hyperparameters(optimizer, learningRate, 0)));
    }
}
