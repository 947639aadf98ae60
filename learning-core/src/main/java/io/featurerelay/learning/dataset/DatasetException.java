package io.featurerelay.learning.dataset;

import java.nio.file.Path;

/**
 * A dataset file that cannot be used: the message names the file, what is wrong with it and, where it
 * helps, how to get a good copy.
 */
public class DatasetException extends RuntimeException {

    private final transient Path file;

    public DatasetException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public DatasetException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    /** The file (or directory) the problem is about. */
    public Path file() {
        return file;
    }
}
