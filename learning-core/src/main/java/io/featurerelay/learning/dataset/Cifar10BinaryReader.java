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

    private final String howToGet;

    public Cifar10BinaryReader(String howToGet) {
        this.howToGet = howToGet;
    }

    public TrainTestSplit read(Path dir) {
        List<Path> trainFiles = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            trainFiles.add(dir.resolve("data_batch_" + i + ".bin"));
        }
        return new TrainTestSplit(read(trainFiles), read(List.of(dir.resolve("test_batch.bin"))));
    }

    ImageDataset read(List<Path> files) {
        List<byte[]> contents = new ArrayList<>();
        long total = 0;
        for (Path file : files) {
            byte[] bytes = readRecords(file);
            contents.add(bytes);
            total += bytes.length / RECORD_SIZE;
        }
        int count = Math.toIntExact(total);
        byte[] pixels = new byte[count * SHAPE.size()];
        int[] labels = new int[count];
        int k = 0;
        for (int f = 0; f < files.size(); f++) {
            byte[] bytes = contents.get(f);
            for (int offset = 0; offset < bytes.length; offset += RECORD_SIZE, k++) {
                int label = bytes[offset] & 0xFF;
                if (label >= CLASS_NAMES.size()) {
                    throw new DatasetException(files.get(f), "label " + label + " of record " + (offset / RECORD_SIZE)
                            + " is out of range 0.." + (CLASS_NAMES.size() - 1) + ": not a CIFAR-10 binary batch. "
                            + howToGet);
                }
                labels[k] = label;
                System.arraycopy(bytes, offset + 1, pixels, k * SHAPE.size(), SHAPE.size());
            }
        }
        return new ImageDataset("cifar-10", SHAPE, pixels, labels, CLASS_NAMES);
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
