package io.featurerelay.service.jobs;

import java.io.IOException;
import java.io.OutputStream;

/** Streams an artifact's bytes into the store. */
@FunctionalInterface
public interface ContentWriter {
    void write(OutputStream out) throws IOException;
}
