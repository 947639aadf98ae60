package io.featurerelay.learning.transfer;

import io.featurerelay.learning.dataset.ImageBatches;
import io.featurerelay.learning.dataset.ImageDataset;
import io.featurerelay.learning.dataset.TrainTestSplit;
import io.featurerelay.learning.model.Hyperparameters;
import io.featurerelay.learning.model.ModelSpec;
import io.featurerelay.learning.model.Network;
import io.featurerelay.learning.model.NetworkFactory;
import io.featurerelay.learning.training.Trainer;
import io.featurerelay.learning.training.TrainingCancelledException;
import io.featurerelay.learning.training.TrainingConfig;
import io.featurerelay.learning.training.TrainingData;
import io.featurerelay.learning.training.TrainingHistory;
import io.featurerelay.learning.training.TrainingListener;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds and trains model 2 from a base network's parameters, and the from-scratch baseline beside it. */
public final class TransferLearner {

    private static final Logger LOG = LoggerFactory.getLogger(TransferLearner.class);
    /** As {@code Trainer.EVALUATION_BATCH}: the batch size at which the frozen convolutions run fastest. */
    static final int FEATURIZE_BATCH = 256;

    private final NetworkFactory factory;

    public TransferLearner(NetworkFactory factory) {
        this.factory = factory;
    }

    /**
     * Model 2: the base's feature layers, frozen, and a head that is fresh or the base's own.
     *
     * @param baseSpec   the base network's spec
     * @param baseParams the base network's parameters (at least its feature layers; its head too for REUSE)
     * @param numClasses classes of the target task
     */
    public Network model2(ModelSpec baseSpec, Map<String, Map<String, float[]>> baseParams, int numClasses,
            HeadMode head, Hyperparameters hp) {
        ModelSpec spec = baseSpec.withNumClasses(numClasses);
        Map<String, Map<String, float[]>> start = new LinkedHashMap<>();
        for (String layer : spec.featureLayers()) {
            start.put(layer, require(baseParams, layer));
        }
        if (head == HeadMode.REUSE) {
            if (baseSpec.numClasses() != numClasses) {
                throw new IllegalArgumentException("head mode reuse needs as many target classes as the base has ("
                        + baseSpec.numClasses() + "), got " + numClasses);
            }
            for (String layer : spec.headLayers()) {
                start.put(layer, require(baseParams, layer));
            }
        }
        Network model2 = factory.withFrozenFeatures(spec, hp, start);
        LOG.info("model 2 ({} head):\n{}", head.id(), model2.summary().toTable());
        return model2;
    }

    /** The baseline: model 2's spec, every layer trainable, freshly initialised with the same seed. */
    public Network scratch(ModelSpec baseSpec, int numClasses, Hyperparameters hp) {
        return factory.create(baseSpec.withNumClasses(numClasses), hp);
    }

    /** Plain path: every batch runs forward through the frozen layers too. */
    public TrainingHistory trainPlain(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled) {
        return Trainer.train(model2, TrainingData.of(target.train()), TrainingData.of(target.test()), config, listener,
                cancelled);
    }

    /**
     * Featurized fast path: the frozen activations of every train and test image are computed once, then
     * the head alone trains on them; its parameters are written back into {@code model2}. Gives the same
     * accuracies as {@link #trainPlain} for the same seed, since frozen layers run in inference mode either way.
     * The two featurizing times are kept apart: the training images' belongs to model 2's training, the test
     * images' to its validation, which no model's training time includes.
     */
    public FeaturizedTraining trainFeaturized(Network model2, TrainTestSplit target, TrainingConfig config,
            TrainingListener listener, BooleanSupplier cancelled) {
        long start = System.nanoTime();
        TrainingData trainFeatures = featurize(model2, target.train(), cancelled);
        double featurizeSeconds = (System.nanoTime() - start) / 1e9;
        TrainingData testFeatures = null;
        try {
            start = System.nanoTime();
            testFeatures = featurize(model2, target.test(), cancelled);
            double validationFeaturizeSeconds = (System.nanoTime() - start) / 1e9;
            LOG.info("featurized {} training images in {} s and {} validation images in {} s",
                    target.train().size(), String.format("%.1f", featurizeSeconds), target.test().size(),
                    String.format("%.1f", validationFeaturizeSeconds));

            ModelSpec spec = model2.spec();
            Network head = factory.headOnly(spec, config.hyperparameters());
            head.setParameters(model2.parameters(spec.headLayers()));
            TrainingHistory history = Trainer.train(head, trainFeatures, testFeatures, config, listener, cancelled);
            model2.setParameters(head.parameters(spec.headLayers()));
            return new FeaturizedTraining(featurizeSeconds, validationFeaturizeSeconds, history);
        } finally {
            // the features are the largest allocation of a transfer; what follows (the scratch baseline) should
            // not train beside them
            trainFeatures.release();
            if (testFeatures != null) {
                testFeatures.release();
            }
        }
    }

    private TrainingData featurize(Network model2, ImageDataset images, BooleanSupplier cancelled) {
        ModelSpec spec = model2.spec();
        // half precision: the frozen activations of 30,000 Fashion-MNIST images take 277 MB instead of 553 MB
        // (the largest allocation of a transfer); batches are widened back to float32 as they are drawn
        INDArray features = Nd4j.create(DataType.HALF, images.size(), spec.featureSize());
        for (int from = 0; from < images.size(); from += FEATURIZE_BATCH) {
            if (cancelled.getAsBoolean()) {
                throw new TrainingCancelledException(0, from / FEATURIZE_BATCH + 1);
            }
            int n = Math.min(FEATURIZE_BATCH, images.size() - from);
            int[] indices = new int[n];
            for (int i = 0; i < n; i++) {
                indices[i] = from + i;
            }
            DataSet batch = ImageBatches.batch(images, indices);
            model2.featureActivations(batch.getFeatures(), features.get(NDArrayIndex.interval(from, from + n),
                    NDArrayIndex.all()));
            Trainer.close(batch.getFeatures());
            Trainer.close(batch.getLabels());
        }
        return TrainingData.ofFeatures(features, images.labels(), images.numClasses());
    }

    private static Map<String, float[]> require(Map<String, Map<String, float[]>> params, String layer) {
        Map<String, float[]> arrays = params.get(layer);
        if (arrays == null) {
            throw new IllegalArgumentException("the base parameters lack layer " + layer);
        }
        return arrays;
    }
}
