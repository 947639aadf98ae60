package io.featurerelay.learning.model;

import io.featurerelay.learning.dataset.ImageShape;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.random.impl.DropOutInverted;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.AdaDelta;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The reference network run as libnd4j ops, forward and backward written out by hand.
 *
 * <p>Why not DL4J's layer API: in 1.0.0-M2.1 its convolution layer never reaches oneDNN (the helper lookup
 * fails) and runs im2col + gemm, and SameDiff evaluates the forward pass twice per step and allocates every
 * activation anew. The convolutions run as oneDNN's primitives, driven directly on NHWC activations
 * ({@link OneDnnConvolution}; libnd4j's {@code conv2d} and {@code conv2d_bp}, which the oneDNN builds of
 * {@link NativeBackend} also run, where that library does not load), max pooling is a loop of our own ({@link DirectLoops}), and the
 * activations live in buffers reused from batch to batch. The arithmetic is DL4J's: Glorot-uniform weights, inverted dropout, softmax
 * with cross-entropy averaged over the batch, DL4J's updaters applied to one flat gradient; tests check
 * that training here equals training the layer-API network over the shapes a spec may take
 * (OpsNetworkEquivalenceTest), and each hand-written loop against its definition (DirectLoopsTest).
 *
 * <p>Parameters live in one flat array, features first, so that freezing the features is a matter of
 * updating only the head's tail of it. Not thread-safe; every public method is synchronized because a
 * service may read parameters while another thread trains.
 */
final class OpsNetwork implements Network {

    enum Kind { FULL, HEAD_ONLY }

    private static final int MAX_CACHED_BUFFERS = 4;

