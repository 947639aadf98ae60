package io.featurerelay.learning.dataset;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/** The datasets Feature Relay reads, each with its default directory and how to get its files. */
public enum DatasetKind {

    FASHION_MNIST("fashion-mnist", "/usr/share/datasets/fashion-mnist",
            "Get it with the Debian package: sudo apt-get install -y dataset-fashion-mnist (it installs "
                    + "/usr/share/datasets/fashion-mnist), or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                    + "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from the Fashion-MNIST release into the "
                    + "data directory.",
            List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot"),
            new ImageShape(1, 28, 28)),
    MNIST("mnist", "/usr/share/datasets/mnist",
            "Put train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and "
                    + "t10k-labels-idx1-ubyte(.gz) from the MNIST distribution into the data directory.",
            IntStream.range(0, 10).mapToObj(Integer::toString).toList(),
            new ImageShape(1, 28, 28)),
    CIFAR_10("cifar-10", "data/cifar-10-batches-bin",
            "Extract the CIFAR-10 binary version (cifar-10-binary.tar.gz: data_batch_1.bin .. data_batch_5.bin, "
                    + "test_batch.bin) into the data directory.",
            Cifar10BinaryReader.CLASS_NAMES, Cifar10BinaryReader.SHAPE),
    IMAGE_FOLDER("image-folder", "data/images",
            "Lay the images out as DIR/train/<class>/*.png|jpg and DIR/test/<class>/*.png|jpg, one sub-folder per "
                    + "class.",
            List.of(), null);

    private final String id;
    private final Path defaultDirectory;
    private final String howToGet;
    private final List<String> classNames;
    private final ImageShape shape;

    DatasetKind(String id, String defaultDirectory, String howToGet, List<String> classNames, ImageShape shape) {
        this.id = id;
        this.defaultDirectory = Path.of(defaultDirectory);
        this.howToGet = howToGet;
        this.classNames = classNames;
        this.shape = shape;
    }

    /** The name used in configuration, requests and envelopes, e.g. {@code fashion-mnist}. */
    public String id() {
        return id;
    }

    public Path defaultDirectory() {
        return defaultDirectory;
    }

    public String howToGet() {
        return howToGet;
    }

    /** Class names when fixed by the dataset; empty for image folders, whose sub-folders name them. */
    public List<String> classNames() {
        return classNames;
    }

    /** Image shape when fixed by the dataset; empty for image folders. */
    public Optional<ImageShape> shape() {
        return Optional.ofNullable(shape);
    }

    public static Optional<DatasetKind> byId(String id) {
        return Arrays.stream(values()).filter(k -> k.id.equals(id)).findFirst();
    }

    public static List<String> ids() {
        return Arrays.stream(values()).map(DatasetKind::id).toList();
    }

    /**
     * Its classes and image shape: fixed for the built-in datasets, which need only their directory to exist;
     * an image folder's come from its sub-folders and first image.
     *
     * @throws DatasetException when the directory is missing or (image folders) has no classes or images
     */
    public DatasetDescription describe(Path dir) {
        Path d = dir == null ? defaultDirectory : dir;
        if (!java.nio.file.Files.isDirectory(d)) {
            throw new DatasetException(d, "data directory is missing. " + howToGet);
        }
        List<String> expected = switch (this) {
            case FASHION_MNIST, MNIST -> List.of("train-images-idx3-ubyte", "t10k-images-idx3-ubyte");
            case CIFAR_10 -> List.of("data_batch_1.bin", "test_batch.bin");
            case IMAGE_FOLDER -> List.of();
        };
        for (String name : expected) {
            if (!java.nio.file.Files.isRegularFile(d.resolve(name))
                    && (this == CIFAR_10 || !java.nio.file.Files.isRegularFile(d.resolve(name + ".gz")))) {
                throw new DatasetException(d.resolve(name), "file is missing. " + howToGet);
            }
        }
        return this == IMAGE_FOLDER ? new ImageFolderReader(howToGet).describe(d)
                : new DatasetDescription(classNames, shape);
    }

    /**
     * The train and test images of {@code classes} alone, labelled 0..n-1 in the order given: what
     * {@code load(dir).subset(classes)} gives, read so that the other classes take no memory where the format
     * allows it (CIFAR-10's records are dropped as they are read).
     *
     * @throws IllegalArgumentException when the classes are empty, repeated or out of this dataset's range
     */
    public TrainTestSplit load(Path dir, List<Integer> classes) {
        if (this == CIFAR_10) {
            return new Cifar10BinaryReader(howToGet).read(dataDirectory(dir), classes);
        }
        return load(dir).subset(classes);
    }

    /** {@code dir}, or the default directory when null; it must exist. */
    private Path dataDirectory(Path dir) {
        Path d = dir == null ? defaultDirectory : dir;
        if (!java.nio.file.Files.isDirectory(d)) {
            throw new DatasetException(d, "data directory is missing. " + howToGet);
        }
        return d;
    }

    /** Reads the train and test splits from {@code dir} (the default directory when null). */
    public TrainTestSplit load(Path dir) {
        Path d = dataDirectory(dir);
        return switch (this) {
            case FASHION_MNIST, MNIST -> {
                IdxReader reader = new IdxReader(howToGet);
                ImageDataset train = reader.read(id,
                        DataFiles.firstExisting(d, "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"),
                        DataFiles.firstExisting(d, "train-labels-idx1-ubyte.gz", "train-labels-idx1-ubyte"), classNames);
                ImageDataset test = reader.read(id,
                        DataFiles.firstExisting(d, "t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"),
                        DataFiles.firstExisting(d, "t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"), classNames);
                yield new TrainTestSplit(train, test);
            }
            case CIFAR_10 -> new Cifar10BinaryReader(howToGet).read(d);
            case IMAGE_FOLDER -> new ImageFolderReader(howToGet).read(d);
        };
    }
}
