package io.featurerelay.learning.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Reads the IDX files of MNIST and Fashion-MNIST (gzip-compressed or raw): unsigned-byte images
 * (magic 0x00000803) and labels (magic 0x00000801). Every dimension is checked against a maximum before
 * anything is allocated.
 */
public final class IdxReader {

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;
    /** The largest image count accepted; MNIST-style sets hold 70,000. */
    static final int MAX_IMAGES = 1_000_000;
    static final int MAX_SIDE = 1024;

    private final String howToGet;

    public IdxReader(String howToGet) {
        this.howToGet = howToGet;
    }

    /** Images and labels of one split, checked against each other. */
    public ImageDataset read(String name, Path imagesFile, Path labelsFile, java.util.List<String> classNames) {
        Images images = readImages(imagesFile);
        int[] labels = readLabels(labelsFile, classNames.size());
        if (labels.length != images.count) {
            throw new DatasetException(labelsFile, "holds " + labels.length + " labels but " + imagesFile.getFileName()
                    + " holds " + images.count + " images: the two files are from different sets. " + howToGet);
        }
        return new ImageDataset(name, new ImageShape(1, images.rows, images.cols), images.pixels, labels, classNames);
    }

    private record Images(int count, int rows, int cols, byte[] pixels) {
    }

    private Images readImages(Path file) {
        try (InputStream in = DataFiles.open(file, howToGet)) {
            int magic = DataFiles.readInt(in, file, "the magic number");
            if (magic != IMAGES_MAGIC) {
                throw new DatasetException(file, String.format(
                        "bad magic number 0x%08x, expected 0x%08x (IDX unsigned-byte images). %s", magic, IMAGES_MAGIC,
                        howToGet));
            }
            int count = DataFiles.readInt(in, file, "the image count");
            int rows = DataFiles.readInt(in, file, "the row count");
            int cols = DataFiles.readInt(in, file, "the column count");
            if (count < 0 || count > MAX_IMAGES) {
                throw new DatasetException(file, "image count " + Integer.toUnsignedString(count) + " is outside 0.."
                        + MAX_IMAGES);
            }
            if (rows <= 0 || cols <= 0 || rows > MAX_SIDE || cols > MAX_SIDE) {
                throw new DatasetException(file, "image size " + Integer.toUnsignedString(rows) + "x"
                        + Integer.toUnsignedString(cols) + " is outside 1.." + MAX_SIDE);
            }
            byte[] pixels = new byte[Math.multiplyExact(count, rows * cols)];
            DataFiles.readFully(in, pixels, file, count + " images of " + rows + "x" + cols);
            return new Images(count, rows, cols, pixels);
        } catch (IOException e) {
            throw new DatasetException(file, "cannot be read (" + e.getMessage() + "). " + howToGet, e);
        } catch (ArithmeticException e) {
            throw new DatasetException(file, "header sizes overflow: " + e.getMessage());
        }
    }

    private int[] readLabels(Path file, int numClasses) {
        try (InputStream in = DataFiles.open(file, howToGet)) {
            int magic = DataFiles.readInt(in, file, "the magic number");
            if (magic != LABELS_MAGIC) {
                throw new DatasetException(file, String.format(
                        "bad magic number 0x%08x, expected 0x%08x (IDX unsigned-byte labels). %s", magic, LABELS_MAGIC,
                        howToGet));
            }
            int count = DataFiles.readInt(in, file, "the label count");
            if (count < 0 || count > MAX_IMAGES) {
                throw new DatasetException(file, "label count " + Integer.toUnsignedString(count) + " is outside 0.."
                        + MAX_IMAGES);
            }
            byte[] raw = new byte[count];
            DataFiles.readFully(in, raw, file, count + " labels");
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = raw[i] & 0xFF;
                if (labels[i] >= numClasses) {
                    throw new DatasetException(file, "label " + labels[i] + " of record " + i + " is out of range 0.."
                            + (numClasses - 1));
                }
            }
            return labels;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
