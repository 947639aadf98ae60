package io.featurerelay.learning.dataset;

import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Optional;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.ImageIO;

/** Turns a decoded picture into a model's input: resized to its height and width, gray or RGB, NCHW bytes. */
public final class ImageConverter {

    private ImageConverter() {
    }

    /** Images larger than this many pixels are refused before decoding (a small PNG can claim a huge size). */
    public static final long MAX_PIXELS = 4096L * 4096L;

    /** Decodes PNG or JPEG bytes; empty when they are no image that {@code javax.imageio} can read. */
    public static Optional<BufferedImage> decode(byte[] bytes) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                return Optional.empty();
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels <= 0 || pixels > MAX_PIXELS) {
                    throw new IllegalArgumentException("the image has " + reader.getWidth(0) + "x"
                            + reader.getHeight(0) + " pixels, more than " + MAX_PIXELS);
                }
                return Optional.ofNullable(reader.read(0));
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof IllegalArgumentException tooLarge && tooLarge.getMessage() != null
                    && tooLarge.getMessage().startsWith("the image has")) {
                throw tooLarge;
            }
            return Optional.empty();
        }
    }

    /** Channels of a decoded picture: 1 for gray, 3 for anything in colour. */
    public static int channelsOf(BufferedImage image) {
        return image.getColorModel().getNumColorComponents() == 1 ? 1 : 3;
    }

    /** The picture as {@code shape.size()} unsigned bytes, channel-major. */
    public static byte[] toChw(BufferedImage image, ImageShape shape) {
        BufferedImage sized = image;
        if (image.getWidth() != shape.width() || image.getHeight() != shape.height()
                || image.getType() != BufferedImage.TYPE_INT_RGB) {
            sized = new BufferedImage(shape.width(), shape.height(), BufferedImage.TYPE_INT_RGB);
            var g = sized.createGraphics();
            try {
                g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
                g.drawImage(image, 0, 0, shape.width(), shape.height(), null);
            } finally {
                g.dispose();
            }
        }
        int plane = shape.height() * shape.width();
        byte[] out = new byte[shape.size()];
        for (int y = 0; y < shape.height(); y++) {
            for (int x = 0; x < shape.width(); x++) {
                int rgb = sized.getRGB(x, y);
                int r = (rgb >> 16) & 0xFF;
                int gr = (rgb >> 8) & 0xFF;
                int b = rgb & 0xFF;
                int i = y * shape.width() + x;
                if (shape.channels() == 1) {
                    out[i] = (byte) Math.round(0.299 * r + 0.587 * gr + 0.114 * b);
                } else {
                    out[i] = (byte) r;
                    out[plane + i] = (byte) gr;
                    out[2 * plane + i] = (byte) b;
                }
            }
        }
        return out;
    }
}
