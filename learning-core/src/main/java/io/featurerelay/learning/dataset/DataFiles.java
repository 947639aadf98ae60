package io.featurerelay.learning.dataset;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Opening dataset files: gzip detected by its magic bytes, so {@code .gz} and raw copies both work. */
final class DataFiles {

    private DataFiles() {
    }

    static InputStream open(Path file, String howToGet) {
        if (!Files.exists(file)) {
            throw new DatasetException(file, "file is missing. " + howToGet);
        }
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw new DatasetException(file, "is not a readable file. " + howToGet);
        }
        try {
            InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            in.mark(2);
            int b0 = in.read();
            int b1 = in.read();
            in.reset();
            if (b0 == 0x1f && b1 == 0x8b) {
                return new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16);
            }
            return in;
        } catch (NoSuchFileException e) {
            throw new DatasetException(file, "file is missing. " + howToGet, e);
        } catch (IOException e) {
            throw new DatasetException(file, "cannot be read (" + e.getMessage() + "). " + howToGet, e);
        }
    }

    /** The first of the candidates that exists, else the first one (so that the error names it). */
    static Path firstExisting(Path dir, String... names) {
        for (String name : names) {
            Path p = dir.resolve(name);
            if (Files.exists(p)) {
                return p;
            }
        }
        return dir.resolve(names[0]);
    }

    /** Reads exactly {@code buffer.length} bytes or reports how many were missing. */
    static void readFully(InputStream in, byte[] buffer, Path file, String what) throws IOException {
        int read = 0;
        while (read < buffer.length) {
            int n = in.read(buffer, read, buffer.length - read);
            if (n < 0) {
                throw new DatasetException(file, "truncated: " + what + " needs " + buffer.length + " bytes, only "
                        + read + " present");
            }
            read += n;
        }
    }

    static int readInt(InputStream in, Path file, String what) throws IOException {
        int b0 = in.read();
        int b1 = in.read();
        int b2 = in.read();
        int b3 = in.read();
        if ((b0 | b1 | b2 | b3) < 0) {
            throw new DatasetException(file, "truncated: the header ends before " + what, new EOFException());
        }
        return (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
    }
}
