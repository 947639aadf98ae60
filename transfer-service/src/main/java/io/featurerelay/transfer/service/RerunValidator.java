package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.ClassSelection;
import io.featurerelay.learning.dataset.DatasetKind;
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

    public static TransferParameters validate(TransferRequest r, TransferConfig.TargetTask defaults, int maxEpochs,
            int maxBatchSize) {
        if (r == null || r.baseModelId() == null || r.baseModelId().isBlank()) {
            throw ProblemException.invalidField("baseModelId", "baseModelId is required");
        }
        String datasetId = r.dataset() != null ? r.dataset() : defaults.dataset();
        DatasetKind kind = DatasetKind.byId(datasetId).orElseThrow(() -> ProblemException.invalidField("dataset",
                "unknown dataset '" + datasetId + "'; known: " + DatasetKind.ids()));
        Path dataDir;
        try {
            dataDir = r.dataDir() != null ? Path.of(r.dataDir())
                    : r.dataset() == null ? defaults.dataDir().orElse(kind.defaultDirectory()) : kind.defaultDirectory();
        } catch (InvalidPathException e) {
            throw ProblemException.invalidField("dataDir", "dataDir is not a valid path: " + e.getReason());
        }
        if (!Files.isDirectory(dataDir) || !Files.isReadable(dataDir)) {
            throw ProblemException.invalidField("dataDir", "data directory " + dataDir
                    + " does not exist or is not readable. " + kind.howToGet());
        }
        List<Integer> classes = r.classes() != null ? r.classes() : defaults.classes();
        if (!kind.classNames().isEmpty()) {
            try {
                ClassSelection.validate(classes, kind.classNames().size());
            } catch (IllegalArgumentException e) {
                throw ProblemException.invalidField("classes", e.getMessage());
            }
        }
        if (classes.size() < 2) {
            throw ProblemException.invalidField("classes", "a classifier needs at least 2 classes");
        }
        int epochs = r.epochs() != null ? r.epochs() : defaults.epochs();
        if (epochs < 1 || epochs > maxEpochs) {
            throw ProblemException.invalidField("epochs", "epochs must be between 1 and " + maxEpochs + ", got "
                    + epochs);
        }
        int batchSize = r.batchSize() != null ? r.batchSize() : defaults.batchSize();
        if (batchSize < 1 || batchSize > maxBatchSize) {
            throw ProblemException.invalidField("batchSize", "batchSize must be between 1 and " + maxBatchSize
                    + ", got " + batchSize);
        }
        String head = r.head() != null ? r.head() : defaults.head();
        HeadMode.byId(head).orElseThrow(() -> ProblemException.invalidField("head",
                "head must be fresh or reuse, got '" + head + "'"));
        String optimizer = r.optimizer() != null ? r.optimizer() : defaults.optimizer();
        Optimizer.byId(optimizer).orElseThrow(() -> ProblemException.invalidField("optimizer",
                "optimizer must be adadelta or adam, got '" + optimizer + "'"));
        double learningRate = r.learningRate() != null ? r.learningRate() : defaults.learningRate();
        if (!(learningRate > 0 && learningRate <= 10)) {
            throw ProblemException.invalidField("learningRate", "learningRate must be in (0, 10], got " + learningRate);
        }
        int fineTuneEpochs = r.fineTuneEpochs() != null ? r.fineTuneEpochs() : defaults.fineTuneEpochs();
        if (fineTuneEpochs < 0 || fineTuneEpochs > maxEpochs) {
            throw ProblemException.invalidField("fineTuneEpochs", "fineTuneEpochs must be between 0 (no fine-tuning)"
                    + " and " + maxEpochs + ", got " + fineTuneEpochs);
        }
        double fineTuneLearningRate = fineTuneLearningRate(r.fineTuneLearningRate(), fineTuneEpochs, defaults,
                Optimizer.byId(optimizer).orElseThrow(), learningRate);
        int trainPerClass = r.trainPerClass() != null ? r.trainPerClass() : defaults.trainPerClass();
        TrainingSetSizes.requireBudget("trainPerClass", trainPerClass, kind, dataDir, classes);
        return new TransferParameters(TransferJobs.MANUAL, kind.id(), dataDir.toString(), List.copyOf(classes),
                epochs, batchSize, head.toLowerCase(), r.baseline() != null ? r.baseline() : defaults.baseline(),
                r.featurized() != null ? r.featurized() : defaults.featurized(), optimizer.toLowerCase(),
                learningRate, r.seed() != null ? r.seed() : defaults.seed(), fineTuneEpochs, fineTuneLearningRate,
                trainPerClass);
    }

    /**
     * The fine-tuning step asked for, or the default: a tenth of the head's
     * ({@link TransferLearner#defaultFineTuneLearningRate}); asking for one without fine-tuning epochs is a mistake
     * worth a 400, since nothing would use it.
     */
    static double fineTuneLearningRate(Double asked, int fineTuneEpochs, TransferConfig.TargetTask defaults,
            Optimizer optimizer, double learningRate) {
        if (asked != null && fineTuneEpochs == 0) {
            throw ProblemException.invalidField("fineTuneLearningRate", "fineTuneLearningRate is used only with"
                    + " fineTuneEpochs above 0");
        }
        double rate = asked != null ? asked : defaults.fineTuneLearningRate()
                .orElseGet(() -> TransferLearner.defaultFineTuneLearningRate(new Hyperparameters(optimizer,
                        learningRate, 0)));
        if (!(rate > 0 && rate <= 10)) {
            throw ProblemException.invalidField("fineTuneLearningRate", "fineTuneLearningRate must be in (0, 10],"
                    + " got " + rate);
        }
        return rate;
    }
}
