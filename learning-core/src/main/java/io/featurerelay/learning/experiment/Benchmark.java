package io.featurerelay.learning.experiment;

import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.NativeBackend;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.training.EpochResult;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import io.featurerelay.learning.transfer.FeaturizedTraining;
import io.featurerelay.learning.transfer.HeadMode;
import io.featurerelay.learning.transfer.TransferLearner;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.dataset.DataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The phases of the reference experiment timed one by one, for {@code bench/}: base training, model 2 on
 * the plain and the featurized path, the scratch baseline, test-set evaluation, and a few batches of DL4J's
 * layer-API network for comparison. The result is a plain map that the CLI writes as JSON; bench/report.py
 * puts it beside the PyTorch reference's.
 */
public final class Benchmark {

    private static final Logger LOG = LoggerFactory.getLogger(Benchmark.class);

    /**
     * @param perClassLimit   at most this many training images per class (0: all)
     * @param layerApiBatches batches of the layer-API base network to time (0: skip)
     */
    public record Settings(ExperimentSettings experiment, int perClassLimit, int layerApiBatches) {
    }

    private Benchmark() {
    }

    public static Map<String, Object> run(TrainTestSplit all, Settings settings) {
        ExperimentSettings s = settings.experiment();
        TrainTestSplit source = limit(all.subset(s.sourceClasses()), settings.perClassLimit());
        TrainTestSplit target = limit(all.subset(s.targetClasses()), settings.perClassLimit());
        TrainingConfig config = s.training();
        NetworkFactory factory = NetworkFactory.standard();
        TrainingListener quiet = new TrainingListener() {
        };

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("framework", "DL4J/ND4J 1.0.0-M2.1, Feature Relay ops network");
        result.put("build", NativeBackend.buildName());
        result.put("threads", Runtime.getRuntime().availableProcessors());
        result.put("dataset", all.train().name());
        result.put("epochs", config.epochs());
        result.put("batchSize", config.batchSize());
        List<Map<String, Object>> phases = new ArrayList<>();
        result.put("phases", phases);

        ModelSpec baseSpec = ModelSpec.forInput(all.shape(), s.sourceClasses().size());
        // what the services run at start-up, before they take a job: the benchmark times a started service
        NativeBackend.warmUp();
        TransferLearner learner = new TransferLearner(factory);
        learner.warmUpFeaturizing();
        // each phase's networks are its own and unreachable once it returns, so that their activation buffers
        // are freed before the next phase allocates (one process holds what two services would)
        var baseParams = basePhases(factory, baseSpec, source, config, quiet, phases);
        int targetClasses = s.targetClasses().size();
        plainPhase(learner, baseSpec, baseParams, targetClasses, target, config, quiet, phases);
        System.gc();

        featurizedPhases(learner, baseSpec, baseParams, targetClasses, target, config, quiet, phases);
        System.gc();

        LOG.info("scratch baseline");
        Network scratch = learner.scratch(baseSpec, targetClasses, config.hyperparameters());
        phases.add(epochs("scratch", target.train().size(), Trainer.train(scratch, TrainingData.of(target.train()),
                TrainingData.of(target.test()), config, quiet, () -> false)));

        if (settings.layerApiBatches() > 0) {
            phases.add(layerApiBase(baseSpec, source.train(), config, settings.layerApiBatches()));
        }
        return result;
    }

    /** Base training and evaluation; returns the base's parameters. */
    private static Map<String, Map<String, float[]>> basePhases(NetworkFactory factory, ModelSpec baseSpec,
            TrainTestSplit source, TrainingConfig config, TrainingListener quiet, List<Map<String, Object>> phases) {
        Network base = factory.create(baseSpec, config.hyperparameters());
        LOG.info("base training: {} images x {} epochs", source.train().size(), config.epochs());
        TrainingHistory baseHistory = Trainer.train(base, TrainingData.of(source.train()),
                TrainingData.of(source.test()), config, quiet, () -> false);
        phases.add(epochs("base", source.train().size(), baseHistory));
        long start = System.nanoTime();
        Trainer.accuracy(base, TrainingData.of(source.test()));
        phases.add(single("evaluation", source.test().size(), (System.nanoTime() - start) / 1e9));
        return base.parameters(baseSpec.parameterShapes().keySet());
    }

    private static void plainPhase(TransferLearner learner, ModelSpec baseSpec,
            Map<String, Map<String, float[]>> baseParams, int targetClasses, TrainTestSplit target,
            TrainingConfig config, TrainingListener quiet, List<Map<String, Object>> phases) {
        Network plain = learner.model2(baseSpec, baseParams, targetClasses, HeadMode.FRESH, config.hyperparameters());
        LOG.info("model 2, plain path");
        phases.add(epochs("transfer-plain", target.train().size(),
                learner.trainPlain(plain, target, config, quiet, () -> false)));
    }

    private static void featurizedPhases(TransferLearner learner, ModelSpec baseSpec,
            Map<String, Map<String, float[]>> baseParams, int targetClasses, TrainTestSplit target,
            TrainingConfig config, TrainingListener quiet, List<Map<String, Object>> phases) {
        Network fast = learner.model2(baseSpec, baseParams, targetClasses, HeadMode.FRESH, config.hyperparameters());
        LOG.info("model 2, featurized path");
        FeaturizedTraining featurized = learner.trainFeaturized(fast, target, config, quiet, () -> false);
        phases.add(single("featurize", target.train().size(), featurized.featurizeSeconds()));
        phases.add(single("featurize-validation", target.test().size(), featurized.validationFeaturizeSeconds()));
        phases.add(epochs("transfer-head", target.train().size(), featurized.head()));
    }

    /** A few batches of the same base network on DL4J's layer API: its throughput, no accuracy. */
    private static Map<String, Object> layerApiBase(ModelSpec spec, ImageDataset train, TrainingConfig config,
            int batches) {
        Network net = NetworkFactory.layerApi().create(spec, config.hyperparameters());
        TrainingData data = TrainingData.of(train);
        int n = Math.min(batches, Math.max(1, train.size() / config.batchSize()));
        LOG.info("DL4J layer API, {} batches", n);
        net.fitBatch(data.batch(range(0, config.batchSize(), train.size())));
        long start = System.nanoTime();
        int images = 0;
        for (int b = 0; b < n; b++) {
            int[] indices = range(b * config.batchSize(), config.batchSize(), train.size());
            DataSet batch = data.batch(indices);
            net.fitBatch(batch);
            images += indices.length;
        }
        return single("base-layer-api", images, (System.nanoTime() - start) / 1e9);
    }

    private static int[] range(int from, int count, int size) {
        int[] indices = new int[count];
        for (int i = 0; i < count; i++) {
            indices[i] = (from + i) % size;
        }
        return indices;
    }

    private static TrainTestSplit limit(TrainTestSplit split, int perClass) {
        return perClass <= 0 ? split : new TrainTestSplit(split.train().firstPerClass(perClass), split.test());
    }

    private static Map<String, Object> epochs(String phase, int images, TrainingHistory history) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("phase", phase);
        m.put("images", images);
        m.put("epochSeconds", history.epochs().stream().map(EpochResult::seconds).toList());
        m.put("accuracy", history.epochs().stream().map(EpochResult::validationAccuracy).toList());
        return m;
    }

    private static Map<String, Object> single(String phase, int images, double seconds) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("phase", phase);
        m.put("images", images);
        m.put("seconds", seconds);
        return m;
    }
}
