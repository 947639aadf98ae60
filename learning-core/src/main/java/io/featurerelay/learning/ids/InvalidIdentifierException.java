package io.featurerelay.learning.ids;

/** An identifier from outside that cannot become what it would become; names the field or place it came from. */
public class InvalidIdentifierException extends IllegalArgumentException {

    private final String field;
    private final String problem;

    public InvalidIdentifierException(String field, String problem) {
        super(field + " " + problem);
        this.field = field;
        this.problem = problem;
    }

    /** Where the value came from: a request field, a record key, a header, a configuration key, a file. */
    public String field() {
        return field;
    }

    /** What is wrong with it, without the field's name. */
    public String problem() {
        return problem;
    }
}
