package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetDescription;
import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.ImageShape;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.transfer.config.TransferConfig;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * Which target tasks a received base model feeds: every enabled configured target whose images fit the base's
 * input shape; when none does, the target derived from the base's own envelope (its dataset and data location,
 * the classes it did not use). When neither gives a task, the reason why, said so that a user can act on it.
 * Reads no images: a dataset's classes and shape come from {@link DatasetKind#describe}.
 */
final class TargetSelection {

    /** Name of the derived target task (part of its job ids). */
    static final String DERIVED = "derived";

    /** Bounded reasons, the values of the {@code reason} tag of the no-job counter. */
    enum NoJob {
        NO_TARGET_FITS("no-target-fits"), UNKNOWN_DATASET("unknown-dataset"), DATA_NOT_FOUND("data-not-found"),
        NO_CLASSES_LEFT("no-classes-left"), JOBS_EXIST("jobs-exist");

        final String tag;

        NoJob(String tag) {
            this.tag = tag;
        }
    }

    /** One target task for a base model, every setting filled in. */
    record Planned(String name, TransferParameters parameters) {
    }

    /** The tasks a base model feeds; when there are none, why ({@code reason} says it in words). */
    record Plan(List<Planned> targets, NoJob noJob, String reason) {
        static Plan none(NoJob noJob, String reason) {
            return new Plan(List.of(), noJob, reason);
        }
    }

    private final TransferConfig config;

    TargetSelection(TransferConfig config) {
        this.config = config;
        for (String datasetId : config.dataDirs().keySet()) {
            if (DatasetKind.byId(datasetId).isEmpty()) {
                throw new IllegalArgumentException("transfer.data-dirs." + datasetId + ": unknown dataset; known: "
                        + DatasetKind.ids());
            }
        }
    }

