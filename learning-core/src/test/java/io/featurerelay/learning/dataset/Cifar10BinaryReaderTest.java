package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Cifar10BinaryReaderTest {

    @TempDir
    Path dir;

    /** Records whose pixel bytes encode (record, channel) so that the NCHW layout can be checked. */
    private static byte[] records(int firstLabel, int count) {
        byte[] bytes = new byte[count * Cifar10BinaryReader.RECORD_SIZE];
        for (int r = 0; r < count; r++) {
            int base = r * Cifar10BinaryReader.RECORD_SIZE;
            bytes[base] = (byte) ((firstLabel + r) % 10);
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < 1024; p++) {
                    bytes[base + 1 + c * 1024 + p] = (byte) (10 * c + r);
                }
            }
        }
        return bytes;
    }

    private void writeAll(int perFile) throws IOException {
        for (int i = 1; i <= 5; i++) {
            Files.write(dir.resolve("data_batch_" + i + ".bin"), records(i, perFile));
        }
        Files.write(dir.resolve("test_batch.bin"), records(0, perFile));
    }

    @Test
    void readsAllBatchesAsNchw() throws IOException {
        writeAll(3);

        TrainTestSplit split = DatasetKind.CIFAR_10.load(dir);

        assertThat(split.train().size()).isEqualTo(15);
        assertThat(split.test().size()).isEqualTo(3);
        assertThat(split.shape()).isEqualTo(new ImageShape(3, 32, 32));
        assertThat(split.train().labels()).startsWith(1, 2, 3, 2, 3, 4);
        // image 1 of the first file: red plane 1, green plane 11, blue plane 21
        ImageDataset train = split.train();
        assertThat(train.pixel(1, 0)).isEqualTo(1 / 255f);
        assertThat(train.pixel(1, 1024 + 5)).isEqualTo(11 / 255f);
        assertThat(train.pixel(1, 2048 + 1023)).isEqualTo(21 / 255f);
        assertThat(split.classNames()).containsExactly("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                "horse", "ship", "truck");
    }

    @Test
    void subsetRemapsTheTargetClasses() throws IOException {
        writeAll(10);
        ImageDataset target = DatasetKind.CIFAR_10.load(dir).train().subset(java.util.List.of(5, 6, 7, 8, 9));
        assertThat(target.classNames()).containsExactly("dog", "frog", "horse", "ship", "truck");
        assertThat(target.labels()).containsOnly(0, 1, 2, 3, 4);
        assertThat(target.size()).isEqualTo(25);
    }

    /**
     * Reading a class subset drops the other classes' records as the files are read, and gives exactly what the
     * subset of the whole gives: the same images in the same order, labels in the order the classes are given.
     */
    @Test
    void readingClassesGivesTheSubsetOfTheWhole() throws IOException {
        writeAll(10);
        java.util.List<Integer> classes = java.util.List.of(7, 2, 9);
        TrainTestSplit whole = DatasetKind.CIFAR_10.load(dir).subset(classes);
        TrainTestSplit read = DatasetKind.CIFAR_10.load(dir, classes);
        for (String split : java.util.List.of("train", "test")) {
            ImageDataset expected = split.equals("train") ? whole.train() : whole.test();
            ImageDataset actual = split.equals("train") ? read.train() : read.test();
            assertThat(actual.size()).as(split).isEqualTo(expected.size()).isPositive();
            assertThat(actual.labels()).as(split).containsExactly(expected.labels());
            assertThat(actual.pixels()).as(split).isEqualTo(expected.pixels());
            assertThat(actual.classNames()).as(split).containsExactly("horse", "bird", "truck");
        }
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir, java.util.List.of(3, 10)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class 10 is out of range");
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir, java.util.List.of(3, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("listed twice");
    }

    @Test
    void truncatedRecordIsRejected() throws IOException {
        writeAll(2);
        byte[] cut = new byte[Cifar10BinaryReader.RECORD_SIZE + 100];
        Files.write(dir.resolve("data_batch_3.bin"), cut);
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("data_batch_3.bin")
                .hasMessageContaining("truncated record")
                .hasMessageContaining("cifar-10-binary.tar.gz");
    }

    @Test
    void labelOutOfRangeIsRejected() throws IOException {
        writeAll(2);
        byte[] bad = records(0, 2);
        bad[Cifar10BinaryReader.RECORD_SIZE] = 42;
        Files.write(dir.resolve("test_batch.bin"), bad);
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("test_batch.bin")
                .hasMessageContaining("label 42 of record 1 is out of range 0..9");
    }

    @Test
    void missingBatchIsNamed() throws IOException {
        writeAll(1);
        Files.delete(dir.resolve("data_batch_5.bin"));
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("data_batch_5.bin: file is missing");
    }

    @Test
    void emptyFileIsRejected() throws IOException {
        writeAll(1);
        Files.write(dir.resolve("test_batch.bin"), new byte[0]);
        assertThatThrownBy(() -> DatasetKind.CIFAR_10.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("test_batch.bin: is empty");
    }
}
