package io.featurerelay.learning.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderReaderTest {

    @TempDir
    Path dir;

    private void image(String split, String cls, String name, int w, int h, Color color, String format)
            throws IOException {
        Path folder = Files.createDirectories(dir.resolve(split).resolve(cls));
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        var g = img.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, w, h);
        g.dispose();
        ImageIO.write(img, format, folder.resolve(name).toFile());
    }

    @Test
    void readsClassFoldersAndConvertsOtherSizes() throws IOException {
        image("train", "cats", "a.png", 8, 6, Color.RED, "png");
        image("train", "cats", "b.png", 16, 12, Color.RED, "png");
        image("train", "dogs", "c.jpg", 8, 6, Color.BLUE, "jpg");
        image("test", "cats", "d.png", 8, 6, Color.RED, "png");
        image("test", "dogs", "e.png", 8, 6, Color.BLUE, "png");

        TrainTestSplit split = DatasetKind.IMAGE_FOLDER.load(dir);

        assertThat(split.classNames()).containsExactly("cats", "dogs");
        assertThat(split.shape()).isEqualTo(new ImageShape(3, 6, 8));
        assertThat(split.train().labels()).containsExactly(0, 0, 1);
        assertThat(split.test().labels()).containsExactly(0, 1);
        // the resized red image is still red: full red plane, empty blue plane
        assertThat(split.train().pixel(1, 0)).isEqualTo(1f);
        assertThat(split.train().pixel(1, 2 * 48)).isEqualTo(0f);
        assertThat(split.test().pixel(1, 2 * 48)).isEqualTo(1f);
    }

    @Test
    void aFileThatIsNoImageIsNamed() throws IOException {
        image("train", "a", "x.png", 4, 4, Color.RED, "png");
        image("train", "b", "y.png", 4, 4, Color.RED, "png");
        image("test", "a", "x.png", 4, 4, Color.RED, "png");
        Files.createDirectories(dir.resolve("test/b"));
        Files.writeString(dir.resolve("test/b/broken.png"), "not a picture");
        assertThatThrownBy(() -> DatasetKind.IMAGE_FOLDER.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("broken.png")
                .hasMessageContaining("not a PNG or JPEG image");
    }

    @Test
    void missingTestFolderIsNamed() throws IOException {
        image("train", "a", "x.png", 4, 4, Color.RED, "png");
        image("train", "b", "y.png", 4, 4, Color.RED, "png");
        assertThatThrownBy(() -> DatasetKind.IMAGE_FOLDER.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("test: folder is missing")
                .hasMessageContaining("DIR/train/<class>");
    }

    @Test
    void hiddenEntriesAreSkippedAndANameThatIsNoPlainSegmentIsNamed() throws IOException {
        image("train", "a", "x.png", 4, 4, Color.RED, "png");
        image("train", "b", "y.png", 4, 4, Color.RED, "png");
        image("test", "a", "x.png", 4, 4, Color.RED, "png");
        image("test", "b", "y.png", 4, 4, Color.RED, "png");
        Files.writeString(dir.resolve("train/a/.DS_Store"), "not a picture");
        Files.createDirectories(dir.resolve("train/.thumbnails"));
        assertThat(DatasetKind.IMAGE_FOLDER.load(dir).classNames()).containsExactly("a", "b");

        image("train", "b", "caf\u00e9.png", 4, 4, Color.RED, "png");
        assertThatThrownBy(() -> DatasetKind.IMAGE_FOLDER.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("train/b")
                .hasMessageContaining("'caf\\u00e9.png'")
                .hasMessageContaining("contains a non-ASCII character");
        Files.delete(dir.resolve("train/b/caf\u00e9.png"));

        // a class folder's name becomes a class name: a newline in it would forge lines wherever it is shown
        image("train", "c\nd", "z.png", 4, 4, Color.RED, "png");
        assertThatThrownBy(() -> DatasetKind.IMAGE_FOLDER.load(dir))
                .isInstanceOf(DatasetException.class)
                .hasMessageContaining("'c\\u000ad'")
                .hasMessageContaining("contains a control character");
    }
}
