package io.featurerelay.learning.training;

/**
 * A well-formed checkpoint that does not fit the run asked to resume from it: another seed, batch size, training
 * set size, network structure, spec or optimizer, array names or shapes, or more epochs done than the run has.
 */
public class IncompatibleCheckpointException extends IllegalArgumentException {

    public IncompatibleCheckpointException(String message) {
        super(message);
    }

    public IncompatibleCheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
