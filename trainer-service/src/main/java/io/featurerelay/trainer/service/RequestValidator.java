package io.featurerelay.trainer.service;

import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.ids.Identifier;
import io.featurerelay.learning.dataset.ImageShape;
import io.featurerelay.learning.model.MemoryBudget;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.service.problem.ProblemException;
import io.featurerelay.trainer.config.TrainerConfig;
import io.featurerelay.trainer.rest.TrainingRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/** Turns a request into {@link TrainingParameters}, or a 400 that names the field at fault. */
final class RequestValidator {

    private final TrainerConfig config;
    private final MemoryBudget budget;

    RequestValidator(TrainerConfig config) {
        this.config = config;
        this.budget = budget(config);
    }

    static MemoryBudget budget(TrainerConfig config) {
        return config.maxTrainingBytes().map(MemoryBudget::withMaximum).orElseGet(MemoryBudget::fromJvmLimits);
    }

    TrainingParameters validate(TrainingRequest request) {
        TrainingRequest r = request == null
                ? new TrainingRequest(null, null, null, null, null, null, null, null, null)
                : request;
        String datasetId = r.dataset() == null ? config.dataset() : r.dataset();
        DatasetKind kind = DatasetKind.byId(datasetId).orElseThrow(() -> ProblemException.invalidField("dataset",
                "unknown dataset '" + datasetId + "'; known: " + DatasetKind.ids()));
        Path dataDir = dataDir(r, kind);

        int epochs = r.epochs() == null ? config.defaults().epochs() : r.epochs();
        if (epochs < 1 || epochs > config.maxEpochs()) {
            throw ProblemException.invalidField("epochs", "epochs must be between 1 and " + config.maxEpochs()
                    + ", got " + epochs);
        }
        int batchSize = r.batchSize() == null ? config.defaults().batchSize() : r.batchSize();
        if (batchSize < 1 || batchSize > config.maxBatchSize()) {
            throw ProblemException.invalidField("batchSize", "batchSize must be between 1 and "
                    + config.maxBatchSize() + ", got " + batchSize);
        }
        String optimizerName = r.optimizer() == null ? config.defaults().optimizer() : r.optimizer();
        Optimizer optimizer = Optimizer.byId(optimizerName).orElseThrow(() -> ProblemException.invalidField(
                "optimizer", "optimizer must be adadelta or adam, got '" + optimizerName + "'"));
        double learningRate = r.learningRate() == null ? config.defaults().learningRate() : r.learningRate();
        if (!(learningRate > 0 && learningRate <= 10)) {
            throw ProblemException.invalidField("learningRate", "learningRate must be in (0, 10], got "
                    + learningRate);
        }
        long seed = r.seed() == null ? config.defaults().seed() : r.seed();

        List<Integer> classes = r.classes() == null ? config.defaults().classes() : r.classes();
        int numClasses = numClasses(kind, dataDir);
        validateClasses(classes, numClasses);

        ModelSpec spec = r.spec();
        if (spec != null) {
            Optional<ImageShape> shape = kind.shape();
            if (shape.isPresent() && !spec.imageShape().equals(shape.get())) {
                throw ProblemException.invalidField("spec.inputShape", "spec reads " + spec.imageShape()
                        + " images but " + kind.id() + " has " + shape.get());
            }
            if (spec.numClasses() != classes.size()) {
                throw ProblemException.invalidField("spec.numClasses", "spec has " + spec.numClasses()
                        + " classes but " + classes.size() + " are requested");
            }
        }
        // the network the job will build: the request's spec, or the reference one for the dataset's images (an
        // image folder's shape is known only once the job reads it: its job checks the budget then)
        Optional<ModelSpec> planned = spec != null ? Optional.of(spec)
                : kind.shape().map(s -> ModelSpec.forInput(s, classes.size()));
        if (planned.isPresent()) {
            try {
                budget.check(planned.get(), batchSize);
            } catch (IllegalArgumentException e) {
                throw ProblemException.invalidField(spec != null ? "spec" : "batchSize", e.getMessage());
            }
        }
        return new TrainingParameters(kind.id(), dataDir.toString(), List.copyOf(classes), epochs, batchSize,
                optimizer.id(), learningRate, seed, spec);
    }

    private Path dataDir(TrainingRequest r, DatasetKind kind) {
        Path dir;
        if (r.dataDir() != null) {
            if (r.dataDir().isBlank()) {
                throw ProblemException.invalidField("dataDir", "dataDir must not be blank");
            }
            // a request names a directory to read, never one above it, and nothing that a path cannot hold
            Identifier.DATA_DIR.require("dataDir", r.dataDir());
            try {
                dir = Path.of(r.dataDir());
            } catch (InvalidPathException e) {
                throw ProblemException.invalidField("dataDir", "dataDir is not a valid path: " + e.getReason());
            }
        } else if (kind.id().equals(config.dataset()) && config.dataDir().isPresent()) {
            dir = config.dataDir().get();
        } else {
            dir = kind.defaultDirectory();
        }
        if (!Files.isDirectory(dir) || !Files.isReadable(dir)) {
            throw ProblemException.invalidField("dataDir", "data directory " + dir
                    + " does not exist or is not readable. " + kind.howToGet());
        }
        return dir;
    }

    private static int numClasses(DatasetKind kind, Path dataDir) {
        if (!kind.classNames().isEmpty()) {
            return kind.classNames().size();
        }
        try (Stream<Path> folders = Files.list(dataDir.resolve("train"))) {
            return (int) folders.filter(Files::isDirectory).count();
        } catch (IOException e) {
            throw ProblemException.invalidField("dataDir", "cannot list " + dataDir.resolve("train") + ": "
                    + kind.howToGet());
        }
    }

    private static void validateClasses(List<Integer> classes, int numClasses) {
        if (classes.isEmpty()) {
            throw ProblemException.invalidField("classes", "classes must not be empty");
        }
        if (classes.size() < 2) {
            throw ProblemException.invalidField("classes", "a classifier needs at least 2 classes");
        }
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < classes.size(); i++) {
            Integer c = classes.get(i);
            if (c == null || c < 0 || c >= numClasses) {
                throw ProblemException.invalidField("classes[" + i + "]", "class " + c + " is out of range 0.."
                        + (numClasses - 1));
            }
            if (!seen.add(c)) {
                throw ProblemException.invalidField("classes[" + i + "]", "class " + c + " is listed twice");
            }
        }
    }
}
