package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.util.LinkedHashMap;
import java.util.Map;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A valid, stride-1 convolution on NHWC activations through oneDNN's own primitives (JavaCPP's {@code dnnl} preset,
 * the oneDNN version libnd4j M2.1 links in): the forward pass, with the ReLU as a post-op where the layer has its
 * own, and the backward pass (the input's gradient, where the layer needs it, the weights' and the bias').
 *
 * <p>Why not libnd4j's {@code conv2d} and {@code conv2d_bp}: handed "any" layouts, {@code conv2d_bp} lets oneDNN
 * pick blocked ones and reorders the input, the output's gradient and both results between them and NHWC on every
 * call, and both do work of their own around the primitives (creating them on every call among it). Here the
 * primitives are asked for NHWC throughout, which oneDNN's JIT kernels take as they are, and are created once per
 * batch size; only the weights (a few hundred kilobytes at most) are reordered into the kernels' layout and the
 * weight gradient back to OIHW. The reference network's second convolution, batch 128: backward 21-26 ms against
 * 25-35 ms for {@code conv2d_bp} (best of 30, interleaved, same results within float32 summation order); the
 * first layer's weights-only backward 6-8 ms against 9-11 for im2col + a product.
 *
 * <p>Where {@link #winograd} says so, a layer that suits it goes by Winograd's minimal filtering instead, its products
 * through this library's matmul: the forward pass and the input's gradient by {@link WinogradConvolution} (64
 * channels and more), the weights' and the bias' gradients by {@link WinogradWeightGradient} (32 and more), and
 * inference through a last layer that the 2x2 pooling follows by {@link #forwardPooled} (32 and more: the pooling
 * done on each tile's outputs, the layer's output never written).
 *
 * <p>Both oneDNN copies (libnd4j's, linked in, and this one) share the process's one OpenMP runtime (libnd4j's
 * libgomp, which the preset's library finds loaded), so the two do not bring two thread pools, and a featurizing
 * pipeline's thread limit ({@link NativeBackend#limitCurrentThread}) holds for both. Not thread-safe: the owning
 * network's methods are synchronized.
 */
final class OneDnnConvolution {

    private static final Logger LOG = LoggerFactory.getLogger(OneDnnConvolution.class);
    private static final int MAX_CACHED_SHAPES = 4;
    private static volatile Boolean available;

    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int inHeight;
    private final int inWidth;
    /** Whether the input's gradient is computed too (not for a first layer, whose input is the images). */
    private final boolean inputGradient;
    /** Whether the forward pass applies the ReLU (a post-op of the convolution) to its output. */
    private final boolean forwardRelu;
    private final engine engine;
    private final stream stream;
    /**
     * Whether this layer's forward pass and input gradient go by Winograd's minimal filtering, and whether its weight
     * gradient does ({@link #winograd}, {@link WinogradConvolution#suits}, {@link WinogradWeightGradient#suits}).
     */
    private final boolean winograd;
    private final boolean winogradWeights;
    /** Whether {@link #forwardPooled} runs: inference by Winograd with the pooling on the way. */
    private final boolean winogradPooled;
    /**
     * Its forward pass, input gradient and weight gradient that way, each made on its first use (a featurizing
     * replica never runs a backward pass); null otherwise.
     */
    private WinogradConvolution winogradForward;
    private WinogradConvolution winogradInputGradient;
    private WinogradWeightGradient winogradWeightGradient;
    private final Map<Long, Backward> backwardByBatch = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Backward> eldest) {
            return size() > MAX_CACHED_SHAPES;
        }
    };
    private final Map<Long, Forward> forwardByBatch = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Forward> eldest) {
            return size() > MAX_CACHED_SHAPES;
        }
    };

    /** One batch size's forward primitive and its memory objects. */
    private record Forward(convolution_forward primitive, IntMemoryMap args, memory input, memory plainWeights,
            memory kernelWeights, reorder toKernelWeights, memory bias, memory output) {
    }

    /**
     * One batch size's primitives, with memory objects whose data handles are pointed at each call's arrays; those of
     * the input's gradient (backwardData to toKernelWeights) null without it.
     */
    private record Backward(convolution_backward_data backwardData, convolution_backward_weights backwardWeights,
            IntMemoryMap dataArgs, IntMemoryMap weightArgs, memory input, memory outputGrad, memory inputGrad,
            memory plainWeights, memory kernelWeights, reorder toKernelWeights, memory kernelWeightGrad,
            memory plainWeightGrad, reorder toPlainWeightGrad, memory biasGrad) {
    }

    /**
     * @param inputGradient whether {@link #backward} computes the input's gradient (not for a first layer)
     * @param forwardRelu   whether {@link #forward} applies the ReLU to its output (not for a layer the pooling,
     *                      which applies it on the way, follows)
     */
    OneDnnConvolution(int inChannels, int outChannels, int kernel, int inHeight, int inWidth, boolean inputGradient,
            boolean forwardRelu) {
        this.inputGradient = inputGradient;
        this.forwardRelu = forwardRelu;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.inHeight = inHeight;
        this.inWidth = inWidth;
        this.engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
        this.stream = new stream(engine);
        boolean chosen = winograd();
        this.winograd = chosen && WinogradConvolution.suits(inChannels, outChannels, kernel);
        this.winogradWeights = chosen && WinogradWeightGradient.suits(inChannels, outChannels, kernel,
                NativeBackend.ONEDNN_AVX512.equals(NativeBackend.configure()));
        this.winogradPooled = chosen && !forwardRelu
                && WinogradConvolution.suitsPooled(inChannels, outChannels, kernel);
    }

    /**
     * Whether layers that suit it ({@link WinogradConvolution#suits}, {@link WinogradWeightGradient#suits}) go by
     * Winograd's minimal filtering, forward, backward and in pooled inference:
     * {@code -Dfeaturerelay.winograd=true|false}, by default on both of libnd4j's oneDNN builds. Measured on each: on
     * AVX2, where oneDNN 2.5 has no Winograd kernel, in round 2's earlier passes (README); on AVX-512 (a Zen 5 EPYC,
     * the tenth pass) the CIFAR-10 variant's 64 -> 64 backward in 34-38 against 46-53 ms a batch of 128, featurizing
     * Fashion-MNIST 1.1-1.3x faster. Not on the generic build, where it was never measured.
     */
    static boolean winograd() {
        String setting = System.getProperty("featurerelay.winograd", "auto");
        if (!setting.equals("auto")) {
            return Boolean.parseBoolean(setting);
        }
        String build = NativeBackend.configure();
        return NativeBackend.ONEDNN_AVX2.equals(build) || NativeBackend.ONEDNN_AVX512.equals(build);
    }

    /** Whether {@link #forwardPooled} may be called. */
    boolean poolsOnTheWay() {
        return winogradPooled;
    }

    /**
     * Inference: {@code pooled = maxPool2x2(relu(conv(input) + bias))} by Winograd, the convolution's output never
     * written ({@link WinogradConvolution#forwardPooled}); input [n, h, w, c] NHWC, pooled [n, o, (h-k+1)/2,
     * (w-k+1)/2] NCHW. Only where {@link #poolsOnTheWay}.
     */
    void forwardPooled(INDArray input, INDArray weights, INDArray bias, INDArray pooled) {
        if (!winogradPooled) {
            throw new IllegalStateException("this layer does not pool on the way");
        }
        checkForward(input, weights, bias);
        winogradForward().forwardPooled(input, weights, bias, pooled);
    }

    /** A forward pass's input, weights and bias checked against this layer's shapes. */
    private void checkForward(INDArray input, INDArray weights, INDArray bias) {
        check(input, input.size(0), inHeight, inWidth, inChannels);
        check(weights, outChannels, inChannels, kernel, kernel);
        if (bias.length() != outChannels || !dense(bias)) {
            throw new IllegalArgumentException("bias of " + outChannels + " expected");
        }
    }

    private WinogradConvolution winogradForward() {
        if (winogradForward == null) {
            winogradForward = WinogradConvolution.forwardPass(inChannels, outChannels, inHeight, inWidth, forwardRelu);
        }
        return winogradForward;
    }

    /** How {@link #forward} computes, for profiles. */
    String forwardMethod() {
        return winograd ? "Winograd F(4x4, 3x3), oneDNN products" : "oneDNN primitive";
    }

    /** How {@link #backward} computes, for profiles. */
    String backwardMethod() {
        String weights = winogradWeights ? "weights: Winograd, oneDNN products" : "weights: oneDNN primitive";
        if (!inputGradient) {
            return weights;
        }
        return (winograd ? "data: Winograd, oneDNN products" : "data: oneDNN primitive") + "; " + weights;
    }

    /**
     * Whether oneDNN's own library loads here (once per JVM); when it does not, the network keeps libnd4j's
     * {@code conv2d} and {@code conv2d_bp} (and {@code Nd4j.matmul}, {@link OneDnnProducts}). Off with
     * {@code -Dfeaturerelay.onednn.direct=false}.
     */
    static boolean available() {
        Boolean known = available;
        if (known == null) {
            synchronized (OneDnnConvolution.class) {
                known = available;
                if (known == null) {
                    known = load();
                    available = known;
                }
            }
        }
        return known;
    }

    private static boolean load() {
        if (!Boolean.parseBoolean(System.getProperty("featurerelay.onednn.direct", "true"))) {
            LOG.info("oneDNN driven directly: off (featurerelay.onednn.direct=false); conv2d_bp");
            return false;
        }
        try {
            org.bytedeco.dnnl.dnnl_version_t version = dnnl.dnnl_version();
            LOG.info("oneDNN {}.{}.{} driven directly for the convolutions and the dense layers' products; 3x3"
                    + " convolutions by Winograd's minimal filtering (64+ channels; weight gradients 32+ on AVX2,"
                    + " 64+ on AVX-512; pooled inference 32+): {}",
                    version.major(), version.minor(), version.patch(),
                    winograd() ? "on" : "off (featurerelay.winograd)");
            return true;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            LOG.warn("oneDNN's own library did not load ({}); the convolutions and products stay libnd4j's",
                    e.toString());
            return false;
        }
    }

    /**
     * {@code output = conv(input, weights) + bias}, then the ReLU when made so: input [n, h, w, c] NHWC, weights
     * [o, c, k, k] OIHW, bias [o], output [n, h-k+1, w-k+1, o] NHWC.
     */
    void forward(INDArray input, INDArray weights, INDArray bias, INDArray output) {
        long n = input.size(0);
        checkForward(input, weights, bias);
        check(output, n, inHeight - kernel + 1, inWidth - kernel + 1, outChannels);
        if (winograd) {
            winogradForward().forward(input, weights, bias, output);
            return;
        }
        Forward f = forwardByBatch.computeIfAbsent(n, this::createForward);
        f.input().set_data_handle(address(input));
        f.plainWeights().set_data_handle(address(weights));
        f.bias().set_data_handle(address(bias));
        f.output().set_data_handle(address(output));
        if (f.toKernelWeights() != null) {
            f.toKernelWeights().execute(stream, f.plainWeights(), f.kernelWeights());
        }
        f.primitive().execute(stream, f.args());
        stream._wait();
        // the data handles hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(input);
        Reference.reachabilityFence(weights);
        Reference.reachabilityFence(bias);
        Reference.reachabilityFence(output);
    }

    /**
     * Gradients of {@code out = conv(in, w) + b}: input [n, h, w, c] NHWC, w [o, c, k, k] OIHW, outputGrad
     * [n, h-k+1, w-k+1, o] NHWC; writes inputGrad (as input; null, and not computed, for an instance made without
     * the input's gradient), weightGrad (as w) and biasGrad [o]. Every array dense in C order (views at an offset
     * of a flat parameter array are).
     */
    void backward(INDArray input, INDArray weights, INDArray outputGrad, INDArray inputGrad, INDArray weightGrad,
            INDArray biasGrad) {
        long n = input.size(0);
        check(input, n, inHeight, inWidth, inChannels);
        if (inputGradient) {
            check(inputGrad, n, inHeight, inWidth, inChannels);
        } else if (inputGrad != null) {
            throw new IllegalArgumentException("made without the input's gradient");
        }
        check(outputGrad, n, inHeight - kernel + 1, inWidth - kernel + 1, outChannels);
        check(weights, outChannels, inChannels, kernel, kernel);
        check(weightGrad, outChannels, inChannels, kernel, kernel);
        if (biasGrad.length() != outChannels || !dense(biasGrad)) {
            throw new IllegalArgumentException("bias gradient of " + outChannels + " expected");
        }
        if (!winogradWeights) {
            Backward p = primitives(n, input, weights, outputGrad, inputGrad, weightGrad, biasGrad);
            if (inputGradient) {
                inputGradientByPrimitive(p);
            }
            p.backwardWeights().execute(stream, p.weightArgs());
            if (p.toPlainWeightGrad() != null) {
                p.toPlainWeightGrad().execute(stream, p.kernelWeightGrad(), p.plainWeightGrad());
            }
            stream._wait();
            // the data handles primitives() set hold no reference to the arrays (ND4J frees unreachable arrays' memory)
            Reference.reachabilityFence(input);
            Reference.reachabilityFence(weights);
            Reference.reachabilityFence(outputGrad);
            Reference.reachabilityFence(inputGrad);
            Reference.reachabilityFence(weightGrad);
            Reference.reachabilityFence(biasGrad);
            return;
        }
        if (inputGradient) {
            if (winograd) {
                if (winogradInputGradient == null) {
                    winogradInputGradient = WinogradConvolution.inputGradientPass(inChannels, outChannels, inHeight,
                            inWidth);
                }
                winogradInputGradient.inputGradient(outputGrad, weights, inputGrad);
            } else {
                inputGradientByPrimitive(primitives(n, input, weights, outputGrad, inputGrad, weightGrad, biasGrad));
                stream._wait();
            }
        }
        if (winogradWeightGradient == null) {
            winogradWeightGradient = new WinogradWeightGradient(inChannels, outChannels, inHeight, inWidth);
        }
        winogradWeightGradient.backward(input, outputGrad, weightGrad, biasGrad);
        // as above, for the input's gradient by the primitive (the other arrays are kept by the call just made)
        Reference.reachabilityFence(weights);
        Reference.reachabilityFence(inputGrad);
    }

    /**
     * The batch size's backward primitives, their memory objects pointed at this call's arrays, which the caller
     * keeps reachable ({@link Reference#reachabilityFence}) until the stream has finished with them.
     */
    private Backward primitives(long n, INDArray input, INDArray weights, INDArray outputGrad, INDArray inputGrad,
            INDArray weightGrad, INDArray biasGrad) {
        Backward p = backwardByBatch.computeIfAbsent(n, this::createBackward);
        p.input().set_data_handle(address(input));
        p.outputGrad().set_data_handle(address(outputGrad));
        p.plainWeightGrad().set_data_handle(address(weightGrad));
        p.biasGrad().set_data_handle(address(biasGrad));
        if (inputGradient) {
            p.inputGrad().set_data_handle(address(inputGrad));
            p.plainWeights().set_data_handle(address(weights));
        }
        return p;
    }

    /** The input's gradient by the backward-data primitive (the caller waits on the stream). */
    private void inputGradientByPrimitive(Backward p) {
        if (p.toKernelWeights() != null) {
            p.toKernelWeights().execute(stream, p.plainWeights(), p.kernelWeights());
        }
        p.backwardData().execute(stream, p.dataArgs());
    }

    private Forward createForward(long n) {
        Shapes d = shapes(n);
        primitive_attr attributes = new primitive_attr();
        if (forwardRelu) {
            post_ops ops = new post_ops();
            ops.append_eltwise(1f, dnnl.algorithm.eltwise_relu, 0f, 0f);
            attributes.set_post_ops(ops);
        }
        convolution_forward.primitive_desc desc = new convolution_forward.primitive_desc(
                new convolution_forward.desc(dnnl.prop_kind.forward_inference, dnnl.algorithm.convolution_direct,
                        d.input(), d.anyWeights(), d.bias(), d.output(), d.strides(), d.padding(), d.padding()),
                attributes, engine);
        memory input = new memory(d.input(), engine, (Pointer) null);
        memory plainWeights = new memory(d.plainWeights(), engine, (Pointer) null);
        memory bias = new memory(d.bias(), engine, (Pointer) null);
        memory output = new memory(d.output(), engine, (Pointer) null);
        boolean weightsPlain = desc.weights_desc().equals(d.plainWeights());
        memory kernelWeights = weightsPlain ? plainWeights : new memory(desc.weights_desc(), engine);
        reorder toKernel = weightsPlain ? null : new reorder(plainWeights, kernelWeights);
        IntMemoryMap args = new IntMemoryMap();
        args.put(dnnl.DNNL_ARG_SRC, input);
        args.put(dnnl.DNNL_ARG_WEIGHTS, kernelWeights);
        args.put(dnnl.DNNL_ARG_BIAS, bias);
        args.put(dnnl.DNNL_ARG_DST, output);
        String implementation = desc.impl_info_str().getString();
        LOG.debug("convolution forward {}x{}x{} -> {}, batch {}: {}", inHeight, inWidth, inChannels, outChannels, n,
                implementation);
        return new Forward(new convolution_forward(desc), args, input, plainWeights, kernelWeights, toKernel, bias,
                output);
    }

    /** The memory descriptions of a batch of n: activations NHWC, weights OIHW (and "any", the kernel's choice). */
    private record Shapes(memory.desc input, memory.desc output, memory.desc anyWeights, memory.desc plainWeights,
            memory.desc bias, long[] strides, long[] padding) {
    }

    private Shapes shapes(long n) {
        long[] weightDims = {outChannels, inChannels, kernel, kernel};
        return new Shapes(
                new memory.desc(new long[] {n, inChannels, inHeight, inWidth}, memory.data_type.f32,
                        memory.format_tag.nhwc),
                new memory.desc(new long[] {n, outChannels, inHeight - kernel + 1, inWidth - kernel + 1},
                        memory.data_type.f32, memory.format_tag.nhwc),
                new memory.desc(weightDims, memory.data_type.f32, memory.format_tag.any),
                new memory.desc(weightDims, memory.data_type.f32, memory.format_tag.oihw),
                new memory.desc(new long[] {outChannels}, memory.data_type.f32, memory.format_tag.x),
                new long[] {1, 1}, new long[] {0, 0});
    }

    private Backward createBackward(long n) {
        Shapes d = shapes(n);
        memory.desc inputDesc = d.input();
        memory.desc outputDesc = d.output();
        memory.desc anyWeights = d.anyWeights();
        memory.desc plainWeightDesc = d.plainWeights();
        memory.desc biasDesc = d.bias();
        long[] strides = d.strides();
        long[] padding = d.padding();
        dnnl.algorithm direct = dnnl.algorithm.convolution_direct;
        // the backward primitives need the forward one's description as a hint; it is never run here
        convolution_forward.primitive_desc forwardHint = new convolution_forward.primitive_desc(
                new convolution_forward.desc(dnnl.prop_kind.forward_training, direct, inputDesc, anyWeights, biasDesc,
                        outputDesc, strides, padding, padding), engine);
        convolution_backward_weights.primitive_desc weightDesc = new convolution_backward_weights.primitive_desc(
                new convolution_backward_weights.desc(direct, inputDesc, anyWeights, biasDesc, outputDesc, strides,
                        padding, padding), engine, forwardHint);
        memory input = new memory(inputDesc, engine, (Pointer) null);
        memory outputGrad = new memory(outputDesc, engine, (Pointer) null);
        memory plainWeightGrad = new memory(plainWeightDesc, engine, (Pointer) null);
        memory biasGrad = new memory(biasDesc, engine, (Pointer) null);
        boolean gradPlain = weightDesc.diff_weights_desc().equals(plainWeightDesc);
        memory kernelWeightGrad = gradPlain ? plainWeightGrad : new memory(weightDesc.diff_weights_desc(), engine);
        reorder toPlain = gradPlain ? null : new reorder(kernelWeightGrad, plainWeightGrad);
        String implementation = weightDesc.impl_info_str().getString();
        convolution_backward_data backwardData = null;
        IntMemoryMap dataArgs = null;
        memory inputGrad = null;
        memory plainWeights = null;
        memory kernelWeights = null;
        reorder toKernel = null;
        if (inputGradient) {
            convolution_backward_data.primitive_desc dataDesc = new convolution_backward_data.primitive_desc(
                    new convolution_backward_data.desc(direct, inputDesc, anyWeights, outputDesc, strides, padding,
                            padding), engine, forwardHint);
            inputGrad = new memory(inputDesc, engine, (Pointer) null);
            plainWeights = new memory(plainWeightDesc, engine, (Pointer) null);
            boolean weightsPlain = dataDesc.weights_desc().equals(plainWeightDesc);
            kernelWeights = weightsPlain ? plainWeights : new memory(dataDesc.weights_desc(), engine);
            toKernel = weightsPlain ? null : new reorder(plainWeights, kernelWeights);
            dataArgs = new IntMemoryMap();
            dataArgs.put(dnnl.DNNL_ARG_DIFF_DST, outputGrad);
            dataArgs.put(dnnl.DNNL_ARG_WEIGHTS, kernelWeights);
            dataArgs.put(dnnl.DNNL_ARG_DIFF_SRC, inputGrad);
            backwardData = new convolution_backward_data(dataDesc);
            implementation = dataDesc.impl_info_str().getString() + "; " + implementation;
        }
        IntMemoryMap weightArgs = new IntMemoryMap();
        weightArgs.put(dnnl.DNNL_ARG_SRC, input);
        weightArgs.put(dnnl.DNNL_ARG_DIFF_DST, outputGrad);
        weightArgs.put(dnnl.DNNL_ARG_DIFF_WEIGHTS, kernelWeightGrad);
        weightArgs.put(dnnl.DNNL_ARG_DIFF_BIAS, biasGrad);
        LOG.debug("convolution backward {}x{}x{} -> {}, batch {}: {}", inHeight, inWidth, inChannels, outChannels, n,
                implementation);
        return new Backward(backwardData, new convolution_backward_weights(weightDesc),
                dataArgs, weightArgs, input, outputGrad, inputGrad, plainWeights, kernelWeights, toKernel,
                kernelWeightGrad, plainWeightGrad, toPlain, biasGrad);
    }

    private static void check(INDArray a, long... shape) {
        if (a.dataType() != DataType.FLOAT || !dense(a) || !java.util.Arrays.equals(a.shape(), shape)) {
            throw new IllegalArgumentException("float32 array of shape " + java.util.Arrays.toString(shape)
                    + " in C order expected, got " + a.shapeInfoToString());
        }
    }

    private static boolean dense(INDArray a) {
        return a.ordering() == 'c' && a.elementWiseStride() == 1;
    }

    /**
     * The address of an array's first element, as oneDNN's data handle. The pointer holds no reference to the
     * array, whose memory ND4J frees once the array is unreachable: the caller keeps the array reachable
     * ({@link Reference#reachabilityFence}) until the primitives that use the address have finished.
     */
    static Pointer address(INDArray a) {
        // asNio() starts at the underlying allocation, as offset() counts from it (DirectLoops reads arrays so too)
        long at = new Pointer(a.data().asNio()).address() + a.offset() * Float.BYTES;
        return new Pointer() {
            {
                address = at;
            }
        };
    }
}
