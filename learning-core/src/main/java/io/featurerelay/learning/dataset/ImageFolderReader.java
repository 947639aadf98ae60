package io.featurerelay.learning.dataset;

import io.featurerelay.learning.ids.Identifier;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Reads {@code DIR/train/<class>/*.png|jpg} and {@code DIR/test/<class>/...}: one sub-folder per class,
 * classes in alphabetical order. The first training image fixes the shape (size, gray or colour);
 * every other image is converted to it.
 */
public final class ImageFolderReader {

    static final int MAX_IMAGES = 200_000;
    static final long MAX_FILE_BYTES = 20L << 20;

    private final String howToGet;

    public ImageFolderReader(String howToGet) {
        this.howToGet = howToGet;
    }

    public TrainTestSplit read(Path dir) {
        Path trainDir = dir.resolve("train");
        List<String> classes = classFolders(trainDir);
        ImageShape shape = firstShape(trainDir, classes);
        return new TrainTestSplit(read(trainDir, classes, shape), read(dir.resolve("test"), classes, shape));
    }

    /** The classes and image shape of {@code dir} without reading every image: one listing and one image. */
    public DatasetDescription describe(Path dir) {
        Path trainDir = dir.resolve("train");
        List<String> classes = classFolders(trainDir);
        return new DatasetDescription(classes, firstShape(trainDir, classes));
    }

    private List<String> classFolders(Path split) {
        if (!Files.isDirectory(split)) {
            throw new DatasetException(split, "folder is missing. " + howToGet);
        }
        try (Stream<Path> children = Files.list(split)) {
            List<String> classes = children.filter(ImageFolderReader::visible).filter(Files::isDirectory)
                    .map(ImageFolderReader::checkedName).sorted().toList();
            if (classes.size() < 2) {
                throw new DatasetException(split, "needs one sub-folder per class (at least 2), found " + classes.size()
                        + ". " + howToGet);
            }
            return classes;
        } catch (IOException e) {
            throw new DatasetException(split, "cannot be listed (" + e.getMessage() + ")", e);
        }
    }

    private ImageShape firstShape(Path trainDir, List<String> classes) {
        for (String c : classes) {
            List<Path> files = imageFiles(trainDir.resolve(c));
            if (!files.isEmpty()) {
                BufferedImage first = decode(files.get(0));
                return new ImageShape(ImageConverter.channelsOf(first), first.getHeight(), first.getWidth());
            }
        }
        throw new DatasetException(trainDir, "holds no PNG or JPEG image. " + howToGet);
    }

    private ImageDataset read(Path split, List<String> classes, ImageShape shape) {
        if (!Files.isDirectory(split)) {
            throw new DatasetException(split, "folder is missing. " + howToGet);
        }
        ByteArrayOutputStream pixels = new ByteArrayOutputStream();
        List<Integer> labels = new ArrayList<>();
        for (int label = 0; label < classes.size(); label++) {
            Path classDir = split.resolve(classes.get(label));
            if (!Files.isDirectory(classDir)) {
                throw new DatasetException(classDir, "folder is missing: every class of train/ needs one here too. "
                        + howToGet);
            }
            for (Path file : imageFiles(classDir)) {
                if (labels.size() >= MAX_IMAGES) {
                    throw new DatasetException(split, "holds more than " + MAX_IMAGES + " images");
                }
                pixels.writeBytes(ImageConverter.toChw(decode(file), shape));
                labels.add(label);
            }
        }
        if (labels.isEmpty()) {
            throw new DatasetException(split, "holds no PNG or JPEG image. " + howToGet);
        }
        return new ImageDataset("image-folder", shape, pixels.toByteArray(),
                labels.stream().mapToInt(Integer::intValue).toArray(), classes);
    }

    private static List<Path> imageFiles(Path classDir) {
        try (Stream<Path> files = Files.list(classDir)) {
            return files.filter(ImageFolderReader::visible).filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
            }).peek(ImageFolderReader::checkedName).sorted().toList();
        } catch (IOException e) {
            throw new DatasetException(classDir, "cannot be listed (" + e.getMessage() + ")", e);
        }
    }

    /** Hidden entries (a file manager's {@code .DS_Store}, an editor's backups) are not part of the dataset. */
    private static boolean visible(Path entry) {
        return !entry.getFileName().toString().startsWith(".");
    }

    /**
     * The entry's name, when it may be one: a class folder's name becomes a class name (in envelopes, on the
     * page), and nothing that lists a folder should hand on a name that is not one plain path segment.
     */
    private static String checkedName(Path entry) {
        String name = entry.getFileName().toString();
        Identifier.FILE_NAME.problem(name).ifPresent(problem -> {
            throw new DatasetException(entry.getParent(), "holds " + Identifier.quote(name) + ", whose name "
                    + problem + "; rename it to letters, digits, spaces and _ . - + ( )");
        });
        return name;
    }

    private BufferedImage decode(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new DatasetException(file, "is " + size + " bytes, more than " + MAX_FILE_BYTES);
            }
            return ImageConverter.decode(Files.readAllBytes(file))
                    .orElseThrow(() -> new DatasetException(file, "is not a PNG or JPEG image that can be decoded"));
        } catch (IOException e) {
            throw new DatasetException(file, "cannot be read (" + e.getMessage() + ")", e);
        }
    }
}
