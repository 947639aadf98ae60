package io.featurerelay.learning.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

class MemoryBudgetTest {

    /** What the services get in production: three quarters of -Dorg.bytedeco.javacpp.maxbytes=900m. */
    private static final MemoryBudget PRODUCTION = new MemoryBudget((long) (900L * (1 << 20) * 0.75), true);

    @Test
    void theNativeLimitIsReadAsJavacppReadsIt() {
        assertThat(MemoryBudget.nativeLimit("900m", 5)).isEqualTo(900L << 20);
        assertThat(MemoryBudget.nativeLimit("3G", 5)).isEqualTo(3L << 30);
        assertThat(MemoryBudget.nativeLimit("12345", 5)).isEqualTo(12345);
        assertThat(MemoryBudget.nativeLimit(null, 5)).isEqualTo(5);
        assertThat(MemoryBudget.nativeLimit("0", 5)).isEqualTo(5);
        assertThat(MemoryBudget.nativeLimit("lots", 5)).isEqualTo(5);
        // this JVM runs with the production flags (NativeBackendExtension checks them)
        assertThat(MemoryBudget.fromJvmLimits().maxBytes()).isEqualTo(PRODUCTION.maxBytes());
    }

    @Test
    void theDefaultNetworksFitAtTheDefaultBatchAndHugeOnesAreRefusedWithAWayOut() {
        PRODUCTION.check(ModelSpec.reference(5), 128);
        PRODUCTION.check(ModelSpec.cifar10(5), 128);
        assertThat(PRODUCTION.trainingBytes(ModelSpec.reference(5), 256))
                .isGreaterThan(PRODUCTION.trainingBytes(ModelSpec.reference(5), 128));
        // the generic build's im2col columns make the same network larger
        assertThat(new MemoryBudget(PRODUCTION.maxBytes(), false).trainingBytes(ModelSpec.reference(5), 128))
                .isGreaterThan(PRODUCTION.trainingBytes(ModelSpec.reference(5), 128));

        assertThatThrownBy(() -> PRODUCTION.check(ModelSpec.reference(5), 2048))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("batch size 2048")
                .hasMessageContaining("a batch size of at most");
        int fits = PRODUCTION.largestBatchThatFits(ModelSpec.reference(5), 2047);
        PRODUCTION.check(ModelSpec.reference(5), fits);
        assertThatThrownBy(() -> PRODUCTION.check(ModelSpec.reference(5), fits + 1))
                .isInstanceOf(IllegalArgumentException.class);

        // the figures the README gives for the production flags
        assertThat(PRODUCTION.largestBatchThatFits(ModelSpec.reference(5), 2048)).isEqualTo(663);
        assertThat(PRODUCTION.largestBatchThatFits(ModelSpec.cifar10(10), 2048)).isEqualTo(232);

        ModelSpec huge = new ModelSpec(List.of(3, 512, 512), List.of(64, 64), 3, 8, 0, 512, 0, 10);
        assertThatThrownBy(() -> PRODUCTION.check(huge, 1)).hasMessageContaining("not even a batch of 1");
    }

    @Test
    void specsWhoseArraysCannotBeIndexedAreRefusedWhenRead() {
        assertThatThrownBy(() -> new ModelSpec(List.of(3, 4096, 4096), List.of(1024), 3, 1, 0, 65536, 0, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than one array holds");
    }

    /**
     * javacpp's count of native bytes once earlier tests' garbage is gone: its deallocator frees arrays as the
     * GC finds them, which would otherwise run during the measurement and hide what the network takes.
     */
    private static long settledNativeBytes() throws InterruptedException {
        long last = -1;
        for (int i = 0; i < 50; i++) {
            System.gc();
            Thread.sleep(40);
            long now = Pointer.totalBytes();
            if (now == last) {
                return now;
            }
            last = now;
        }
        return last;
    }

    /** The estimate is an upper bound of what a training step of the ops network actually allocates. */
    @Test
    void theEstimateCoversWhatTrainingAllocates() throws InterruptedException {
        ModelSpec spec = new ModelSpec(List.of(1, 20, 17), List.of(8, 8), 3, 2, 0.25, 32, 0.5, 4);
        int batch = 48;
        long before = settledNativeBytes();
        Network network = NetworkFactory.standard().create(spec, Hyperparameters.defaults());
        Nd4j.getRandom().setSeed(1);
        for (int n : new int[] {batch, batch - 5}) {
            DataSet data = new DataSet(Nd4j.rand(DataType.FLOAT, n, 1, 20, 17), Nd4j.eye(4).repeat(0, n / 4 + 1)
                    .get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, n)).dup('c'));
            network.fitBatch(data);
        }
        network.output(Nd4j.rand(DataType.FLOAT, MemoryBudget.INFERENCE_BATCH, 1, 20, 17));
        long allocated = Pointer.totalBytes() - before;
        assertThat(allocated).as("javacpp's count of native bytes went up").isPositive();
        assertThat(PRODUCTION.trainingBytes(spec, batch)).isGreaterThanOrEqualTo(allocated);
    }
}
