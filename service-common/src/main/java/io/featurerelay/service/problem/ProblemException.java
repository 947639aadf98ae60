package io.featurerelay.service.problem;

/** A failure that the REST layer turns into a problem response with this status. */
public class ProblemException extends RuntimeException {

    private final int status;
    private final String title;
    private final String field;

    public ProblemException(int status, String title, String detail, String field) {
        super(detail);
        this.status = status;
        this.title = title;
        this.field = field;
    }

    /** 400: a request field is invalid; {@code field} names it (JSON path such as {@code classes[2]}). */
    public static ProblemException invalidField(String field, String detail) {
        return new ProblemException(400, "Invalid request field", detail, field);
    }

    public static ProblemException notFound(String what, String id) {
        return new ProblemException(404, "Not found", what + " " + id + " does not exist", null);
    }

    public static ProblemException conflict(String detail) {
        return new ProblemException(409, "Conflict", detail, null);
    }

    public static ProblemException tooManyRequests(String detail) {
        return new ProblemException(429, "Too many requests", detail, null);
    }

    public int status() {
        return status;
    }

    public String title() {
        return title;
    }

    public String field() {
        return field;
    }
}
