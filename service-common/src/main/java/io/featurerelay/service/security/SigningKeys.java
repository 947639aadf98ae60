package io.featurerelay.service.security;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The start-up check of the envelope signing keys both services read: a key that is a known placeholder (what
 * example manifests ship) or too short to be a secret is refused outright, and no key at all is refused unless
 * running unsigned was allowed explicitly ({@link SigningConfig#allowUnsigned()}). Refusing to start is the
 * point: a service that silently ran unsigned would accept any record on the topic.
 */
public final class SigningKeys {

    /** Shortest key accepted: 16 bytes, as many as a random 128-bit key. */
    public static final int MIN_BYTES = 16;
    /** Values that example configurations use; a real key contains none of them. */
    private static final Set<String> PLACEHOLDERS = Set.of("change-me", "changeme", "change_me", "replace-me",
            "replaceme", "placeholder", "your-key", "secret-key", "signing-key-here", "todo", "xxxxxxxx");

    private SigningKeys() {
    }

    /**
     * The keys to sign or verify with, as bytes (blank entries dropped); empty only when unsigned is allowed.
     *
     * @param property the setting the keys come from, named in the error (e.g. {@code trainer.signing-key})
     * @throws IllegalStateException naming the setting when a key is a placeholder or too short, or when there
     *         is none and unsigned is not allowed
     */
    public static List<byte[]> require(String property, Collection<String> configured, boolean allowUnsigned) {
        List<String> keys = configured.stream().map(String::strip).filter(k -> !k.isEmpty()).toList();
        for (String key : keys) {
            String lower = key.toLowerCase(Locale.ROOT);
            if (PLACEHOLDERS.stream().anyMatch(lower::contains)) {
                throw new IllegalStateException(property + " holds a placeholder, not a key: generate one (e.g. "
                        + "openssl rand -base64 32) and give it to both services");
            }
            if (key.getBytes(StandardCharsets.UTF_8).length < MIN_BYTES) {
                throw new IllegalStateException(property + " has a key of fewer than " + MIN_BYTES
                        + " bytes: generate one (e.g. openssl rand -base64 32)");
            }
        }
        if (keys.isEmpty() && !allowUnsigned) {
            throw new IllegalStateException("no envelope signing key: set " + property + " (environment "
                    + property.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9]", "_")
                    + "), or set featurerelay.allow-unsigned=true to run unsigned on one machine");
        }
        return keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }
}
