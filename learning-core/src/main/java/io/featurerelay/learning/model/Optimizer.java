package io.featurerelay.learning.model;

import java.util.Arrays;
import java.util.Optional;

/** Optimizers a training job can choose. */
public enum Optimizer {
    /** The reference experiment's choice; it adapts its own step size, so the learning rate is not used. */
    ADADELTA("adadelta"),
    ADAM("adam");

    private final String id;

    Optimizer(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Optional<Optimizer> byId(String id) {
        return Arrays.stream(values()).filter(o -> o.id.equalsIgnoreCase(id)).findFirst();
    }
}
