package io.featurerelay.learning.cli;

import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.learning.dataset.IdxWriter;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.experiment.Benchmark;
import io.featurerelay.learning.experiment.ExperimentReport;
import io.featurerelay.learning.experiment.ExperimentSettings;
import io.featurerelay.learning.experiment.ReferenceExperiment;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.model.NetworkProfiler;
import io.featurerelay.learning.model.Optimizer;
import io.featurerelay.learning.training.BatchProgress;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.transfer.HeadMode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** {@code learning-core-runner.jar experiment|sample [options]}. */
public final class FeatureRelayCli {

    static final int OK = 0;
    static final int DATA_ERROR = 2;
    static final int USAGE_ERROR = 64;

    private static final String USAGE = """
            usage: java -jar learning-core/target/learning-core-runner.jar <command> [options]

            experiment   train the base model on the source classes, then model 2 (frozen features + new head)
                         and the from-scratch baseline on the target classes; print per-epoch accuracy and times
              --dataset fashion-mnist|mnist|cifar-10|image-folder   (default fashion-mnist)
              --data-dir DIR            dataset files (default: the dataset's own, e.g. /usr/share/datasets/fashion-mnist)
              --epochs N                (default 5)       --batch-size N   (default 128)
              --optimizer adadelta|adam (default adadelta) --learning-rate X (Adam only, default 0.001)
              --seed N                  (default 42)
              --source-classes LIST     (default 0-4)     --target-classes LIST (default 5-9)
              --head fresh|reuse        (default fresh)
              --plain                   train model 2 through the frozen layers every batch (no featurized fast path)
              --no-baseline             skip the from-scratch baseline

            sample       write a class-balanced sample of an IDX dataset (for tests and quick runs)
              --data-dir DIR --out DIR --train-per-class N (default 400) --test-per-class N (default 100)

            bench        time every phase of the experiment (base, model 2 plain and featurized, scratch,
                         evaluation, a few layer-API batches) and write them as JSON; bench/run.sh puts them
                         beside the PyTorch reference
              the experiment options, and --out FILE (required), --per-class N (train images per class, default all),
              --layer-api-batches N (default 20; 0 skips)

            profile      time the ops network section by section (each layer's forward and backward pass, the
                         updater) over a run of batches and write it as JSON; bench/profile.sh puts it beside
                         PyTorch's profile and oneDNN's own timings
              the experiment options, and --out FILE (required), --phase training|featurizing|head (default training),
              --warmup N (default 5), --batches N (default 30); featurizing uses --batch-size (256 suits it)

            follow       follow a base training on trainer-service and the transfer it starts, print progress and
                         the comparison table (what deploy/local/run.sh shows)
              --trainer URL --transfer URL --base ID [--timeout-minutes N (default 240)]
              --learning-curve BUDGETS (e.g. 10,100,0; 0 = all): then a learning curve from the same base,
              printed as a table; --fine-tune-epochs N adds the fine-tuned model to it (default 0)
            """;

    private FeatureRelayCli() {
    }

