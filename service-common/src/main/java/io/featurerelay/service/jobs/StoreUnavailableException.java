package io.featurerelay.service.jobs;

/**
 * The database cannot be reached (or answered with a failure that is not the request's fault). REST requests get
 * 503 with a problem body; workers and consumers retry instead of failing a job or dead-lettering a record.
 */
public class StoreUnavailableException extends RuntimeException {

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
