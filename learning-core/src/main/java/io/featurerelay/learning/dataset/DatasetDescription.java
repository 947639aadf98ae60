package io.featurerelay.learning.dataset;

import java.util.List;

/**
 * What a dataset holds, known before its images are read: enough to decide which classes a target task can use
 * and whether a base network's features fit its images.
 *
 * @param classNames every class of the dataset, in label order
 * @param shape      its images' shape
 */
public record DatasetDescription(List<String> classNames, ImageShape shape) {

    public DatasetDescription {
        classNames = List.copyOf(classNames);
    }
}