    public static void main(String[] args) {
        // before anything loads ND4J: the libnd4j build is chosen once per JVM
        NativeBackend.configure();
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || Set.of("-h", "--help", "help").contains(args[0])) {
            out.print(USAGE);
            return args.length == 0 ? USAGE_ERROR : OK;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            return switch (args[0]) {
                case "experiment" -> experiment(rest, out);
                case "sample" -> sample(rest, out);
                case "follow" -> follow(rest, out);
                case "bench" -> bench(rest, out);
                case "profile" -> profile(rest, out);
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            };
        } catch (DatasetException e) {
            err.println("error: " + e.getMessage());
            return DATA_ERROR;
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.print(USAGE);
            return USAGE_ERROR;
        } catch (IOException e) {
            err.println("error: " + e.getMessage());
            return DATA_ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return DATA_ERROR;
        }
    }

    private static int follow(List<String> args, PrintStream out) throws IOException, InterruptedException {
        CommandLine cl = new CommandLine(args, Set.of("--trainer", "--transfer", "--base", "--timeout-minutes",
                "--learning-curve", "--fine-tune-epochs"), Set.of());
        String base = cl.get("--base", null);
        if (base == null) {
            throw new IllegalArgumentException("follow needs --base ID");
        }
        RunFollower follower = new RunFollower(java.net.URI.create(cl.get("--trainer", "http://127.0.0.1:8081")),
                java.net.URI.create(cl.get("--transfer", "http://127.0.0.1:8082")), out,
                java.time.Duration.ofSeconds(2));
        java.time.Duration timeout = java.time.Duration.ofMinutes(cl.intValue("--timeout-minutes", 240));
        List<Integer> budgets = cl.intList("--learning-curve", List.of());
        int fineTuneEpochs = cl.intValue("--fine-tune-epochs", 0);
        boolean ok = follower.follow(base, timeout);
        if (ok && !budgets.isEmpty()) {
            ok = new CurveFollower(java.net.URI.create(cl.get("--transfer", "http://127.0.0.1:8082")), out,
                    java.time.Duration.ofSeconds(2)).follow(base, budgets, fineTuneEpochs, timeout);
        }
        return ok ? OK : DATA_ERROR;
    }

    private static ExperimentSettings experimentSettings(CommandLine cl) {
        DatasetKind kind = dataset(cl.get("--dataset", DatasetKind.FASHION_MNIST.id()));
        String optimizerName = cl.get("--optimizer", Optimizer.ADADELTA.id());
        Optimizer optimizer = Optimizer.byId(optimizerName)
                .orElseThrow(() -> new IllegalArgumentException("--optimizer must be adadelta or adam, got "
                        + optimizerName));
        String headName = cl.get("--head", HeadMode.FRESH.id());
        HeadMode head = HeadMode.byId(headName)
                .orElseThrow(() -> new IllegalArgumentException("--head must be fresh or reuse, got " + headName));
        Hyperparameters hp = new Hyperparameters(optimizer, cl.doubleValue("--learning-rate", 1e-3),
                cl.intValue("--seed", (int) Hyperparameters.DEFAULT_SEED));
        TrainingConfig training = new TrainingConfig(cl.intValue("--epochs", TrainingConfig.DEFAULT_EPOCHS),
                cl.intValue("--batch-size", TrainingConfig.DEFAULT_BATCH_SIZE), hp);
        Path dataDir = cl.flag("--data-dir") ? Path.of(cl.get("--data-dir", null)) : null;
        return new ExperimentSettings(kind, dataDir,
                cl.intList("--source-classes", ExperimentSettings.SOURCE_CLASSES),
                cl.intList("--target-classes", ExperimentSettings.TARGET_CLASSES), training, head,
                !cl.flag("--plain"), !cl.flag("--no-baseline"));
    }

    private static int bench(List<String> args, PrintStream out) throws IOException {
        Set<String> options = new java.util.HashSet<>(EXPERIMENT_OPTIONS);
        options.addAll(Set.of("--out", "--per-class", "--layer-api-batches"));
        CommandLine cl = new CommandLine(args, options, Set.of());
        ExperimentSettings settings = experimentSettings(cl);
        String outFile = cl.get("--out", null);
        if (outFile == null) {
            throw new IllegalArgumentException("bench needs --out FILE (JSON)");
        }
        TrainTestSplit all = settings.dataset().load(settings.dataDir());
        var result = Benchmark.run(all, new Benchmark.Settings(settings, cl.intValue("--per-class", 0),
                cl.intValue("--layer-api-batches", 20)));
        writeJson(Path.of(outFile), result, out);
        return OK;
    }

    private static int profile(List<String> args, PrintStream out) throws IOException {
        Set<String> options = new java.util.HashSet<>(EXPERIMENT_OPTIONS);
        options.addAll(Set.of("--out", "--phase", "--warmup", "--batches"));
        CommandLine cl = new CommandLine(args, options, Set.of());
        ExperimentSettings settings = experimentSettings(cl);
        String outFile = cl.get("--out", null);
        if (outFile == null) {
            throw new IllegalArgumentException("profile needs --out FILE (JSON)");
        }
        String phase = cl.get("--phase", "training");
        int warmup = cl.intValue("--warmup", 5);
        int batches = cl.intValue("--batches", 30);
        if (warmup < 0 || batches < 1) {
            throw new IllegalArgumentException("--warmup must be 0 or more and --batches 1 or more");
        }
        TrainTestSplit all = settings.dataset().load(settings.dataDir());
        var hp = settings.training().hyperparameters();
        int batchSize = settings.training().batchSize();
        var source = all.subset(settings.sourceClasses());
        var spec = ModelSpec.forInput(all.shape(), settings.sourceClasses().size());
        var result = switch (phase) {
            case "training" -> NetworkProfiler.training(spec, hp, source.train(),
                    batchSize, warmup, batches);
            case "featurizing" -> NetworkProfiler.featurizing(spec, hp,
                    all.subset(settings.targetClasses()).train(), batchSize, warmup, batches);
            case "head" -> NetworkProfiler.head(spec, hp, all.subset(settings.targetClasses()).train(), batchSize,
                    warmup, batches);
            default -> throw new IllegalArgumentException("--phase must be training, featurizing or head, got "
                    + phase);
        };
        Map<String, Object> json = new LinkedHashMap<>(result.toMap());
        json.put("build", NativeBackend.buildName());
        json.put("threads", Runtime.getRuntime().availableProcessors());
        json.put("dataset", all.train().name());
        writeJson(Path.of(outFile), json, out);
        return OK;
    }

    /** A benchmark's or a profile's result as pretty-printed JSON (its folder made if missing). */
    private static void writeJson(Path target, Object value, PrintStream out) throws IOException {
        if (target.getParent() != null) {
            Files.createDirectories(target.getParent());
        }
        Files.writeString(target, new com.fasterxml.jackson.databind.ObjectMapper()
                .writerWithDefaultPrettyPrinter().writeValueAsString(value));
        out.printf("wrote %s%n", target);
    }

    private static final Set<String> EXPERIMENT_OPTIONS = Set.of("--dataset", "--data-dir", "--epochs", "--batch-size",
            "--optimizer", "--learning-rate", "--seed", "--source-classes", "--target-classes", "--head");

    private static int experiment(List<String> args, PrintStream out) {
        CommandLine cl = new CommandLine(args, EXPERIMENT_OPTIONS, Set.of("--plain", "--no-baseline"));
        ExperimentSettings settings = experimentSettings(cl);
        DatasetKind kind = settings.dataset();
        Path dataDir = settings.dataDir();
        TrainingConfig training = settings.training();
        Optimizer optimizer = training.hyperparameters().optimizer();
        HeadMode head = settings.head();
        out.printf("Feature Relay reference experiment: %s from %s, source classes %s, target classes %s, %d epochs, "
                + "batch %d, %s, head %s, %s path%n", kind.id(),
                dataDir == null ? kind.defaultDirectory() : dataDir, settings.sourceClasses(),
                settings.targetClasses(), training.epochs(), training.batchSize(), optimizer.id(), head.id(),
                settings.featurized() ? "featurized" : "plain");
        ExperimentReport report = new ReferenceExperiment(NetworkFactory.standard())
                .run(settings, role -> new ProgressPrinter(role.name().toLowerCase(Locale.ROOT), out), () -> false);
        out.println();
        out.print(report.toTable());
        return OK;
    }

    private static int sample(List<String> args, PrintStream out) throws IOException {
        CommandLine cl = new CommandLine(args, Set.of("--dataset", "--data-dir", "--out", "--train-per-class",
                "--test-per-class"), Set.of());
        DatasetKind kind = dataset(cl.get("--dataset", DatasetKind.FASHION_MNIST.id()));
        if (kind != DatasetKind.FASHION_MNIST && kind != DatasetKind.MNIST) {
            throw new IllegalArgumentException("sample writes IDX files: --dataset must be fashion-mnist or mnist");
        }
        String outDir = cl.get("--out", null);
        if (outDir == null) {
            throw new IllegalArgumentException("sample needs --out DIR");
        }
        Path dataDir = cl.flag("--data-dir") ? Path.of(cl.get("--data-dir", null)) : null;
        TrainTestSplit all = kind.load(dataDir);
        int trainPerClass = cl.intValue("--train-per-class", 400);
        int testPerClass = cl.intValue("--test-per-class", 100);
        Path target = Path.of(outDir);
        Files.createDirectories(target);
        IdxWriter.write(all.train().firstPerClass(trainPerClass), target.resolve("train-images-idx3-ubyte.gz"),
                target.resolve("train-labels-idx1-ubyte.gz"));
        IdxWriter.write(all.test().firstPerClass(testPerClass), target.resolve("t10k-images-idx3-ubyte.gz"),
                target.resolve("t10k-labels-idx1-ubyte.gz"));
        out.printf("wrote %d train and %d test images per class to %s%n", trainPerClass, testPerClass, target);
        return OK;
    }

    private static DatasetKind dataset(String id) {
        return DatasetKind.byId(id).orElseThrow(() -> new IllegalArgumentException("--dataset must be one of "
                + DatasetKind.ids() + ", got " + id));
    }

    /** Prints a progress line at most every few seconds: the model, epoch/batch, images/s and ETA. */
    private static final class ProgressPrinter implements TrainingListener {

        private static final long INTERVAL_NANOS = 5_000_000_000L;
        private final String role;
        private final PrintStream out;
        private long lastPrint = System.nanoTime();

        ProgressPrinter(String role, PrintStream out) {
            this.role = role;
            this.out = out;
        }

        @Override
        public void onBatch(BatchProgress p) {
            long now = System.nanoTime();
            if (now - lastPrint >= INTERVAL_NANOS) {
                lastPrint = now;
                out.printf(Locale.ROOT, "  %-8s epoch %d/%d batch %d/%d  %.0f images/s  ETA %.0f s%n", role, p.epoch(),
                        p.epochs(), p.batch(), p.batches(), p.imagesPerSecond(), p.etaSeconds());
            }
        }

        @Override
        public void onEpoch(EpochResult r) {
            out.printf(Locale.ROOT, "%-8s epoch %d: loss %.4f, validation accuracy %.4f, %.1f s, %.0f images/s%n", role,
                    r.epoch(), r.loss(), r.validationAccuracy(), r.seconds(), r.imagesPerSecond());
        }
    }
}
