package io.featurerelay.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/** Finds the directory that holds PostgreSQL's server binaries (initdb, postgres). */
final class PostgresBinaries {

    /** System property or environment variable naming the binaries' directory, for layouts other than Debian's. */
    static final String BIN_DIR_SETTING = "FEATURERELAY_PG_BIN";
    /** Debian and Ubuntu install each major version side by side below this directory. */
    static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");
    static final String INSTALL_HINT = "On Debian: sudo apt-get install -y postgresql (or set " + BIN_DIR_SETTING
            + " to the directory that holds initdb and postgres)";

    private PostgresBinaries() {
    }

    static Path locate() {
        String configured = System.getProperty(BIN_DIR_SETTING, System.getenv(BIN_DIR_SETTING));
        if (configured != null && !configured.isBlank()) {
            Path dir = Path.of(configured);
            if (!holdsServer(dir)) {
                throw new IllegalStateException(BIN_DIR_SETTING + "=" + configured
                        + " does not hold executable initdb and postgres binaries");
            }
            return dir;
        }
        return newestDebianMajor().orElseThrow(() -> new IllegalStateException(
                "PostgreSQL's server binaries are missing: no " + DEBIAN_ROOT + "/<major>/bin/initdb. " + INSTALL_HINT));
    }

    /** The bin directory of the highest major version installed the Debian way, if any. */
    static Optional<Path> newestDebianMajor() {
        if (!Files.isDirectory(DEBIAN_ROOT)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
            return versions.filter(v -> majorOf(v) >= 0).filter(v -> holdsServer(v.resolve("bin")))
                    .max(Comparator.comparingDouble(PostgresBinaries::majorOf)).map(v -> v.resolve("bin"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + DEBIAN_ROOT, e);
        }
    }

    /** "15" is 15, "9.6" is 9.6 (before version 10 the major version had two parts); anything else -1. */
    private static double majorOf(Path versionDir) {
        String name = versionDir.getFileName().toString();
        return name.matches("\\d+(\\.\\d+)?") ? Double.parseDouble(name) : -1;
    }

    private static boolean holdsServer(Path dir) {
        return Files.isExecutable(dir.resolve("initdb")) && Files.isExecutable(dir.resolve("postgres"));
    }
}
