package io.featurerelay.learning.dataset;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the binary version of CIFAR-10: {@code data_batch_1..5.bin} and {@code test_batch.bin}, each a
 * sequence of records of 1 label byte followed by 3072 pixel bytes (1024 red, 1024 green, 1024 blue, row
 * by row), which is already NCHW.
 */
public final class Cifar10BinaryReader {

    public static final ImageShape SHAPE = new ImageShape(3, 32, 32);
    static final int RECORD_SIZE = 1 + 3 * 32 * 32;
    static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");
    static final int MAX_RECORDS_PER_FILE = 100_000;
    private static final List<Integer> ALL_CLASSES = java.util.stream.IntStream.range(0, CLASS_NAMES.size())
            .boxed().toList();

    private final String howToGet;

    public Cifar10BinaryReader(String howToGet) {
        this.howToGet = howToGet;
    }

    public TrainTestSplit read(Path dir) {
        return read(dir, ALL_CLASSES);
    }

    /**
     * The images of {@code classes} alone, labelled 0..n-1 in the order given (as
     * {@link TrainTestSplit#subset(List)} of the whole would), kept while the files are read: a file's records
     * are read, those of other classes dropped, then the next file. Why: the whole training set, its files'
     * contents and a subset of it took 430 MB of heap at once (a transfer-service on the CIFAR-10 variant peaked
     * past its 1.5 GB cap with the float16 features beside them); half of the classes take 77 MB and a file's
     * 31 MB while it is read.
     */
    public TrainTestSplit read(Path dir, List<Integer> classes) {
        ClassSelection.validate(classes, CLASS_NAMES.size());
        List<Path> trainFiles = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            trainFiles.add(dir.resolve("data_batch_" + i + ".bin"));
        }
        return new TrainTestSplit(read(trainFiles, classes), read(List.of(dir.resolve("test_batch.bin")), classes));
    }

    ImageDataset read(List<Path> files) {
        return read(files, ALL_CLASSES);
    }

    private ImageDataset read(List<Path> files, List<Integer> classes) {
        int[] newLabel = new int[CLASS_NAMES.size()];
        java.util.Arrays.fill(newLabel, -1);
        for (int i = 0; i < classes.size(); i++) {
            newLabel[classes.get(i)] = i;
        }
        // each file's kept records: pixels and new labels
        List<byte[]> keptPixels = new ArrayList<>();
        List<int[]> keptLabels = new ArrayList<>();
        long total = 0;
        for (Path file : files) {
            byte[] bytes = readRecords(file);
            int records = bytes.length / RECORD_SIZE;
            int kept = 0;
            for (int r = 0; r < records; r++) {
                int label = bytes[r * RECORD_SIZE] & 0xFF;
                if (label >= CLASS_NAMES.size()) {
                    throw new DatasetException(file, "label " + label + " of record " + r + " is out of range 0.."
                            + (CLASS_NAMES.size() - 1) + ": not a CIFAR-10 binary batch. " + howToGet);
                }
                kept += newLabel[label] >= 0 ? 1 : 0;
            }
            byte[] pixels = new byte[kept * SHAPE.size()];
            int[] labels = new int[kept];
            int k = 0;
            for (int r = 0; r < records; r++) {
                int label = newLabel[bytes[r * RECORD_SIZE] & 0xFF];
                if (label >= 0) {
                    labels[k] = label;
                    System.arraycopy(bytes, r * RECORD_SIZE + 1, pixels, k * SHAPE.size(), SHAPE.size());
                    k++;
                }
            }
            keptPixels.add(pixels);
            keptLabels.add(labels);
            total += kept;
        }
        int count = Math.toIntExact(total);
        byte[] pixels;
        int[] labels;
        if (keptPixels.size() == 1) {
            pixels = keptPixels.get(0);
            labels = keptLabels.get(0);
        } else {
            pixels = new byte[Math.multiplyExact(count, SHAPE.size())];
            labels = new int[count];
            int at = 0;
            for (int f = 0; f < keptPixels.size(); f++) {
                int[] fileLabels = keptLabels.get(f);
                System.arraycopy(keptPixels.get(f), 0, pixels, at * SHAPE.size(), fileLabels.length * SHAPE.size());
                System.arraycopy(fileLabels, 0, labels, at, fileLabels.length);
                at += fileLabels.length;
                // each file's part let go once copied
                keptPixels.set(f, null);
            }
        }
        return new ImageDataset("cifar-10", SHAPE, pixels, labels, classes.stream().map(CLASS_NAMES::get).toList());
    }

    private byte[] readRecords(Path file) {
        try {
            if (Files.isRegularFile(file)) {
                long size = Files.size(file);
                if (size > (long) MAX_RECORDS_PER_FILE * RECORD_SIZE) {
                    throw new DatasetException(file, "is " + size + " bytes, more than " + MAX_RECORDS_PER_FILE
                            + " records: not a CIFAR-10 binary batch. " + howToGet);
                }
            }
            try (InputStream in = DataFiles.open(file, howToGet)) {
                byte[] bytes = in.readNBytes(MAX_RECORDS_PER_FILE * RECORD_SIZE + 1);
                if (bytes.length == 0) {
                    throw new DatasetException(file, "is empty. " + howToGet);
                }
                if (bytes.length % RECORD_SIZE != 0) {
                    throw new DatasetException(file, "truncated record: " + bytes.length + " bytes is not a multiple of "
                            + RECORD_SIZE + " (1 label byte + 3072 pixel bytes); the last record has "
                            + (bytes.length % RECORD_SIZE) + " bytes. " + howToGet);
                }
                return bytes;
            }
        } catch (IOException e) {
            throw new DatasetException(file, "cannot be read (" + e.getMessage() + "). " + howToGet, e);
        }
    }
}
