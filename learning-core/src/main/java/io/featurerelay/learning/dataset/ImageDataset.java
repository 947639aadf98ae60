package io.featurerelay.learning.dataset;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Labelled images held as unsigned bytes in NCHW order; scaled to [0,1] floats only when a batch is made,
 * which keeps full Fashion-MNIST at 47 MB instead of 188 MB.
 *
 * @param name       dataset name, e.g. {@code fashion-mnist}
 * @param shape      shape of one image
 * @param pixels     {@code size() * shape.size()} bytes, image after image, each channel-major
 * @param labels     one label per image, in {@code 0 .. classNames.size()-1}
 * @param classNames the name of each label
 */
public record ImageDataset(String name, ImageShape shape, byte[] pixels, int[] labels, List<String> classNames) {

    public ImageDataset {
        if ((long) labels.length * shape.size() != pixels.length) {
            throw new IllegalArgumentException("pixels hold " + pixels.length + " bytes, expected " + labels.length
                    + " images of " + shape.size());
        }
        classNames = List.copyOf(classNames);
        for (int label : labels) {
            if (label < 0 || label >= classNames.size()) {
                throw new IllegalArgumentException("label " + label + " outside 0.." + (classNames.size() - 1));
            }
        }
    }

    public int size() {
        return labels.length;
    }

    public int numClasses() {
        return classNames.size();
    }

    /**
     * Keeps only the given classes, in the given order, and remaps their labels to {@code 0..n-1}
     * (classes 5-9 become 0-4). Class names follow the new labels.
     */
    public ImageDataset subset(List<Integer> classes) {
        ClassSelection.validate(classes, numClasses());
        int[] newLabel = new int[numClasses()];
        Arrays.fill(newLabel, -1);
        for (int i = 0; i < classes.size(); i++) {
            newLabel[classes.get(i)] = i;
        }
        boolean[] keep = new boolean[labels.length];
        for (int i = 0; i < labels.length; i++) {
            keep[i] = newLabel[labels[i]] >= 0;
        }
        return select(keep, newLabel, classes.stream().map(classNames::get).toList());
    }

    /** The first {@code count} images of each class, in their original order (for samples and quick runs). */
    public ImageDataset firstPerClass(int count) {
        int[] taken = new int[numClasses()];
        boolean[] keep = new boolean[labels.length];
        for (int i = 0; i < labels.length; i++) {
            keep[i] = taken[labels[i]]++ < count;
        }
        int[] sameLabel = new int[numClasses()];
        Arrays.setAll(sameLabel, c -> c);
        return select(keep, sameLabel, classNames);
    }

    /** Images of each label, by label. */
    public int[] countsPerClass() {
        int[] counts = new int[numClasses()];
        for (int label : labels) {
            counts[label]++;
        }
        return counts;
    }

    /** Images of the class that has the fewest: the most a per-class budget can ask for. */
    public int smallestClass() {
        return Arrays.stream(countsPerClass()).min().orElse(0);
    }

    /**
     * A label budget: {@code perClass} images of every class, drawn with {@code seed}, kept in their original
     * order. The same seed always draws the same images, and a smaller budget's images are among a larger one's
     * (each class's images are put in one seeded random order, and a budget takes its first {@code perClass}),
     * so that the points of a learning curve differ by the images added, not by a new draw.
     *
     * @throws IllegalArgumentException when {@code perClass} is below 1 or some class has fewer images
     */
    public ImageDataset samplePerClass(int perClass, long seed) {
        int[] counts = countsPerClass();
        if (perClass < 1) {
            throw new IllegalArgumentException("images per class must be at least 1, got " + perClass);
        }
        for (int c = 0; c < counts.length; c++) {
            if (counts[c] < perClass) {
                throw new IllegalArgumentException("class " + classNames.get(c) + " has " + counts[c]
                        + " training images, fewer than the " + perClass + " per class asked for");
            }
        }
        int[][] byClass = new int[counts.length][];
        int[] filled = new int[counts.length];
        for (int c = 0; c < counts.length; c++) {
            byClass[c] = new int[counts[c]];
        }
        for (int i = 0; i < labels.length; i++) {
            byClass[labels[i]][filled[labels[i]]++] = i;
        }
        boolean[] keep = new boolean[labels.length];
        for (int c = 0; c < counts.length; c++) {
            // one stream per class, so that a class's draw does not depend on how many images the others have
            SplittableRandom random = new SplittableRandom(seed * 0x9E37_79B9_7F4A_7C15L + c);
            int[] order = byClass[c];
            for (int i = order.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int k = 0; k < perClass; k++) {
                keep[order[k]] = true;
            }
        }
        int[] sameLabel = new int[numClasses()];
        Arrays.setAll(sameLabel, c -> c);
        return select(keep, sameLabel, classNames);
    }

    /** The images marked in {@code keep}, in order, with label {@code l} turned into {@code newLabel[l]}. */
    private ImageDataset select(boolean[] keep, int[] newLabel, List<String> names) {
        int kept = 0;
        for (boolean k : keep) {
            kept += k ? 1 : 0;
        }
        int imageSize = shape.size();
        byte[] keptPixels = new byte[kept * imageSize];
        int[] keptLabels = new int[kept];
        int k = 0;
        for (int i = 0; i < labels.length; i++) {
            if (keep[i]) {
                System.arraycopy(pixels, i * imageSize, keptPixels, k * imageSize, imageSize);
                keptLabels[k++] = newLabel[labels[i]];
            }
        }
        return new ImageDataset(name, shape, keptPixels, keptLabels, names);
    }

    /** Scaled pixel value of image {@code i}, flat index {@code j} within the image. */
    public float pixel(int i, int j) {
        return (pixels[i * shape.size() + j] & 0xFF) / 255f;
    }

    @Override
    public String toString() {
        return name + "[" + size() + " images " + shape + ", classes " + classNames + "]";
    }
}
