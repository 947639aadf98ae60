package io.featurerelay.learning.model;

import java.util.Map;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Networks on DL4J's layer API ({@link MultiLayerNetwork}). */
final class LayerApiNetworkFactory implements NetworkFactory {

    @Override
    public Network create(ModelSpec spec, Hyperparameters hp) {
        NeuralNetConfiguration.ListBuilder list = base(hp).list();
        int inChannels = spec.imageShape().channels();
        for (int i = 0; i < spec.convFilters().size(); i++) {
            list.layer(new ConvolutionLayer.Builder(spec.kernel(), spec.kernel())
                    .nIn(inChannels)
                    .nOut(spec.convFilters().get(i))
                    .stride(1, 1)
                    // "valid" padding, as the reference network
                    .convolutionMode(ConvolutionMode.Truncate)
                    .activation(Activation.RELU)
                    .name(ModelSpec.convName(i))
                    .build());
            inChannels = spec.convFilters().get(i);
        }
        list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX)
                .kernelSize(spec.pool(), spec.pool())
                .stride(spec.pool(), spec.pool())
                .name("pool")
                .build());
        list.layer(dropout("conv-dropout", spec.convDropout()));
        addHead(list, spec);
        // setInputType adds the CNN-to-dense preprocessor (NCHW flattened in C order) before the dense layer
        list.setInputType(InputType.convolutional(spec.imageShape().height(), spec.imageShape().width(),
                spec.imageShape().channels()));
        return init(spec, hp, list.build(), LayerApiNetwork.Kind.FULL);
    }

    @Override
    public Network withFrozenFeatures(ModelSpec spec, Hyperparameters hp,
            Map<String, Map<String, float[]>> parameters) {
        LayerApiNetwork start = (LayerApiNetwork) create(spec, hp);
        start.setParameters(parameters);
        MultiLayerNetwork frozen = new TransferLearning.Builder(start.dl4j())
                // same updater and seed as the baseline, so that the comparison is fair
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(updater(hp)).seed(hp.seed()).build())
                // freezes every layer up to and including the dropout after pooling: the feature extractor
                .setFeatureExtractor(LayerApiNetwork.lastFeatureIndex(spec))
                .build();
        return new LayerApiNetwork(spec, hp, frozen, LayerApiNetwork.Kind.FULL);
    }

    /** Adam only: DL4J's AdaDelta has no step scale (the ops network's Adadelta has). */
    @Override
    public Network forFineTuning(ModelSpec spec, Hyperparameters hp, Map<String, Map<String, float[]>> parameters) {
        if (hp.optimizer() != Optimizer.ADAM) {
            throw new UnsupportedOperationException("the layer API fine-tunes with Adam only, not "
                    + hp.optimizer().id());
        }
        Network net = create(spec, hp);
        net.setParameters(parameters);
        return net;
    }

    @Override
    public Network headOnly(ModelSpec spec, Hyperparameters hp) {
        NeuralNetConfiguration.ListBuilder list = base(hp).list();
        addHead(list, spec);
        list.setInputType(InputType.feedForward(spec.featureSize()));
        return init(spec, hp, list.build(), LayerApiNetwork.Kind.HEAD_ONLY);
    }

    @Override
    public Network restore(ModelSpec spec, Hyperparameters hp, java.io.InputStream in) throws java.io.IOException {
        MultiLayerNetwork net = org.deeplearning4j.util.ModelSerializer.restoreMultiLayerNetwork(in, true);
        if (net.getnLayers() != LayerApiNetwork.lastFeatureIndex(spec) + 4) {
            throw new java.io.IOException("the saved network has " + net.getnLayers() + " layers, the spec needs "
                    + (LayerApiNetwork.lastFeatureIndex(spec) + 4));
        }
        return new LayerApiNetwork(spec, hp, net, LayerApiNetwork.Kind.FULL);
    }

    private static NeuralNetConfiguration.Builder base(Hyperparameters hp) {
        return new NeuralNetConfiguration.Builder()
                .seed(hp.seed())
                .updater(updater(hp))
                // Glorot uniform and zero biases: the reference (Keras) initialisation
                .weightInit(WeightInit.XAVIER_UNIFORM);
    }

    private static void addHead(NeuralNetConfiguration.ListBuilder list, ModelSpec spec) {
        list.layer(new DenseLayer.Builder().nOut(spec.denseUnits()).activation(Activation.RELU).name(ModelSpec.DENSE)
                .build());
        list.layer(dropout("dense-dropout", spec.denseDropout()));
        list.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nOut(spec.numClasses())
                .activation(Activation.SOFTMAX)
                .name(ModelSpec.OUTPUT)
                .build());
    }

    private static DropoutLayer dropout(String name, double rate) {
        DropoutLayer.Builder b = new DropoutLayer.Builder().name(name);
        if (rate > 0) {
            // DL4J takes the probability of *keeping* an activation
            b.dropOut(1.0 - rate);
        }
        return b.build();
    }

    static IUpdater updater(Hyperparameters hp) {
        return switch (hp.optimizer()) {
            case ADADELTA -> new AdaDelta();
            case ADAM -> new Adam(hp.learningRate());
        };
    }

    private static Network init(ModelSpec spec, Hyperparameters hp, MultiLayerConfiguration conf,
            LayerApiNetwork.Kind kind) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return new LayerApiNetwork(spec, hp, net, kind);
    }
}
