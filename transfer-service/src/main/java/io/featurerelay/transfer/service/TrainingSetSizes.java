package io.featurerelay.transfer.service;

import io.featurerelay.learning.dataset.DatasetException;
import io.featurerelay.learning.dataset.DatasetKind;
import io.featurerelay.service.problem.ProblemException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How many training images each class of a target task has, for validating label budgets before a job is queued
 * ("more per class than the data holds" is a 400, not a failed job). Reading a dataset takes a moment (a second
 * for full Fashion-MNIST), so the answers for the last few tasks are kept.
 */
final class TrainingSetSizes {

    private static final int KEPT = 8;
    private static final Map<String, Integer> SMALLEST = Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
                    return size() > KEPT;
                }
            });

    private TrainingSetSizes() {
    }

    /**
     * Training images of the class of {@code classes} that has the fewest.
     *
     * @throws ProblemException 400 naming {@code dataDir} when the files cannot be read
     */
    static int smallestClass(DatasetKind kind, Path dataDir, List<Integer> classes) {
        String key = kind.id() + "|" + dataDir.toAbsolutePath().normalize() + "|" + classes;
        Integer known = SMALLEST.get(key);
        if (known != null) {
            return known;
        }
        int smallest;
        try {
            smallest = kind.load(dataDir, classes).train().smallestClass();
        } catch (DatasetException | IllegalArgumentException e) {
            throw ProblemException.invalidField("dataDir", "the training images in " + dataDir
                    + " could not be counted: " + e.getMessage());
        }
        SMALLEST.put(key, smallest);
        return smallest;
    }

    /**
     * Checks a label budget: 0 (all) or 1..the smallest class's images.
     *
     * @param field the request field it came from, named by the 400
     */
    static void requireBudget(String field, int perClass, DatasetKind kind, Path dataDir, List<Integer> classes) {
        if (perClass < 0) {
            throw ProblemException.invalidField(field, field + " must be 0 (all images) or a positive number of"
                    + " images per class, got " + perClass);
        }
        if (perClass == 0) {
            return;
        }
        int smallest = smallestClass(kind, dataDir, classes);
        if (perClass > smallest) {
            throw ProblemException.invalidField(field, field + " asks for " + perClass + " images per class, but"
                    + " the smallest of classes " + classes + " has " + smallest + " training images");
        }
    }
}
