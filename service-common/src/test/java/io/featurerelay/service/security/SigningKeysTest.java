package io.featurerelay.service.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class SigningKeysTest {

    private static final String KEY = "q3Jv0sZb8VJ0mXl2o1c9yQ==";

    @Test
    void noKeyIsRefusedUnlessUnsignedIsAllowed() {
        assertThatThrownBy(() -> SigningKeys.require("trainer.signing-key", List.of(), false))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("trainer.signing-key")
                .hasMessageContaining("TRAINER_SIGNING_KEY").hasMessageContaining("featurerelay.allow-unsigned=true");
        assertThatThrownBy(() -> SigningKeys.require("transfer.signing-keys", List.of(" ", ""), false))
                .hasMessageContaining("transfer.signing-keys");
        assertThat(SigningKeys.require("trainer.signing-key", List.of(), true)).isEmpty();
    }

    @Test
    void placeholdersAndShortKeysAreRefusedEvenWhenUnsignedIsAllowed() {
        for (String placeholder : List.of("change-me-before-deploying", "CHANGEME-please-0123", "replace-me-with-a-key")) {
            assertThatThrownBy(() -> SigningKeys.require("transfer.signing-keys", List.of(KEY, placeholder), true))
                    .as(placeholder).hasMessageContaining("placeholder").hasMessageContaining("transfer.signing-keys");
        }
        assertThatThrownBy(() -> SigningKeys.require("trainer.signing-key", List.of("short"), true))
                .hasMessageContaining("fewer than 16 bytes");
    }

    @Test
    void realKeysComeBackAsBytesInOrder() {
        List<byte[]> keys = SigningKeys.require("transfer.signing-keys", List.of(" " + KEY + " ", "", KEY + "x"), false);
        assertThat(keys).containsExactly(KEY.getBytes(StandardCharsets.UTF_8),
                (KEY + "x").getBytes(StandardCharsets.UTF_8));
    }
}
