package io.featurerelay.learning.wire;

/**
 * Why an envelope was rejected. Each subtype names one reason; {@link #reason()} is the short, stable
 * code that dead-letter headers and metrics carry.
 */
public abstract sealed class EnvelopeException extends RuntimeException {

    EnvelopeException(String message) {
        super(message);
    }

    EnvelopeException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Stable code of the reason, e.g. {@code checksum-mismatch}. */
    public abstract String reason();

    /** Fewer bytes than the envelope's own lengths promise. */
    public static final class Truncated extends EnvelopeException {
        public Truncated(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "truncated";
        }
    }

    /** Larger than the configured maximum, or a length field that claims so. */
    public static final class Oversized extends EnvelopeException {
        public Oversized(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "oversized";
        }
    }

    /** Does not start with {@code FRW1}. */
    public static final class BadMagic extends EnvelopeException {
        public BadMagic(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "bad-magic";
        }
    }

    /** A schema version this code does not read. */
    public static final class UnsupportedVersion extends EnvelopeException {
        public UnsupportedVersion(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "unsupported-version";
        }
    }

    /** The header is not valid JSON of the expected schema, or its lengths and offsets disagree. */
    public static final class MalformedHeader extends EnvelopeException {
        public MalformedHeader(String message) {
            super(message);
        }

        public MalformedHeader(String message, Throwable cause) {
            super(message, cause);
        }

        @Override
        public String reason() {
            return "malformed-header";
        }
    }

    /** The payload's SHA-256 differs from the header's. */
    public static final class ChecksumMismatch extends EnvelopeException {
        public ChecksumMismatch(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "checksum-mismatch";
        }
    }

    /** A signing key is configured but the record carries no signature. */
    public static final class MissingSignature extends EnvelopeException {
        public MissingSignature(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "missing-signature";
        }
    }

    /** The HMAC-SHA256 signature does not match the bytes with the configured key. */
    public static final class BadSignature extends EnvelopeException {
        public BadSignature(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "bad-signature";
        }
    }

    /** The parameters do not fit the spec, or the spec does not fit the target's input. */
    public static final class ArchitectureMismatch extends EnvelopeException {
        public ArchitectureMismatch(String message) {
            super(message);
        }

        @Override
        public String reason() {
            return "architecture-mismatch";
        }
    }
}
