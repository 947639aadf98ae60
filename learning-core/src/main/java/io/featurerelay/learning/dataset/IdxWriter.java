package io.featurerelay.learning.dataset;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes a gray dataset as gzip-compressed IDX files, the format {@link IdxReader} reads (for samples). */
public final class IdxWriter {

    private IdxWriter() {
    }

    public static void write(ImageDataset data, Path imagesFile, Path labelsFile) throws IOException {
        if (data.shape().channels() != 1) {
            throw new IllegalArgumentException("IDX holds gray images only, got " + data.shape());
        }
        try (DataOutputStream out = gzip(imagesFile)) {
            out.writeInt(IdxReader.IMAGES_MAGIC);
            out.writeInt(data.size());
            out.writeInt(data.shape().height());
            out.writeInt(data.shape().width());
            out.write(data.pixels());
        }
        try (DataOutputStream out = gzip(labelsFile)) {
            out.writeInt(IdxReader.LABELS_MAGIC);
            out.writeInt(data.size());
            for (int label : data.labels()) {
                out.writeByte(label);
            }
        }
    }

    private static DataOutputStream gzip(Path file) throws IOException {
        OutputStream raw = Files.newOutputStream(file);
        return new DataOutputStream(new GZIPOutputStream(raw, 1 << 16));
    }
}
