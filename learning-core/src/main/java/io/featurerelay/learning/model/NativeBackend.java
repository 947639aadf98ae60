package io.featurerelay.learning.model;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the libnd4j build that suits this CPU before ND4J loads its native library.
 *
 * <p>nd4j-native ships one build per CPU level; the generic one is always on the classpath and the others
 * load only when {@code org.bytedeco.javacpp.platform.extension} names them. The oneDNN builds matter most:
 * their {@code conv2d}, {@code conv2d_bp} and {@code matmul} ops run oneDNN's JIT kernels, several times
 * faster than the generic im2col + gemm path. A build is chosen only when the CPU has every instruction set
 * it was compiled for and its library is on the classpath, so the worst case is the generic build, never a
 * crash. A value the user set explicitly (also {@code none}) is left as it is.
 */
public final class NativeBackend {

    private static final ThreadLocal<Integer> THREAD_LIMIT =
            ThreadLocal.withInitial(() -> Runtime.getRuntime().availableProcessors());
    public static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";

    private static final Logger LOG = LoggerFactory.getLogger(NativeBackend.class);
    private static final String BINDINGS = "org/nd4j/linalg/cpu/nativecpu/bindings/linux-x86_64";

    /** The extensions of libnd4j's two oneDNN builds, as {@link #configure} returns them. */
    static final String ONEDNN_AVX512 = "-onednn-avx512";
    static final String ONEDNN_AVX2 = "-onednn-avx2";

    /** Candidates, best first, with the CPU flags each build needs. */
    private static final List<Candidate> CANDIDATES = List.of(
            new Candidate(ONEDNN_AVX512, Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl",
                    "avx2", "fma")),
            new Candidate(ONEDNN_AVX2, Set.of("avx2", "fma")));

    private static volatile String chosen;

    private record Candidate(String extension, Set<String> cpuFlags) {
    }

    private NativeBackend() {
    }

    /**
     * Chooses the build once per JVM and sets the system property; call it before anything touches ND4J.
     * Later calls return the first answer.
     *
     * @return the extension in use ({@code ""} for the generic build)
     */
    public static synchronized String configure() {
        if (chosen != null) {
            return chosen;
        }
        String preset = System.getProperty(EXTENSION_PROPERTY);
        if (preset != null) {
            chosen = "none".equalsIgnoreCase(preset) ? "" : preset;
            if (chosen.isEmpty()) {
                System.clearProperty(EXTENSION_PROPERTY);
            }
            LOG.info("libnd4j build {} (set by {})", describe(chosen), EXTENSION_PROPERTY);
            return chosen;
        }
        chosen = choose(cpuFlags(), NativeBackend::onClasspath);
        if (!chosen.isEmpty()) {
            System.setProperty(EXTENSION_PROPERTY, chosen);
        }
        LOG.info("libnd4j build {} (chosen by this CPU's flags)", describe(chosen));
        return chosen;
    }

    /**
     * Chooses the build, loads ND4J and runs one small training step and one inference, so that the native
     * libraries, oneDNN and the Java code of the training path are ready before the first real job: a
     * service calls this at start-up, and the first transfer starts within a second of its record instead of
     * paying about a second of loading.
     */
    public static void warmUp() {
        long start = System.nanoTime();
        configure();
        ModelSpec spec = ModelSpec.reference(2);
        Network net = new OpsNetwork(spec, Hyperparameters.defaults(), OpsNetwork.Kind.FULL, false);
        // the inputs do not matter; training reseeds the random streams before it starts
        INDArray images = Nd4j.zeros(DataType.FLOAT, 2, 1, 28, 28);
        INDArray labels = Nd4j.createFromArray(new float[][] {{1, 0}, {0, 1}});
        net.fitBatch(new DataSet(images, labels));
        net.output(images);
        LOG.info("ND4J warmed up in {} ms (libnd4j build {})", (System.nanoTime() - start) / 1_000_000,
                describe(chosen));
    }

    /**
     * Runs the native ops that the calling thread starts (oneDNN's, libnd4j's OpenMP loops) on at most
     * {@code threads} threads: OpenMP keeps this per thread, so other threads keep theirs. For a pool of
     * threads of one's own, which it then lives and dies with.
     */
    public static void limitCurrentThread(int threads) {
        configure();
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(Math.max(1, threads));
        THREAD_LIMIT.set(Math.max(1, threads));
    }

    /**
     * Makes something native (a oneDNN primitive) as a thread limited to {@code threads} would, then gives the
     * calling thread its own limit back. oneDNN fixes a primitive's thread count when it is created, from the
     * creating thread's OpenMP limit, and runs it on that many wherever it is executed: a Winograd lane's product,
     * made on a two-thread training thread and run on a one-thread lane, ran on a team of two of its own, four
     * threads on two cores (its products took 16 ms of lane time per batch of 128 against 9 made for one).
     */
    static <T> T madeForThreads(int threads, java.util.function.Supplier<T> make) {
        configure();
        var ops = NativeOpsHolder.getInstance().getDeviceNativeOps();
        int previousNative = ops.ompGetMaxThreads();
        int previousLimit = THREAD_LIMIT.get();
        ops.setOmpNumThreads(Math.max(1, threads));
        THREAD_LIMIT.set(Math.max(1, threads));
        try {
            return make.get();
        } finally {
            ops.setOmpNumThreads(previousNative);
            THREAD_LIMIT.set(previousLimit);
        }
    }

    /**
     * The threads the calling thread's native ops run on: as {@link #limitCurrentThread} set them, else every core.
     * For Java loops that should spread as far as the native ops beside them (and no further: a featurizing
     * pipeline's thread is one of several, each limited to its share of the cores).
     */
    static int threadsOfCurrentThread() {
        return THREAD_LIMIT.get();
    }

    /** The extension chosen by {@link #configure()}, or null before it ran. */
    public static String chosen() {
        return chosen;
    }

    /** The best candidate whose flags the CPU has and whose library is on the classpath; "" for none. */
    static String choose(Set<String> flags, java.util.function.Predicate<String> available) {
        for (Candidate c : CANDIDATES) {
            if (flags.containsAll(c.cpuFlags()) && available.test(c.extension())) {
                return c.extension();
            }
        }
        return "";
    }

    /** The build in use, as the benchmark reports it: "onednn-avx2", "onednn-avx512" or "generic". */
    public static String buildName() {
        String extension = configure();
        return extension.isEmpty() ? "generic" : extension.substring(1);
    }

    static String describe(String extension) {
        return extension.isEmpty() ? "linux-x86_64 (generic)" : "linux-x86_64" + extension;
    }

    private static boolean onClasspath(String extension) {
        String resource = BINDINGS + extension + "/libnd4jcpu.so";
        return NativeBackend.class.getClassLoader().getResource(resource) != null;
    }

    /** The instruction-set flags of the first CPU in /proc/cpuinfo; empty where there is no such file. */
    static Set<String> cpuFlags() {
        try {
            return parseFlags(Files.readAllLines(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    static Set<String> parseFlags(List<String> cpuinfo) {
        for (String line : cpuinfo) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals("flags")) {
                Set<String> flags = new HashSet<>();
                for (String f : line.substring(colon + 1).trim().split("\\s+")) {
                    flags.add(f.toLowerCase(Locale.ROOT));
                }
                return flags;
            }
        }
        return Set.of();
    }
}
