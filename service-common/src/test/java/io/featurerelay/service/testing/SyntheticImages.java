package io.featurerelay.service.testing;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Learnable synthetic images for the tests of the datasets that cannot be downloaded here (CIFAR-10) or that a
 * user brings (image folders): each class is a bright shape at its own place, in its own colour, on noise, so that
 * a small network separates them within an epoch. Not real photographs; they test the data paths, not accuracy.
 */
public final class SyntheticImages {

    private SyntheticImages() {
    }

    /** Image {@code variant} of class {@code label}: 1 (grey) or 3 (RGB) channels. */
    public static BufferedImage shape(int label, int height, int width, int channels, int variant) {
        BufferedImage image = new BufferedImage(width, height,
                channels == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
        Random noise = new Random(31L * label + variant);
        int[] rgb = colour(label);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                boolean on = inShape(label, x, y, width, height, variant);
                int n = noise.nextInt(40);
                if (channels == 1) {
                    image.getRaster().setSample(x, y, 0, on ? 215 + n : n);
                } else {
                    int r = on ? rgb[0] : n;
                    int g = on ? rgb[1] : n;
                    int b = on ? rgb[2] : n;
                    image.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
        }
        return image;
    }

    public static void writePng(Path file, BufferedImage image) {
        try {
            ImageIO.write(image, "png", file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * CIFAR-10 binary records (1 label byte, then 1024 red, 1024 green and 1024 blue bytes, row by row):
     * {@code perClass} images of each of the 10 classes, interleaved.
     */
    public static byte[] cifarRecords(int perClass, int batch) {
        byte[] out = new byte[perClass * 10 * 3073];
        int k = 0;
        for (int i = 0; i < perClass; i++) {
            for (int label = 0; label < 10; label++, k++) {
                BufferedImage image = shape(label, 32, 32, 3, batch * 1000 + i);
                int base = k * 3073;
                out[base] = (byte) label;
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 32; x++) {
                        int p = image.getRGB(x, y);
                        out[base + 1 + y * 32 + x] = (byte) (p >> 16);
                        out[base + 1 + 1024 + y * 32 + x] = (byte) (p >> 8);
                        out[base + 1 + 2048 + y * 32 + x] = (byte) p;
                    }
                }
            }
        }
        return out;
    }

    /** A 6x6-ish block whose place is the class (a 4x3 grid of places), shifted a pixel or two by the variant. */
    private static boolean inShape(int label, int x, int y, int width, int height, int variant) {
        int cellW = width / 4;
        int cellH = height / 3;
        int cx = (label % 4) * cellW + cellW / 2 + (variant % 3) - 1;
        int cy = (label / 4 % 3) * cellH + cellH / 2 + (variant / 3 % 3) - 1;
        return Math.abs(x - cx) <= cellW / 3 && Math.abs(y - cy) <= cellH / 3;
    }

    private static int[] colour(int label) {
        return new int[] {label % 2 == 0 ? 230 : 90, label % 3 == 0 ? 230 : 110, label % 5 == 0 ? 90 : 230};
    }
}
