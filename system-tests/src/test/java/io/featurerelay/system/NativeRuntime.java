package io.featurerelay.system;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The services' native runtime settings (glibc, libgomp): the NAME=VALUE lines of deploy/k8s/base/native-runtime.env. */
final class NativeRuntime {

    static final Path FILE = Manifests.REPO.resolve("deploy/k8s/base/native-runtime.env");

    private NativeRuntime() {
    }

    /** NAME=VALUE lines in file order; comments and blank lines skipped. */
    static Map<String, String> settings() {
        Map<String, String> settings = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(FILE)) {
                String trimmed = line.strip();
                if (trimmed.isEmpty() || trimmed.startsWith("#")) {
                    continue;
                }
                int equals = trimmed.indexOf('=');
                if (equals <= 0) {
                    throw new IllegalStateException(FILE + ": not NAME=VALUE: " + line);
                }
                settings.put(trimmed.substring(0, equals), trimmed.substring(equals + 1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return settings;
    }
}
