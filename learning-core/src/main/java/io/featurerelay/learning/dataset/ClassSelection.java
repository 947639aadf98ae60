package io.featurerelay.learning.dataset;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Checks a list of class indices against a dataset's number of classes. */
public final class ClassSelection {

    private ClassSelection() {
    }

    /**
     * @throws IllegalArgumentException naming the problem: empty, duplicated or out of range
     */
    public static void validate(List<Integer> classes, int numClasses) {
        if (classes == null || classes.isEmpty()) {
            throw new IllegalArgumentException("classes must not be empty");
        }
        Set<Integer> seen = new HashSet<>();
        for (Integer c : classes) {
            if (c == null || c < 0 || c >= numClasses) {
                throw new IllegalArgumentException("class " + c + " is out of range 0.." + (numClasses - 1));
            }
            if (!seen.add(c)) {
                throw new IllegalArgumentException("class " + c + " is listed twice");
            }
        }
    }
}
