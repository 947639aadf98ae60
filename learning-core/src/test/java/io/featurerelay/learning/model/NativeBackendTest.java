package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.nd4j.nativeblas.NativeOpsHolder;

class NativeBackendTest {

    private static final Set<String> AVX512 = Set.of("fma", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq",
            "avx512vl");

    @Test
    void theBestBuildThisCpuRunsAndTheClasspathHas() {
        assertThat(NativeBackend.choose(AVX512, e -> true)).isEqualTo("-onednn-avx512");
        assertThat(NativeBackend.choose(Set.of("fma", "avx2", "avx512f"), e -> true)).isEqualTo("-onednn-avx2");
        assertThat(NativeBackend.choose(AVX512, e -> !e.contains("avx512"))).isEqualTo("-onednn-avx2");
        // no AVX2, or no oneDNN build on the classpath: the generic build
        assertThat(NativeBackend.choose(Set.of("sse4_2", "avx"), e -> true)).isEmpty();
        assertThat(NativeBackend.choose(AVX512, e -> false)).isEmpty();
        assertThat(NativeBackend.choose(Set.of(), e -> true)).isEmpty();
    }

    @Test
    void flagsComeFromTheCpuinfoFlagsLine() {
        List<String> cpuinfo = List.of("processor\t: 0", "model name\t: Some CPU", "flags\t\t: fpu sse4_2 AVX2 fma",
                "bugs\t\t: none");
        assertThat(NativeBackend.parseFlags(cpuinfo)).containsExactlyInAnyOrder("fpu", "sse4_2", "avx2", "fma");
        assertThat(NativeBackend.parseFlags(List.of("processor : 0"))).isEmpty();
    }

    @Test
    void thisJvmUsesTheChosenBuild() {
        NetworkFactory.standard();
        String chosen = NativeBackend.chosen();
        assertThat(chosen).isNotNull();
        if (!chosen.isEmpty()) {
            assertThat(System.getProperty(NativeBackend.EXTENSION_PROPERTY)).isEqualTo(chosen);
        }
    }

    /** What is made under madeForThreads sees its limit (OpenMP's too); the thread then has its own back. */
    @Test
    void madeForThreadsLimitsOnlyWhileMaking() throws InterruptedException {
        NetworkFactory.standard();
        var ops = NativeOpsHolder.getInstance().getDeviceNativeOps();
        AtomicReference<List<Integer>> seen = new AtomicReference<>();
        // a thread of its own, limited to three first, so that the test thread keeps its settings
        Thread thread = new Thread(() -> {
            NativeBackend.limitCurrentThread(3);
            List<Integer> inside = NativeBackend.madeForThreads(1,
                    () -> List.of(ops.ompGetMaxThreads(), NativeBackend.threadsOfCurrentThread()));
            seen.set(List.of(inside.get(0), inside.get(1), ops.ompGetMaxThreads(),
                    NativeBackend.threadsOfCurrentThread()));
        });
        thread.start();
        thread.join();
        assertThat(seen.get()).containsExactly(1, 1, 3, 3);
    }
}
