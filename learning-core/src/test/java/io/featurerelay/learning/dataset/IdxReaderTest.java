package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {

    @TempDir
    Path dir;

    static byte[] images(int magic, int count, int rows, int cols, int pixelBytes) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(magic);
        out.writeInt(count);
        out.writeInt(rows);
        out.writeInt(cols);
        for (int i = 0; i < pixelBytes; i++) {
            out.writeByte(i % 256);
        }
        return bytes.toByteArray();
    }

    static byte[] labels(int magic, int... labels) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(magic);
        out.writeInt(labels.length);
        for (int l : labels) {
            out.writeByte(l);
        }
        return bytes.toByteArray();
    }

    private void writeSplit(String prefix, byte[] images, byte[] labels, boolean gzip) throws IOException {
        write(dir.resolve(prefix + "-images-idx3-ubyte" + (gzip ? ".gz" : "")), images, gzip);
        write(dir.resolve(prefix + "-labels-idx1-ubyte" + (gzip ? ".gz" : "")), labels, gzip);
    }

    private static void write(Path file, byte[] content, boolean gzip) throws IOException {
        try (OutputStream out = gzip ? new GZIPOutputStream(Files.newOutputStream(file)) : Files.newOutputStream(file)) {
            out.write(content);
        }
    }

    @Test
    void readsGzipAndRawFilesIntoNchwScaledPixels() throws IOException {
        writeSplit("train", images(IdxReader.IMAGES_MAGIC, 3, 2, 2, 12), labels(IdxReader.LABELS_MAGIC, 0, 9, 5), true);
        writeSplit("t10k", images(IdxReader.IMAGES_MAGIC, 1, 2, 2, 4), labels(IdxReader.LABELS_MAGIC, 7), false);

        TrainTestSplit split = DatasetKind.FASHION_MNIST.load(dir);

        assertThat(split.train().size()).isEqualTo(3);
        assertThat(split.train().shape()).isEqualTo(new ImageShape(1, 2, 2));
        assertThat(split.train().labels()).containsExactly(0, 9, 5);
        assertThat(split.train().pixel(2, 3)).isEqualTo(11 / 255f);
        assertThat(split.test().labels()).containsExactly(7);
        assertThat(split.classNames().get(9)).isEqualTo("Ankle boot");
    }

    @Test
    void missingFileIsNamedWithHowToGetIt() {
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("train-images-idx3-ubyte.gz")
                .hasMessageContaining("missing")
                .hasMessageContaining("apt-get install -y dataset-fashion-mnist");
    }

    @Test
    void missingDirectoryIsNamed() {
        Path absent = dir.resolve("nowhere");
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(absent))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining(absent.toString())
                .hasMessageContaining("data directory is missing");
    }

    @Test
    void badMagicIsRejected() throws IOException {
        writeSplit("train", images(0x00000801, 1, 2, 2, 4), labels(IdxReader.LABELS_MAGIC, 0), true);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("train-images-idx3-ubyte.gz")
                .hasMessageContaining("bad magic number 0x00000801");
    }

    @Test
    void truncatedImagesAreRejected() throws IOException {
        writeSplit("train", images(IdxReader.IMAGES_MAGIC, 2, 2, 2, 5), labels(IdxReader.LABELS_MAGIC, 0, 1), true);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("truncated")
                .hasMessageContaining("needs 8 bytes, only 5 present");
    }

    @Test
    void truncatedHeaderIsRejected() throws IOException {
        write(dir.resolve("train-images-idx3-ubyte"), new byte[] {0, 0, 8, 3, 0, 0}, false);
        write(dir.resolve("train-labels-idx1-ubyte"), labels(IdxReader.LABELS_MAGIC, 0), false);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("truncated: the header ends before the image count");
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        writeSplit("train", images(IdxReader.IMAGES_MAGIC, 2, 2, 2, 8), labels(IdxReader.LABELS_MAGIC, 0, 1, 2), true);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("holds 3 labels but train-images-idx3-ubyte.gz holds 2 images");
    }

    @Test
    void labelOutOfRangeIsRejected() throws IOException {
        writeSplit("train", images(IdxReader.IMAGES_MAGIC, 2, 2, 2, 8), labels(IdxReader.LABELS_MAGIC, 0, 10), true);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("label 10 of record 1 is out of range 0..9");
    }

    @Test
    void hugeDimensionsAreRejectedBeforeAllocating() throws IOException {
        writeSplit("train", images(IdxReader.IMAGES_MAGIC, Integer.MAX_VALUE, 28, 28, 0),
                labels(IdxReader.LABELS_MAGIC, 0), true);
        assertThatThrownBy(() -> DatasetKind.FASHION_MNIST.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("image count 2147483647 is outside");
    }

    @Test
    void idxWriterOutputReadsBack() throws IOException {
        ImageDataset data = new ImageDataset("mnist", new ImageShape(1, 2, 3), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9,
            10, 11, 12}, new int[] {4, 2}, DatasetKind.MNIST.classNames());
        IdxWriter.write(data, dir.resolve("train-images-idx3-ubyte.gz"), dir.resolve("train-labels-idx1-ubyte.gz"));
        IdxWriter.write(data, dir.resolve("t10k-images-idx3-ubyte.gz"), dir.resolve("t10k-labels-idx1-ubyte.gz"));

        ImageDataset back = DatasetKind.MNIST.load(dir).train();

        assertThat(back.pixels()).containsExactly(data.pixels());
        assertThat(back.labels()).containsExactly(4, 2);
        assertThat(back.shape()).isEqualTo(data.shape());
        assertThat(back.classNames()).isEqualTo(List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"));
    }
}
