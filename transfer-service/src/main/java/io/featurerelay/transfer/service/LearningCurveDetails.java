package io.featurerelay.transfer.service;

import java.util.ArrayList;
import java.util.List;

/**
 * What a learning-curve job records (the job table's {@code details}): its points as they finish, so that a
 * replica that takes it over goes on with the first point not done.
 */
public record LearningCurveDetails(BaseModel lineage, List<String> classNames, LearningCurveStatus.Progress progress,
        List<LearningCurveStatus.Point> points) {

    public LearningCurveDetails {
        classNames = classNames == null ? List.of() : List.copyOf(classNames);
        points = points == null ? List.of() : List.copyOf(points);
    }

    static LearningCurveDetails of(BaseModel lineage) {
        return new LearningCurveDetails(lineage, List.of(), null, List.of());
    }

    LearningCurveDetails withClassNames(List<String> names) {
        return new LearningCurveDetails(lineage, names, progress, points);
    }

    LearningCurveDetails withProgress(LearningCurveStatus.Progress p) {
        return new LearningCurveDetails(lineage, classNames, p, points);
    }

    LearningCurveDetails withPoint(LearningCurveStatus.Point point) {
        List<LearningCurveStatus.Point> more = new ArrayList<>(points);
        more.removeIf(p -> p.budget().equals(point.budget()) && p.role().equals(point.role()));
        more.add(point);
        return new LearningCurveDetails(lineage, classNames, progress, more);
    }

    boolean done(String budget, String role) {
        return points.stream().anyMatch(p -> p.budget().equals(budget) && p.role().equals(role));
    }
}
