package io.featurerelay.learning.wire;

import java.util.List;

/**
 * The data a base network was trained on.
 *
 * @param name          dataset id, e.g. {@code fashion-mnist}
 * @param classes       the source classes, as indices of the full dataset
 * @param classNames    their names, in label order
 * @param inputShape    [channels, height, width]
 * @param normalisation how pixels were scaled, e.g. {@code x/255}
 */
public record DatasetInfo(String name, List<Integer> classes, List<String> classNames, List<Integer> inputShape,
        String normalisation) {

    public static final String PIXELS_OVER_255 = "x/255";
}
