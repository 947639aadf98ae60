package io.featurerelay.learning.wire;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * The data a base network was trained on.
 *
 * @param name          dataset id, e.g. {@code fashion-mnist}
 * @param classes       the source classes, as indices of the full dataset
 * @param classNames    their names, in label order
 * @param inputShape    [channels, height, width]
 * @param normalisation how pixels were scaled, e.g. {@code x/255}
 * @param location      where the base read the dataset (an absolute directory of the trainer's file system), or
 *                      null: a receiver that sees the same files (one machine, or a volume mounted at the same path)
 *                      finds the target task's images there; it is a hint to check, never a path to trust blindly.
 *                      Left out of the header when null, so that envelopes without it read as before
 */
public record DatasetInfo(String name, List<Integer> classes, List<String> classNames, List<Integer> inputShape,
        String normalisation, @JsonInclude(JsonInclude.Include.NON_NULL) String location) {

    public static final String PIXELS_OVER_255 = "x/255";

    /** Without a location (envelopes before it was carried, and tests). */
    public DatasetInfo(String name, List<Integer> classes, List<String> classNames, List<Integer> inputShape,
            String normalisation) {
        this(name, classes, classNames, inputShape, normalisation, null);
    }
}
