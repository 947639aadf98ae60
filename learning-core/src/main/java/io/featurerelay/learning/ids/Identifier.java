package io.featurerelay.learning.ids;

import java.util.Optional;

/**
 * The kinds of identifier that reach us from outside, each checked against what it becomes before it is used.
 * One place for these rules, so that a record key, a URL segment and a file name are judged alike everywhere.
 *
 * <p>Ids ({@link #JOB_ID}, {@link #BASE_MODEL_ID}, {@link #TARGET_NAME}) become database keys, REST path
 * segments, Prometheus label values, Kafka record keys and parts of download file names: lowercase ASCII
 * letters, digits and dashes, starting with a letter or digit, so that none of them can be {@code .}, {@code ..},
 * hold a separator, a NUL, a quote or a character that two systems would compare differently.
 * {@link #FILE_NAME} is one entry of a folder we read (an image folder's class folders and images): one path
 * segment, never {@code .} or {@code ..}, printable ASCII. {@link #DATA_DIR} is a directory a request names:
 * a path without {@code ..} segments, NULs or control characters.
 */
public enum Identifier {

    /** A job's (and so a run's) id: {@code jobs.id}, {@code /api/v1/.../{id}}, the {@code run} label. */
    JOB_ID(127, Rule.SLUG),
    /**
     * A base model's id: the record key of {@code feature-weights}, the envelope's {@code baseModelId}, part of
     * its transfer jobs' ids (so shorter than a job id).
     */
    BASE_MODEL_ID(101, Rule.SLUG),
    /** A target task's name ({@code transfer.targets.<name>}): part of job ids and the {@code target} label. */
    TARGET_NAME(16, Rule.SLUG),
    /** One entry of a folder we read: a class folder (its name becomes the class name) or an image file. */
    FILE_NAME(255, Rule.FILE_NAME),
    /** A data directory named by a request or a setting. */
    DATA_DIR(1024, Rule.PATH);

    private enum Rule { SLUG, FILE_NAME, PATH }

    private final int maxLength;
    private final Rule rule;

    Identifier(int maxLength, Rule rule) {
        this.maxLength = maxLength;
        this.rule = rule;
    }

    /** The longest value admitted, in characters (all ASCII, so also in bytes). */
    public int maxLength() {
        return maxLength;
    }

    public boolean valid(String value) {
        return problem(value).isEmpty();
    }

    /**
     * Why {@code value} cannot be this kind of identifier ("is empty", "contains a NUL character", ...), or
     * empty when it can. The words never repeat the value itself, which may hold anything.
     */
    public Optional<String> problem(String value) {
        if (value == null) {
            return Optional.of("is missing");
        }
        if (value.isEmpty()) {
            return Optional.of("is empty");
        }
        if (value.length() > maxLength) {
            return Optional.of("is longer than " + maxLength + " characters (" + value.length() + ")");
        }
        boolean separators = rule != Rule.PATH;
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            if (ch == 0) {
                return Optional.of("contains a NUL character at " + i);
            }
            if (ch < 0x20 || ch == 0x7f) {
                return Optional.of("contains a control character at " + i);
            }
            if (separators && (ch == '/' || ch == '\\')) {
                return Optional.of("contains a path separator at " + i);
            }
            if (ch > 0x7e) {
                return Optional.of("contains a non-ASCII character at " + i);
            }
        }
        if (rule != Rule.PATH && (value.equals(".") || value.equals(".."))) {
            return Optional.of("is a relative path segment");
        }
        return switch (rule) {
            case SLUG -> slug(value);
            case FILE_NAME -> fileName(value);
            case PATH -> path(value);
        };
    }

    private static Optional<String> slug(String value) {
        if (!letterOrDigit(value.charAt(0))) {
            return Optional.of("must start with a lowercase letter or a digit");
        }
        for (int i = 1; i < value.length(); i++) {
            char ch = value.charAt(i);
            if (!letterOrDigit(ch) && ch != '-') {
                return Optional.of("may hold only lowercase letters, digits and dashes (found '" + ch + "' at " + i
                        + ")");
            }
        }
        return Optional.empty();
    }

    private static boolean letterOrDigit(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    }

    /** Letters, digits, {@code _ . - + ( )} and spaces; not starting with a dot, a dash or a space. */
    private static Optional<String> fileName(String value) {
        char first = value.charAt(0);
        if (first == '.' || first == '-' || first == ' ') {
            return Optional.of("must not start with '" + first + "'");
        }
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            boolean ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
                    || "_.-+() ".indexOf(ch) >= 0;
            if (!ok) {
                return Optional.of("may hold only letters, digits, spaces and _ . - + ( ) (found '" + ch + "' at " + i
                        + ")");
            }
        }
        return Optional.empty();
    }

    /** Any printable ASCII path, but no {@code ..} segment: a request may name a directory, not climb out of one. */
    private static Optional<String> path(String value) {
        for (String segment : value.split("[/\\\\]", -1)) {
            if (segment.equals("..")) {
                return Optional.of("contains a '..' segment");
            }
        }
        return Optional.empty();
    }

    /**
     * {@code value} when it is this kind of identifier.
     *
     * @param field where it came from, named in the exception (a request field, "record key", a config key)
     * @throws InvalidIdentifierException otherwise
     */
    public String require(String field, String value) {
        Optional<String> problem = problem(value);
        if (problem.isPresent()) {
            throw new InvalidIdentifierException(field, problem.get());
        }
        return value;
    }

    /**
     * The value for a log line or an error message: printable ASCII as it is, anything else escaped
     * as a backslash, {@code u} and four hex digits, cut to 64 characters, so that a hostile value cannot forge log lines or flood them.
     */
    public static String quote(String value) {
        if (value == null) {
            return "null";
        }
        StringBuilder out = new StringBuilder("'");
        int limit = Math.min(value.length(), 64);
        for (int i = 0; i < limit; i++) {
            char ch = value.charAt(i);
            if (ch >= 0x20 && ch < 0x7f && ch != '\'' && ch != '\\') {
                out.append(ch);
            } else {
                out.append(String.format("\\u%04x", (int) ch));
            }
        }
        if (value.length() > limit) {
            out.append("...(").append(value.length()).append(" characters)");
        }
        return out.append('\'').toString();
    }
}
