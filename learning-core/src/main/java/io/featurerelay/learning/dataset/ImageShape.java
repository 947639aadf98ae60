package io.featurerelay.learning.dataset;

import java.util.List;

/** Channels, height and width of one image, in NCHW order. */
public record ImageShape(int channels, int height, int width) {

    public ImageShape {
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
        }
        if (height <= 0 || width <= 0 || height > 4096 || width > 4096) {
            throw new IllegalArgumentException("height and width must be in 1..4096, got " + height + "x" + width);
        }
    }

    /** Values per image: channels x height x width. */
    public int size() {
        return channels * height * width;
    }

    public List<Integer> asList() {
        return List.of(channels, height, width);
    }

    public static ImageShape of(List<Integer> chw) {
        if (chw == null || chw.size() != 3) {
            throw new IllegalArgumentException("input shape must be [channels, height, width], got " + chw);
        }
        return new ImageShape(chw.get(0), chw.get(1), chw.get(2));
    }

    @Override
    public String toString() {
        return channels + "x" + height + "x" + width;
    }
}
