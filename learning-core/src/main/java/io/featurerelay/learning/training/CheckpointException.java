package io.featurerelay.learning.training;

import java.io.IOException;

/** A checkpoint that cannot be read: not a checkpoint, truncated, corrupt, or larger than allowed. */
public class CheckpointException extends IOException {

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
