package io.featurerelay.learning.transfer;

import java.util.Arrays;
import java.util.Optional;

/** What model 2's classification head starts from. */
public enum HeadMode {
    /** A new, randomly initialised head (the default). */
    FRESH("fresh"),
    /** The base network's head keeps training on the target task, as the reference notebook did. */
    REUSE("reuse");

    private final String id;

    HeadMode(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Optional<HeadMode> byId(String id) {
        return Arrays.stream(values()).filter(m -> m.id.equalsIgnoreCase(id)).findFirst();
    }
}
