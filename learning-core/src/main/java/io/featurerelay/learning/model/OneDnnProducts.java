package io.featurerelay.learning.model;

import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.matmul;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The dense layers' matrix products, {@code c = op(a)·op(b)} on float32 matrices dense in C order, through oneDNN's
 * matmul primitive driven directly (JavaCPP's {@code dnnl} preset, as {@link OneDnnConvolution}), created once per
 * shape and transposition; {@code Nd4j.matmul} where oneDNN's own library is not loaded.
 *
 * <p>Why: libnd4j's {@code matmul} runs the same oneDNN kernel (gemm:jit) but builds its descriptions and fetches
 * the primitive from oneDNN's cache on every call, 0.1-0.2 ms of a product of 1.0-1.3 ms for the head's
 * [128, 4608]·[4608, 128] on a 2-core AVX2 machine (the same kernel: the results are bit for bit the same). Not
 * thread-safe: the owning network's methods are synchronized. The output layer's narrow products ([128, 128]·[128, 5]
 * and the two of its backward pass) take 0.01-0.02 ms each this way, against 0.1-0.25 ms for {@link NarrowProducts}.
 */
final class OneDnnProducts {

    private static final int MAX_CACHED_SHAPES = 12;

    private final boolean direct = OneDnnConvolution.available();
    private engine engine;
    private stream stream;
    private final Map<List<Long>, Product> products = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<Long>, Product> eldest) {
            return size() > MAX_CACHED_SHAPES;
        }
    };

    /** Whether the products run through oneDNN's primitives (else through Nd4j.matmul). */
    boolean direct() {
        return direct;
    }

    /** One shape's primitive and its memory objects, whose data handles are pointed at each call's arrays. */
    private record Product(matmul primitive, IntMemoryMap args, memory a, memory b, memory c) {
    }

    /**
     * {@code c = op(a)·op(b)}, op transposing where asked: op(a) [m, k], op(b) [k, n], c [m, n]; every array float32
     * and dense in C order (whole arrays, or views of contiguous ranges such as a layer's weights). c is overwritten.
     */
    void multiply(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
        if (!direct) {
            Nd4j.matmul(a, b, c, transposeA, transposeB, false);
            return;
        }
        check(a, "a");
        check(b, "b");
        check(c, "c");
        long m = transposeA ? a.size(1) : a.size(0);
        long k = transposeA ? a.size(0) : a.size(1);
        long n = transposeB ? b.size(0) : b.size(1);
        long kb = transposeB ? b.size(1) : b.size(0);
        if (k != kb || c.size(0) != m || c.size(1) != n) {
            throw new IllegalArgumentException("cannot multiply " + Arrays.toString(a.shape()) + (transposeA ? "ᵀ" : "")
                    + " by " + Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : "") + " into "
                    + Arrays.toString(c.shape()));
        }
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            c.assign(0);
            return;
        }
        Product p = products.computeIfAbsent(List.of(m, k, n, transposeA ? 1L : 0L, transposeB ? 1L : 0L),
                key -> create(m, k, n, transposeA, transposeB));
        p.a().set_data_handle(OneDnnConvolution.address(a));
        p.b().set_data_handle(OneDnnConvolution.address(b));
        p.c().set_data_handle(OneDnnConvolution.address(c));
        p.primitive().execute(stream, p.args());
        stream._wait();
        // the data handles hold no reference to the arrays (ND4J frees unreachable arrays' memory)
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        Reference.reachabilityFence(c);
    }

    private Product create(long m, long k, long n, boolean transposeA, boolean transposeB) {
        if (engine == null) {
            engine = new engine(org.bytedeco.dnnl.engine.kind.cpu, 0);
            stream = new stream(engine);
        }
        // a transposed operand is the same memory read column by column: oneDNN's "ba" order
        memory.desc aDesc = new memory.desc(new long[] {m, k}, memory.data_type.f32,
                transposeA ? memory.format_tag.ba : memory.format_tag.ab);
        memory.desc bDesc = new memory.desc(new long[] {k, n}, memory.data_type.f32,
                transposeB ? memory.format_tag.ba : memory.format_tag.ab);
        memory.desc cDesc = new memory.desc(new long[] {m, n}, memory.data_type.f32, memory.format_tag.ab);
        matmul.primitive_desc desc = new matmul.primitive_desc(new matmul.desc(aDesc, bDesc, cDesc), engine);
        memory a = new memory(aDesc, engine, (Pointer) null);
        memory b = new memory(bDesc, engine, (Pointer) null);
        memory c = new memory(cDesc, engine, (Pointer) null);
        IntMemoryMap args = new IntMemoryMap();
        args.put(dnnl.DNNL_ARG_SRC, a);
        args.put(dnnl.DNNL_ARG_WEIGHTS, b);
        args.put(dnnl.DNNL_ARG_DST, c);
        return new Product(new matmul(desc), args, a, b, c);
    }

    private static void check(INDArray x, String name) {
        // ND4J gives a single row strides [1, 1], and an empty matrix [0, 0]: only rows that follow one another
        // need the row stride
        boolean dense = x.length() == 0 || x.ordering() == 'c' && x.elementWiseStride() == 1
                && (x.size(0) <= 1 || x.stride(0) == x.size(1));
        if (x.dataType() != DataType.FLOAT || x.rank() != 2 || !dense) {
            throw new IllegalArgumentException(name + ": a float32 matrix dense in C order expected, got "
                    + x.shapeInfoToString());
        }
    }
}