    /** Configured targets that are enabled, by name. */
    Map<String, TransferConfig.TargetTask> enabledTargets() {
        Map<String, TransferConfig.TargetTask> out = new LinkedHashMap<>();
        config.targets().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .filter(e -> e.getValue().enabled()).forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** Where this service reads {@code kind} when nothing more specific says: its configured directory, or the default. */
    Path dataDir(DatasetKind kind) {
        return config.dataDirs().getOrDefault(kind.id(), kind.defaultDirectory());
    }

    Plan plan(BaseModel base) {
        ImageShape input = ImageShape.of(base.inputShape());
        List<Planned> fitting = new ArrayList<>();
        List<String> misfits = new ArrayList<>();
        for (var target : enabledTargets().entrySet()) {
            TransferConfig.TargetTask t = target.getValue();
            DatasetKind kind = TransferJobs.dataset(t.dataset(), "transfer.targets." + target.getKey() + ".dataset");
            Path dir = t.dataDir().orElse(dataDir(kind));
            String misfit;
            try {
                ImageShape shape = kind.shape().orElseGet(() -> kind.describe(dir).shape());
                if (shape.equals(input)) {
                    fitting.add(new Planned(target.getKey(), parameters(target.getKey(), kind, dir, t.classes(), t)));
                    continue;
                }
                misfit = target.getKey() + " (" + kind.id() + ") has " + text(shape) + " images";
            } catch (DatasetException e) {
                misfit = target.getKey() + ": " + e.getMessage();
            }
            misfits.add(misfit);
        }
        if (!fitting.isEmpty()) {
            return new Plan(fitting, null, null);
        }
        String configured = misfits.isEmpty() ? "no target task is configured"
                : "no configured target fits input " + text(input) + ": " + String.join("; ", misfits);
        if (!config.derivedTarget().enabled()) {
            return Plan.none(NoJob.NO_TARGET_FITS, configured + ", and transfer.derived-target.enabled is false");
        }
        Plan derived = derived(base, input);
        return derived.targets().isEmpty()
                ? Plan.none(derived.noJob(), configured + "; and the derived target: " + derived.reason()) : derived;
    }

    /** The target derived from the envelope: same dataset and location, the classes the base did not use. */
    private Plan derived(BaseModel base, ImageShape input) {
        Optional<DatasetKind> known = DatasetKind.byId(base.dataset());
        if (known.isEmpty()) {
            return Plan.none(NoJob.UNKNOWN_DATASET, "the base was trained on dataset '" + base.dataset()
                    + "', which this service cannot read (known: " + DatasetKind.ids() + "); configure a target task");
        }
        DatasetKind kind = known.get();
        Path dir;
        try {
            dir = derivedDataDir(kind, base.location());
        } catch (IllegalArgumentException e) {
            return Plan.none(NoJob.DATA_NOT_FOUND, e.getMessage());
        }
        DatasetDescription data;
        try {
            data = kind.describe(dir);
        } catch (DatasetException e) {
            return Plan.none(NoJob.DATA_NOT_FOUND, "the base's dataset is not readable here: " + e.getMessage()
                    + " Set transfer.data-dirs." + kind.id() + " to where this service sees it, or re-run with a"
                    + " dataDir (POST /api/v1/transfers)");
        }
        if (!data.shape().equals(input)) {
            return Plan.none(NoJob.NO_TARGET_FITS, "the images at " + dir + " are " + text(data.shape())
                    + ", the base's input is " + text(input));
        }
        List<String> names = data.classNames();
        for (int i = 0; i < base.sourceClasses().size(); i++) {
            int c = base.sourceClasses().get(i);
            // an image folder's classes are its sub-folders: the base's must still be there, at the same index
            if (c < 0 || c >= names.size() || (i < base.classNames().size()
                    && !names.get(c).equals(base.classNames().get(i)))) {
                return Plan.none(NoJob.DATA_NOT_FOUND, "the dataset at " + dir + " no longer has the base's classes "
                        + base.classNames() + " at " + base.sourceClasses() + " (it has " + names + ")");
            }
        }
        List<Integer> remaining = IntStream.range(0, names.size()).filter(c -> !base.sourceClasses().contains(c))
                .boxed().toList();
        if (remaining.size() < 2) {
            return Plan.none(NoJob.NO_CLASSES_LEFT, "the base used " + base.sourceClasses().size() + " of the "
                    + names.size() + " classes of " + kind.id() + " at " + dir + ": fewer than 2 are left for a target"
                    + " task");
        }
        return new Plan(List.of(new Planned(DERIVED, parameters(DERIVED, kind, dir, remaining,
                config.derivedTarget()))), null, null);
    }

    /**
     * This service's directory for {@code kind} wins; then the trainer's location, which is used only when it is
     * an absolute, normalised path (a location like {@code /data/../etc} is a hint nobody should follow).
     */
    private Path derivedDataDir(DatasetKind kind, String location) {
        Path configured = config.dataDirs().get(kind.id());
        if (configured != null || location == null) {
            return configured != null ? configured : kind.defaultDirectory();
        }
        Path p;
        try {
            p = Path.of(location);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("the envelope's data location is no path here (" + e.getReason()
                    + "); set transfer.data-dirs." + kind.id());
        }
        if (!p.isAbsolute() || !p.normalize().equals(p)) {
            throw new IllegalArgumentException("the envelope's data location " + location + " is not an absolute,"
                    + " normalised path; set transfer.data-dirs." + kind.id());
        }
        return p;
    }

    static TransferParameters parameters(String name, DatasetKind kind, Path dir, List<Integer> classes,
            TransferConfig.TrainingSettings s) {
        return new TransferParameters(name, kind.id(), dir.toString(), List.copyOf(classes), s.epochs(),
                s.batchSize(), s.head(), s.baseline(), s.featurized(), s.optimizer(), s.learningRate(), s.seed(),
                s.fineTuneEpochs(), RerunValidator.defaultFineTuneLearningRate(s, Optimizer.byId(s.optimizer())
                        .orElseThrow(), s.learningRate()), s.trainPerClass());
    }

    private static String text(ImageShape s) {
        return s.channels() + "x" + s.height() + "x" + s.width();
    }
}