    private final ModelSpec spec;
    private final Hyperparameters hyperparameters;
    private final Kind kind;
    private final boolean featuresFrozen;
    private final List<Conv> convs = new ArrayList<>();
    /** Per convolution, its passes through oneDNN's primitives directly, once created ({@link #direct}). */
    private final List<OneDnnConvolution> directConvs = new ArrayList<>();
    private final Dense dense;
    private final Dense output;
    /** The dense layers' matrix products (oneDNN's matmul primitives, created once per shape). */
    private final OneDnnProducts products = new OneDnnProducts();
    private final INDArray params;
    private final INDArray gradients;
    private final INDArray trainableGradients;
    private final INDArray trainableParams;
    private final long trainableStart;
    /** DL4J's updater over the trainable range; null for Adadelta, which runs fused in Java (msg, msdx). */
    private final GradientUpdater updater;
    /** The updater's state (Adam: m then v), a view of which it updates in place; null for Adadelta. */
    private final INDArray updaterState;
    private final float[][] adaDeltaMsg;
    private final float[][] adaDeltaMsdx;
    private final float adaDeltaRho;
    private final float adaDeltaEpsilon;
    /** Multiplies every Adadelta step: 1, or the fine-tuning step scale ({@link #OpsNetwork(ModelSpec, Hyperparameters, Kind, boolean, boolean)}). */
    private final float adaDeltaStepScale;
    private SplittableRandom dropoutRandom;
    private final int[] convIArgs;
    private final Map<Long, Buffers> buffers = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Buffers> eldest) {
            return size() > MAX_CACHED_BUFFERS;
        }
    };
    private int iteration;
    private LayerProfile profile = LayerProfile.OFF;
    private final String updaterSection;
    /**
     * The first convolution's backward pass computes its weight and bias gradients alone (oneDNN's backward-weights
     * primitive, or im2col + a matrix product, {@link Im2colConvolution}, without it): nothing needs the gradient of
     * the images, which conv2d_bp computes too.
     */
    private final boolean firstConvWeightsOnly;
    /**
     * The output layer's products as Java loops ({@link NarrowProducts}): its side of a few classes, where oneDNN's
     * own library is not loaded (libnd4j's matmul costs more in call overhead than the loops do).
     */
    private final boolean narrowOutput;

    /**
     * One convolution's parameter views: W [out, in, k, k] (OIHW), b [out]; its output is [out, outHeight,
     * outWidth] per image (height and width apart: image folders give non-square images).
     */
    private record Conv(String name, INDArray w, INDArray b, INDArray gw, INDArray gb, int out, int outHeight,
            int outWidth) {
    }

    /** One dense layer's parameter views: W [in, out], b [1, out]. */
    private record Dense(String name, INDArray w, INDArray b, INDArray gw, INDArray gb) {
    }

    /**
     * Activations and their gradients for one batch size, kept between batches. The convolutions' are NHWC
     * [n, height, width, filters]; from the pooling on, NCHW (the order of DL4J's flattening, which the dense
     * layer's weights are in).
     */
    private static final class Buffers {
        final List<INDArray> conv = new ArrayList<>();
        final List<INDArray> convGrad = new ArrayList<>();
        /** The images in NHWC, for more than one channel (one channel's NCHW is NHWC already). */
        INDArray input;
        /** The batch's images as the first convolution read them (NHWC): the last forward pass's. */
        INDArray convInput;
        /** Each output position's input patch of the first convolution, for its weight gradient. */
        INDArray patches;
        INDArray inputGrad;
        INDArray pooled;
        INDArray pooledGrad;
        INDArray hidden;
        INDArray hiddenGrad;
        INDArray logits;
        INDArray logitsGrad;
    }

    OpsNetwork(ModelSpec spec, Hyperparameters hyperparameters, Kind kind, boolean featuresFrozen) {
        this(spec, hyperparameters, kind, featuresFrozen, false);
    }

    /**
     * @param scaledAdadelta with Adadelta, scale every step by the learning rate (which plain Adadelta ignores):
     *                       fine-tuning's smaller step; Adam uses its learning rate either way
     */
    OpsNetwork(ModelSpec spec, Hyperparameters hyperparameters, Kind kind, boolean featuresFrozen,
            boolean scaledAdadelta) {
        this.spec = spec;
        this.hyperparameters = hyperparameters;
        this.kind = kind;
        this.featuresFrozen = featuresFrozen && kind == Kind.FULL;
        long featureCount = 0;
        if (kind == Kind.FULL) {
            int in = spec.imageShape().channels();
            for (int f : spec.convFilters()) {
                featureCount += (long) f * in * spec.kernel() * spec.kernel() + f;
                in = f;
            }
        }
        long headCount = (long) spec.featureSize() * spec.denseUnits() + spec.denseUnits()
                + (long) spec.denseUnits() * spec.numClasses() + spec.numClasses();
        long total = featureCount + headCount;
        params = Nd4j.create(DataType.FLOAT, total);
        gradients = Nd4j.create(DataType.FLOAT, total);
        long offset = 0;
        if (kind == Kind.FULL) {
            int in = spec.imageShape().channels();
            int height = spec.imageShape().height();
            int width = spec.imageShape().width();
            for (int i = 0; i < spec.convFilters().size(); i++) {
                int out = spec.convFilters().get(i);
                long[] wShape = {out, in, spec.kernel(), spec.kernel()};
                long wLen = (long) out * in * spec.kernel() * spec.kernel();
                height -= spec.kernel() - 1;
                width -= spec.kernel() - 1;
                convs.add(new Conv(ModelSpec.convName(i), view(params, offset, wShape), view(params, offset + wLen, out),
                        view(gradients, offset, wShape), view(gradients, offset + wLen, out), out, height, width));
                directConvs.add(null);
                offset += wLen + out;
                in = out;
            }
        }
        long headStart = offset;
        dense = denseAt(ModelSpec.DENSE, offset, spec.featureSize(), spec.denseUnits());
        offset += (long) spec.featureSize() * spec.denseUnits() + spec.denseUnits();
        output = denseAt(ModelSpec.OUTPUT, offset, spec.denseUnits(), spec.numClasses());
        trainableStart = this.featuresFrozen ? headStart : 0;
        trainableParams = params.get(NDArrayIndex.interval(trainableStart, total));
        trainableGradients = gradients.get(NDArrayIndex.interval(trainableStart, total));
        initialise(hyperparameters.seed());
        IUpdater config = LayerApiNetworkFactory.updater(hyperparameters);
        if (config instanceof AdaDelta adaDelta) {
            updater = null;
            updaterState = null;
            adaDeltaRho = (float) adaDelta.getRho();
            adaDeltaEpsilon = (float) adaDelta.getEpsilon();
            adaDeltaStepScale = scaledAdadelta ? (float) hyperparameters.learningRate() : 1f;
            int blocks = Math.toIntExact((trainableParams.length() + DirectLoops.UPDATE_BLOCK - 1)
                    / DirectLoops.UPDATE_BLOCK);
            adaDeltaMsg = new float[blocks][DirectLoops.UPDATE_BLOCK];
            adaDeltaMsdx = new float[blocks][DirectLoops.UPDATE_BLOCK];
        } else {
            long stateSize = config.stateSize(trainableParams.length());
            INDArray state = stateSize == 0 ? null : Nd4j.zeros(DataType.FLOAT, 1, stateSize);
            updater = config.instantiate(state, true);
            updaterState = state;
            adaDeltaMsg = null;
            adaDeltaMsdx = null;
            adaDeltaRho = 0;
            adaDeltaEpsilon = 0;
            adaDeltaStepScale = 1f;
        }
        dropoutRandom = new SplittableRandom(hyperparameters.seed());
        updaterSection = "updater (" + hyperparameters.optimizer().id() + ")";
        // oneDNN's matmul driven directly takes the output layer's three products in 0.04 ms together (a batch of
        // 128, five classes), the Java loops in 0.3-0.4 ms
        narrowOutput = !products.direct() && NarrowProducts.suits(spec.numClasses());
        firstConvWeightsOnly = Im2colConvolution.suits(spec.imageShape().channels(), spec.kernel());
        int k = spec.kernel();
        // valid, NHWC activations, weights OIHW. NHWC because it is the layout that oneDNN's AVX-512 forward
        // convolutions (brgconv) choose for themselves: given NCHW, libnd4j reorders into it and back on every call
        // (the input, the output's stale contents, the output), a third of a featurizing batch's time. libnd4j's
        // backward passes choose a blocked layout and are reordered either way; oneDNN driven directly
        // (OneDnnConvolution) takes NHWC in both directions.
        convIArgs = new int[] {k, k, 1, 1, 0, 0, 1, 1, 0, 1, 1};
    }

    private Dense denseAt(String name, long offset, int in, int out) {
        long wLen = (long) in * out;
        return new Dense(name, view(params, offset, in, out), view(params, offset + wLen, 1, out),
                view(gradients, offset, in, out), view(gradients, offset + wLen, 1, out));
    }

    private static INDArray view(INDArray flat, long offset, long... shape) {
        long len = 1;
        for (long s : shape) {
            len *= s;
        }
        return flat.get(NDArrayIndex.interval(offset, offset + len)).reshape('c', shape);
    }

    /** Glorot-uniform weights and zero biases, as DL4J's XAVIER_UNIFORM, from a seeded stream. */
    private void initialise(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int k2 = spec.kernel() * spec.kernel();
        int in = spec.imageShape().channels();
        for (Conv c : convs) {
            fillUniform(c.w(), random, in * k2, c.out() * k2);
            c.b().assign(0);
            in = c.out();
        }
        fillUniform(dense.w(), random, spec.featureSize(), spec.denseUnits());
        dense.b().assign(0);
        fillUniform(output.w(), random, spec.denseUnits(), spec.numClasses());
        output.b().assign(0);
    }

    private static void fillUniform(INDArray target, SplittableRandom random, int fanIn, int fanOut) {
        double limit = Math.sqrt(6.0 / (fanIn + fanOut));
        float[] values = new float[(int) target.length()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * limit);
        }
        target.assign(Nd4j.create(values, target.shape(), 'c'));
    }

    @Override
    public ModelSpec spec() {
        return spec;
    }

    boolean featuresFrozen() {
        return featuresFrozen;
    }

    Kind kind() {
        return kind;
    }

    /** Records where this network's time goes from now on (bench/profile.sh); {@link LayerProfile#OFF} stops it. */
    synchronized void profile(LayerProfile profile) {
        this.profile = profile;
    }

    @Override
    public synchronized double fitBatch(DataSet batch) {
        long t = profile.start();
        INDArray x = contiguous(batch.getFeatures());
        INDArray y = contiguous(batch.getLabels());
        long n = x.size(0);
        Buffers b = buffersFor(n, true);
        t = profile.end("input", t);
        INDArray features = forward(x, b, true);
        t = profile.start();
        double loss = DirectLoops.crossEntropy(b.logits, y, b.logitsGrad);
        t = profile.end("loss: softmax cross-entropy and its gradient", t);
        // no zeroing of the gradients: every trainable gradient array is overwritten below (matmul, assign,
        // conv2d_bp write their outputs), and frozen ones are outside the updated range
        if (narrowOutput) {
            NarrowProducts.backward(b.hidden, b.logitsGrad, output.w(), output.gw(), b.hiddenGrad);
            DirectLoops.columnSums(b.logitsGrad, output.gb());
        } else {
            backwardDense(output, b.hidden, b.logitsGrad, b.hiddenGrad);
        }
        DirectLoops.reluBackward(b.hidden, b.hiddenGrad, (float) (1.0 / (1.0 - spec.denseDropout())));
        t = profile.end("output backward (weights, data) + dense ReLU/dropout backward", t);
        if (kind == Kind.FULL && !featuresFrozen) {
            INDArray featuresGrad = b.pooledGrad.reshape('c', n, spec.featureSize());
            backwardDense(dense, features, b.hiddenGrad, featuresGrad);
            t = profile.end("dense backward (weights, data)", t);
            int last = convs.size() - 1;
            float keep = (float) (1.0 - spec.convDropout());
            DirectLoops.maxPoolBackward(b.conv.get(last), b.pooled, b.pooledGrad, b.convGrad.get(last), spec.pool(),
                    1f / keep);
            t = profile.end("max pool + dropout + ReLU backward", t);
            for (int i = last; i >= 0; i--) {
                Conv c = convs.get(i);
                INDArray actGrad = b.convGrad.get(i);
                OneDnnConvolution direct = direct(i);
                if (i == 0 && firstConvWeightsOnly) {
                    // the input needs no gradient: weights and bias only
                    if (direct != null) {
                        if (i < last) {
                            DirectLoops.reluBackward(b.conv.get(i), actGrad, 1f);
                        }
                        direct.backward(b.convInput, c.w(), actGrad, null, c.gw(), c.gb());
                        t = profile.end(c.name() + " backward (ReLU, " + direct.backwardMethod() + ", NHWC)", t);
                    } else {
                        // the ReLU's backward done on the way
                        Im2colConvolution.backwardWeights(x, actGrad, i < last ? b.conv.get(i) : null, b.patches,
                                c.gw(), c.gb());
                        t = profile.end(c.name() + " backward (ReLU, weights: im2col + matmul)", t);
                    }
                    continue;
                }
                if (i < last) {
                    DirectLoops.reluBackward(b.conv.get(i), actGrad, 1f);
                    t = profile.end(c.name() + " ReLU backward", t);
                }
                INDArray input = i == 0 ? b.convInput : b.conv.get(i - 1);
                INDArray inputGrad = i == 0 ? b.inputGrad : b.convGrad.get(i - 1);
                if (direct != null) {
                    direct.backward(input, c.w(), actGrad, inputGrad, c.gw(), c.gb());
                    t = profile.end(c.name() + " backward (" + direct.backwardMethod() + ", NHWC)", t);
                } else {
                    exec("conv2d_bp", convIArgs, new INDArray[] {input, c.w(), c.b(), actGrad},
                            new INDArray[] {inputGrad, c.gw(), c.gb()});
                    t = profile.end(c.name() + " backward (data, weights: libnd4j conv2d_bp)", t);
                }
            }
        } else {
            backwardDense(dense, features, b.hiddenGrad, null);
            t = profile.end("dense backward (weights)", t);
        }
        if (updater == null) {
            DirectLoops.adaDelta(params, gradients, trainableStart, adaDeltaMsg, adaDeltaMsdx,
                    adaDeltaRho, adaDeltaEpsilon, adaDeltaStepScale);
        } else {
            updater.applyUpdater(trainableGradients, iteration, 0);
            trainableParams.subi(trainableGradients);
        }
        profile.end(updaterSection, t);
        iteration++;
        return loss;
    }

    /**
     * Convolution i through oneDNN's primitives ({@link OneDnnConvolution}), created on its first use; null where that
     * library did not load (libnd4j's conv2d and conv2d_bp then).
     */
    private OneDnnConvolution direct(int i) {
        if (!OneDnnConvolution.available()) {
            return null;
        }
        OneDnnConvolution direct = directConvs.get(i);
        if (direct == null) {
            int in = i == 0 ? spec.imageShape().channels() : convs.get(i - 1).out();
            int height = i == 0 ? spec.imageShape().height() : convs.get(i - 1).outHeight();
            int width = i == 0 ? spec.imageShape().width() : convs.get(i - 1).outWidth();
            // the last convolution's ReLU is the pooling's; the others' a post-op of their forward pass
            direct = new OneDnnConvolution(in, convs.get(i).out(), spec.kernel(), height, width,
                    i > 0 || !firstConvWeightsOnly, i < convs.size() - 1);
            directConvs.set(i, direct);
        }
        return direct;
    }

    /** dL/dW = inputᵀ·grad, dL/db = Σ grad, and dL/dinput = grad·Wᵀ when {@code inputGrad} is given. */
    private void backwardDense(Dense layer, INDArray input, INDArray grad, INDArray inputGrad) {
        products.multiply(input, grad, layer.gw(), true, false);
        DirectLoops.columnSums(grad, layer.gb());
        if (inputGrad != null) {
            products.multiply(grad, layer.w(), inputGrad, false, true);
        }
    }

    /**
     * Runs the forward pass into the buffers; returns the flattened features [n, featureSize] (for a head-only
     * network: its input). The class probabilities end in {@code b.logits}.
     */
    private INDArray forward(INDArray x, Buffers b, boolean training) {
        long n = x.size(0);
        INDArray features;
        if (kind == Kind.FULL) {
            convolveAndPool(x, b, training && !featuresFrozen);
            long t = profile.start();
            // frozen feature layers run in inference mode, as DL4J's FrozenLayer and the featurized path do
            if (training && !featuresFrozen) {
                dropout(b.pooled, spec.convDropout());
                profile.end("conv dropout forward", t);
            }
            features = b.pooled.reshape('c', n, spec.featureSize());
        } else {
            features = x;
        }
        long t = profile.start();
        products.multiply(features, dense.w(), b.hidden, false, false);
        DirectLoops.biasReluDropout(b.hidden, dense.b(), training ? 1.0 - spec.denseDropout() : 1.0, dropoutRandom);
        t = profile.end("dense forward (+ bias, ReLU, dropout)", t);
        if (narrowOutput) {
            NarrowProducts.forward(b.hidden, output.w(), b.logits);
        } else {
            products.multiply(b.hidden, output.w(), b.logits, false, false);
        }
        DirectLoops.biasSoftmax(b.logits, output.b());
        profile.end("output forward (+ bias, softmax)", t);
        return features;
    }

    /**
     * The feature layers up to the pooling (no dropout): convolutions with ReLU into the buffers, then
     * pooling. The last convolution's buffer keeps its output before the ReLU, which the pooling applies.
     * On NHWC activations. Where no backward pass follows ({@code gradients} false) and the last convolution
     * can ({@link #poolsOnTheWay}), it pools its own outputs as it makes them and its buffer is not written.
     */
    private void convolveAndPool(INDArray x, Buffers b, boolean gradients) {
        INDArray in = x;
        int last = convs.size() - 1;
        long t = profile.start();
        ImageShape shape = spec.imageShape();
        if (shape.channels() == 1) {
            in = x.reshape('c', x.size(0), shape.height(), shape.width(), 1);
        } else {
            // x is dense float32 in C order: every caller takes it through contiguous()
            DirectLoops.toChannelsLast(x, b.input);
            t = profile.end("input to NHWC", t);
            in = b.input;
        }
        b.convInput = in;
        for (int i = 0; i <= last; i++) {
            Conv c = convs.get(i);
            INDArray out = b.conv.get(i);
            OneDnnConvolution direct = direct(i);
            if (i == last && !gradients && poolsOnTheWay()) {
                direct.forwardPooled(in, c.w(), c.b(), b.pooled);
                profile.end(c.name() + " forward + ReLU + max pool (Winograd F(4x4, 3x3), oneDNN products, pooled on"
                        + " the way)", t);
                return;
            }
            if (direct != null) {
                direct.forward(in, c.w(), c.b(), out);
                t = profile.end(c.name() + (i < last ? " forward + ReLU" : " forward") + " (" + direct.forwardMethod()
                        + ", NHWC)", t);
            } else {
                exec("conv2d", convIArgs, new INDArray[] {in, c.w(), c.b()}, new INDArray[] {out});
                t = profile.end(c.name() + " forward (libnd4j conv2d)", t);
                if (i < last) {
                    Transforms.relu(out, false);
                    t = profile.end(c.name() + " ReLU", t);
                }
            }
            in = out;
        }
        DirectLoops.reluMaxPool(in, b.pooled, spec.pool());
        profile.end("ReLU + max pool forward", t);
    }

    /**
     * Whether inference pools the last convolution's outputs on the way ({@link OneDnnConvolution#forwardPooled}):
     * 2x2 pooling and a last convolution that can. The reference network's featurizing of 30,000 Fashion-MNIST
     * images on a 2-core AVX2 machine (two one-thread pipelines, batches of 256): 2.8-3.3 s against 4.3-4.9 s by
     * oneDNN's convolution and the pooling loop (three interleaved pairs, compiled code), the pooling's pass over
     * 19 MB of convolution output per batch gone with the output itself.
     */
    private boolean poolsOnTheWay() {
        OneDnnConvolution direct = direct(convs.size() - 1);
        return spec.pool() == 2 && direct != null && direct.poolsOnTheWay();
    }

    private static void dropout(INDArray x, double rate) {
        if (rate > 0) {
            Nd4j.getExecutioner().exec(new DropOutInverted(x, x, 1.0 - rate), Nd4j.getRandom());
        }
    }

    private static void exec(String op, int[] iArgs, INDArray[] inputs, INDArray[] outputs, Double... tArgs) {
        DynamicCustomOp.DynamicCustomOpsBuilder builder = DynamicCustomOp.builder(op)
                .addInputs(inputs)
                .addOutputs(outputs)
                .addIntegerArguments(iArgs);
        if (tArgs.length > 0) {
            builder.addFloatingPointArguments(tArgs);
        }
        Nd4j.exec(builder.build());
    }

    /** Float32 laid out densely in C order (a view of whole rows is; it is used in place). */
    private static INDArray contiguous(INDArray a) {
        INDArray f = a.dataType() == DataType.FLOAT ? a : a.castTo(DataType.FLOAT);
        return f.ordering() == 'c' && f.elementWiseStride() == 1 ? f : f.dup('c');
    }

    private Buffers buffersFor(long n, boolean training) {
        // inference needs no gradient buffers: keyed apart, so that evaluating in large batches stays lean
        return buffers.computeIfAbsent(training ? n : -n, key -> allocate(n, training));
    }

    private Buffers allocate(long n, boolean training) {
        boolean gradients = training && !featuresFrozen;
        Buffers b = new Buffers();
        if (kind == Kind.FULL) {
            boolean pooledOnTheWay = !gradients && poolsOnTheWay();
            for (Conv c : convs) {
                // none for a last convolution that pools on the way: nothing reads its output
                boolean unread = pooledOnTheWay && c == convs.get(convs.size() - 1);
                b.conv.add(unread ? null : Nd4j.create(DataType.FLOAT, n, c.outHeight(), c.outWidth(), c.out()));
                b.convGrad.add(!gradients ? null : Nd4j.create(DataType.FLOAT, n, c.outHeight(), c.outWidth(), c.out()));
            }
            if (spec.imageShape().channels() > 1) {
                b.input = Nd4j.create(DataType.FLOAT, n, spec.imageShape().height(), spec.imageShape().width(),
                        spec.imageShape().channels());
            }
            int[] pooled = spec.pooledSize();
            int channels = spec.convFilters().get(spec.convFilters().size() - 1);
            b.pooled = Nd4j.create(DataType.FLOAT, n, channels, pooled[0], pooled[1]);
            if (gradients) {
                b.pooledGrad = Nd4j.create(DataType.FLOAT, n, channels, pooled[0], pooled[1]);
                // conv2d_bp's gradient of the input, which nothing reads; none when the first layer's backward is
                // im2col's
                Conv first = convs.get(0);
                b.patches = !firstConvWeightsOnly || OneDnnConvolution.available() ? null : Nd4j.create(DataType.FLOAT, n * first.outHeight()
                        * first.outWidth() * spec.imageShape().channels() * spec.kernel() * spec.kernel());
                b.inputGrad = firstConvWeightsOnly ? null : Nd4j.create(DataType.FLOAT, n, spec.imageShape().height(),
                        spec.imageShape().width(), spec.imageShape().channels());
            }
        }
        b.hidden = Nd4j.create(DataType.FLOAT, n, spec.denseUnits());
        b.logits = Nd4j.create(DataType.FLOAT, n, spec.numClasses());
        if (training) {
            b.hiddenGrad = Nd4j.create(DataType.FLOAT, n, spec.denseUnits());
            b.logitsGrad = Nd4j.create(DataType.FLOAT, n, spec.numClasses());
        }
        return b;
    }

    @Override
    public synchronized INDArray output(INDArray features) {
        INDArray x = contiguous(features);
        Buffers b = buffersFor(x.size(0), false);
        forward(x, b, false);
        return b.logits.dup();
    }

    @Override
    public synchronized INDArray featureActivations(INDArray images) {
        // a copy: the buffer is reused by the next batch
        return pooledFeatures(images).dup('c');
    }

    @Override
    public synchronized void featureActivations(INDArray images, INDArray target) {
        // straight from the buffer into the target (featurizing: a float16 slice), no copy in between
        INDArray pooled = pooledFeatures(images);
        long t = profile.start();
        target.assign(pooled);
        profile.end("store features (" + target.dataType().name().toLowerCase(java.util.Locale.ROOT) + ")", t);
    }

    /** The pooled feature maps of a batch, flattened in the C order the head reads: a view of a reused buffer. */
    private INDArray pooledFeatures(INDArray images) {
        if (kind != Kind.FULL) {
            throw new UnsupportedOperationException("a head-only network has no feature layers");
        }
        INDArray x = contiguous(images);
        long n = x.size(0);
        Buffers b = buffersFor(n, false);
        convolveAndPool(x, b, false);
        return b.pooled.reshape('c', n, spec.featureSize());
    }

    @Override
    public synchronized Map<String, Map<String, float[]>> parameters(Iterable<String> layers) {
        Map<String, Map<String, float[]>> out = new LinkedHashMap<>();
        for (String name : layers) {
            INDArray[] wb = arrays(name);
            Map<String, float[]> arrays = new LinkedHashMap<>();
            arrays.put("W", wb[0].dup('c').data().asFloat());
            arrays.put("b", wb[1].dup('c').data().asFloat());
            out.put(name, arrays);
        }
        return out;
    }

    @Override
    public synchronized void setParameters(Map<String, Map<String, float[]>> values) {
        for (var layer : values.entrySet()) {
            INDArray[] wb = arrays(layer.getKey());
            for (var entry : layer.getValue().entrySet()) {
                INDArray target = switch (entry.getKey()) {
                    case "W" -> wb[0];
                    case "b" -> wb[1];
                    default -> throw new IllegalArgumentException("layer " + layer.getKey() + " has no parameter "
                            + entry.getKey());
                };
                float[] v = entry.getValue();
                if (v.length != target.length()) {
                    throw new IllegalArgumentException("parameter " + layer.getKey() + "." + entry.getKey()
                            + " needs " + target.length() + " values, got " + v.length);
                }
                target.assign(Nd4j.create(v, target.shape(), 'c'));
            }
        }
    }

    private INDArray[] arrays(String layer) {
        if (ModelSpec.DENSE.equals(layer)) {
            return new INDArray[] {dense.w(), dense.b()};
        }
        if (ModelSpec.OUTPUT.equals(layer)) {
            return new INDArray[] {output.w(), output.b()};
        }
        for (Conv c : convs) {
            if (c.name().equals(layer)) {
                return new INDArray[] {c.w(), c.b()};
            }
        }
        throw new IllegalArgumentException("no layer named " + layer + " in this " + kind + " network");
    }

    /** All layers with parameters, features first. */
    List<String> layerNames() {
        List<String> names = new ArrayList<>();
        convs.forEach(c -> names.add(c.name()));
        names.addAll(spec.headLayers());
        return names;
    }

    @Override
    public ModelSummary summary() {
        List<LayerSummary> rows = new ArrayList<>();
        int channels = spec.imageShape().channels();
        if (kind == Kind.FULL) {
            for (Conv c : convs) {
                long count = (long) c.out() * channels * spec.kernel() * spec.kernel() + c.out();
                rows.add(new LayerSummary(c.name(), "Conv2D", List.of(c.out(), c.outHeight(), c.outWidth()), count,
                        !featuresFrozen));
                channels = c.out();
            }
            int[] pooled = spec.pooledSize();
            rows.add(new LayerSummary("pool", "MaxPool2D", List.of(channels, pooled[0], pooled[1]), 0, !featuresFrozen));
            rows.add(new LayerSummary("conv-dropout", "Dropout", List.of(channels, pooled[0], pooled[1]), 0,
                    !featuresFrozen));
            rows.add(new LayerSummary("flatten", "Flatten", List.of(spec.featureSize()), 0, true));
        }
        rows.add(new LayerSummary(ModelSpec.DENSE, "Dense", List.of(spec.denseUnits()),
                (long) spec.featureSize() * spec.denseUnits() + spec.denseUnits(), true));
        rows.add(new LayerSummary("dense-dropout", "Dropout", List.of(spec.denseUnits()), 0, true));
        rows.add(new LayerSummary(ModelSpec.OUTPUT, "Softmax", List.of(spec.numClasses()),
                (long) spec.denseUnits() * spec.numClasses() + spec.numClasses(), true));
        return ModelSummary.of(rows);
    }

    /**
     * Writes a DL4J model zip (the layer-API network with these parameters), so that a saved model stays
     * readable by DL4J itself; the updater state is not kept.
     */
    @Override
    public synchronized void save(OutputStream out) throws IOException {
        if (kind != Kind.FULL) {
            throw new UnsupportedOperationException("only full networks are saved");
        }
        LayerApiNetworkFactory layers = new LayerApiNetworkFactory();
        Map<String, Map<String, float[]>> all = parameters(layerNames());
        Network twin = featuresFrozen ? layers.withFrozenFeatures(spec, hyperparameters, all)
                : layers.create(spec, hyperparameters);
        twin.setParameters(all);
        twin.save(out);
    }

    @Override
    public synchronized void reseed() {
        reseed(hyperparameters.seed());
    }

    @Override
    public synchronized void reseed(long seed) {
        // the convolutions' dropout draws from ND4J's (thread-local) stream, the dense layer's from our own
        Nd4j.getRandom().setSeed(seed);
        dropoutRandom = new SplittableRandom(seed);
    }

    static final String IMPLEMENTATION = "ops";

    private String structure() {
        return kind == Kind.HEAD_ONLY ? NetworkState.HEAD_ONLY
                : featuresFrozen ? NetworkState.FULL_FROZEN_FEATURES : NetworkState.FULL;
    }

    /**
     * Parameters as {@code param/<layer>/<key>}; Adadelta's state as {@code updater/adadelta/msg} and
     * {@code updater/adadelta/msdx}, Adam's as {@code updater/adam/m} and {@code updater/adam/v}, each [trainable
     * parameters] in the order of the flat parameter array (features first, frozen ones left out).
     */
    @Override
    public synchronized NetworkState state() {
        List<NetworkState.Array> arrays = new ArrayList<>();
        Map<String, Map<String, List<Integer>>> shapes = spec.parameterShapes();
        for (String layer : layerNames()) {
            INDArray[] wb = arrays(layer);
            List<String> keys = List.of("W", "b");
            for (int i = 0; i < 2; i++) {
                long[] shape = shapes.get(layer).get(keys.get(i)).stream().mapToLong(Integer::longValue).toArray();
                arrays.add(NetworkState.Array.wrap(NetworkState.parameterName(layer, keys.get(i)), shape,
                        wb[i].dup('c').data().asFloat()));
            }
        }
        long trainable = trainableParams.length();
        if (updater == null) {
            arrays.add(NetworkState.Array.wrap("updater/adadelta/msg", new long[] {trainable},
                    unblock(adaDeltaMsg, trainable)));
            arrays.add(NetworkState.Array.wrap("updater/adadelta/msdx", new long[] {trainable},
                    unblock(adaDeltaMsdx, trainable)));
        } else {
            requireAdamState();
            arrays.add(NetworkState.Array.wrap("updater/adam/m", new long[] {trainable},
                    updaterState.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, trainable)).dup('c').data()
                            .asFloat()));
            arrays.add(NetworkState.Array.wrap("updater/adam/v", new long[] {trainable},
                    updaterState.get(NDArrayIndex.point(0), NDArrayIndex.interval(trainable, 2 * trainable))
                            .dup('c').data().asFloat()));
        }
        return new NetworkState(IMPLEMENTATION, structure(), spec, hyperparameters, iteration, arrays);
    }

    @Override
    public synchronized void restoreState(NetworkState state) {
        state.requireCompatibleWith(state());
        // frozen parameters first: a mismatch throws before anything changed
        if (featuresFrozen) {
            for (String layer : spec.featureLayers()) {
                INDArray[] wb = arrays(layer);
                List<String> keys = List.of("W", "b");
                for (int i = 0; i < 2; i++) {
                    float[] mine = wb[i].dup('c').data().asFloat();
                    float[] theirs = state.array(NetworkState.parameterName(layer, keys.get(i))).toFloatArray();
                    if (!java.util.Arrays.equals(mine, theirs)) {
                        throw new IllegalArgumentException("frozen parameter " + layer + "." + keys.get(i)
                                + " differs from the state's: the state belongs to a network on other features");
                    }
                }
            }
        }
        for (String layer : layerNames()) {
            if (featuresFrozen && spec.featureLayers().contains(layer)) {
                continue;
            }
            INDArray[] wb = arrays(layer);
            wb[0].assign(Nd4j.create(state.array(NetworkState.parameterName(layer, "W")).toFloatArray(),
                    wb[0].shape(), 'c'));
            wb[1].assign(Nd4j.create(state.array(NetworkState.parameterName(layer, "b")).toFloatArray(),
                    wb[1].shape(), 'c'));
        }
        long trainable = trainableParams.length();
        if (updater == null) {
            block(state.array("updater/adadelta/msg").toFloatArray(), adaDeltaMsg);
            block(state.array("updater/adadelta/msdx").toFloatArray(), adaDeltaMsdx);
        } else {
            requireAdamState();
            updaterState.get(NDArrayIndex.point(0), NDArrayIndex.interval(0, trainable))
                    .assign(Nd4j.create(state.array("updater/adam/m").toFloatArray(), new long[] {trainable}, 'c'));
            updaterState.get(NDArrayIndex.point(0), NDArrayIndex.interval(trainable, 2 * trainable))
                    .assign(Nd4j.create(state.array("updater/adam/v").toFloatArray(), new long[] {trainable}, 'c'));
        }
        iteration = Math.toIntExact(state.iterations());
    }

    private void requireAdamState() {
        if (updaterState == null || updaterState.length() != 2 * trainableParams.length()) {
            throw new UnsupportedOperationException("the state of updater " + hyperparameters.optimizer()
                    + " is not laid out as Adam's (m, v)");
        }
    }

    private static float[] unblock(float[][] blocks, long length) {
        float[] out = new float[Math.toIntExact(length)];
        for (int b = 0; b < blocks.length; b++) {
            int at = b * DirectLoops.UPDATE_BLOCK;
            System.arraycopy(blocks[b], 0, out, at, Math.min(DirectLoops.UPDATE_BLOCK, out.length - at));
        }
        return out;
    }

    private static void block(float[] values, float[][] blocks) {
        for (int b = 0; b < blocks.length; b++) {
            int at = b * DirectLoops.UPDATE_BLOCK;
            int n = Math.min(DirectLoops.UPDATE_BLOCK, values.length - at);
            System.arraycopy(values, at, blocks[b], 0, n);
            java.util.Arrays.fill(blocks[b], n, DirectLoops.UPDATE_BLOCK, 0f);
        }
    }
}
