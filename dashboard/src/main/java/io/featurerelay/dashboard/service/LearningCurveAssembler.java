package io.featurerelay.dashboard.service;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Turns the learning-curve series ({@code featurerelay_learning_curve_accuracy}, {@code _seconds} tagged curve,
 * base_run, role, budget; {@code _images_per_class} tagged curve, base_run, budget) into one
 * {@link DashboardView.LearningCurve} per curve job, and finds where the baseline's line meets model 2's.
 */
public final class LearningCurveAssembler {

    static final String ACCURACY = DashboardAssembler.PREFIX + "learning_curve_accuracy";
    static final String SECONDS = DashboardAssembler.PREFIX + "learning_curve_seconds";
    static final String IMAGES_PER_CLASS = DashboardAssembler.PREFIX + "learning_curve_images_per_class";
    static final String TRANSFER = "transfer";
    static final String SCRATCH = "scratch";
    /** The order of the roles within one budget (model 2 first: it is the one the others are measured against). */
    static final List<String> ROLES = List.of(TRANSFER, SCRATCH, "fine-tune");
    static final String ALL = "all";

    private LearningCurveAssembler() {
    }

    /** Every curve that has at least one finished point, newest (by id) first. */
    public static List<DashboardView.LearningCurve> assemble(List<MetricSample> samples) {
        Map<String, List<MetricSample>> byCurve = samples.stream()
                .filter(s -> s.label("curve") != null && s.label("budget") != null)
                .filter(s -> ACCURACY.equals(s.name()) || SECONDS.equals(s.name())
                        || IMAGES_PER_CLASS.equals(s.name()))
                .collect(Collectors.groupingBy(s -> s.label("curve")));
        List<DashboardView.LearningCurve> curves = new ArrayList<>();
        byCurve.forEach((curve, series) -> {
            List<DashboardView.CurvePoint> points = points(series);
            if (!points.isEmpty()) {
                String baseRun = series.stream().map(s -> s.label("base_run")).filter(Objects::nonNull).findFirst()
                        .orElse(null);
                curves.add(new DashboardView.LearningCurve(curve, baseRun, points, crossover(points)));
            }
        });
        curves.sort(Comparator.comparing(DashboardView.LearningCurve::curve).reversed());
        return curves;
    }

    private static List<DashboardView.CurvePoint> points(List<MetricSample> series) {
        Map<String, Double> imagesPerClass = new LinkedHashMap<>();
        for (MetricSample s : series) {
            if (IMAGES_PER_CLASS.equals(s.name()) && !Double.isNaN(s.value())) {
                imagesPerClass.put(s.label("budget"), s.value());
            }
        }
        // one point per (budget, role) that has an accuracy: a point appears when that model has finished
        Map<List<String>, Double> seconds = new LinkedHashMap<>();
        Map<List<String>, Double> accuracy = new LinkedHashMap<>();
        for (MetricSample s : series) {
            if (s.label("role") == null || Double.isNaN(s.value())) {
                continue;
            }
            List<String> key = List.of(s.label("budget"), s.label("role"));
            if (ACCURACY.equals(s.name())) {
                accuracy.put(key, s.value());
            } else if (SECONDS.equals(s.name())) {
                seconds.put(key, s.value());
            }
        }
        List<DashboardView.CurvePoint> points = new ArrayList<>();
        accuracy.forEach((key, value) -> points.add(new DashboardView.CurvePoint(key.get(0),
                imagesPerClass.getOrDefault(key.get(0), numeric(key.get(0))), key.get(1), value, seconds.get(key))));
        points.sort(BUDGET_ORDER
                .thenComparing(p -> ROLES.contains(p.role()) ? ROLES.indexOf(p.role()) : ROLES.size())
                .thenComparing(DashboardView.CurvePoint::role));
        return points;
    }

    /**
     * The smallest budget at which the baseline's accuracy reaches or passes model 2's (both measured at that
     * budget); null when there is none yet. Budgets are ordered by the images per class they used, so that
     * {@code all} comes after every number that is smaller than the data.
     */
    public static DashboardView.Crossover crossover(List<DashboardView.CurvePoint> points) {
        Map<String, DashboardView.CurvePoint> transfer = new LinkedHashMap<>();
        Map<String, DashboardView.CurvePoint> scratch = new LinkedHashMap<>();
        for (DashboardView.CurvePoint p : points) {
            if (TRANSFER.equals(p.role())) {
                transfer.put(p.budget(), p);
            } else if (SCRATCH.equals(p.role())) {
                scratch.put(p.budget(), p);
            }
        }
        return scratch.values().stream().filter(s -> transfer.containsKey(s.budget()))
                .filter(s -> s.accuracy() >= transfer.get(s.budget()).accuracy())
                .min(BUDGET_ORDER)
                .map(s -> new DashboardView.Crossover(SCRATCH, s.budget(), s.imagesPerClass(), s.accuracy(),
                        transfer.get(s.budget()).accuracy()))
                .orElse(null);
    }

    /** By images per class; a budget whose count is not known yet goes last, {@code all} after an equal number. */
    static final Comparator<DashboardView.CurvePoint> BUDGET_ORDER = Comparator
            .comparing((DashboardView.CurvePoint p) -> p.imagesPerClass() != null ? p.imagesPerClass()
                    : Double.POSITIVE_INFINITY)
            .thenComparing(p -> ALL.equals(p.budget()));

    private static Double numeric(String budget) {
        try {
            return Double.parseDouble(budget);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
