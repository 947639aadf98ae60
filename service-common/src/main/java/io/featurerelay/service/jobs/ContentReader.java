package io.featurerelay.service.jobs;

import java.io.IOException;
import java.io.InputStream;

/** Reads an artifact's bytes from a stream that is open only while the call lasts. */
@FunctionalInterface
public interface ContentReader<T> {
    T read(InputStream in, long bytes) throws IOException;
}
