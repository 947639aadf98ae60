package io.featurerelay.learning;

import static org.assertj.core.api.Assertions.assertThat;

import io.featurerelay.learning.model.NativeBackend;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Makes every test class of this module run on the libnd4j build that {@link NativeBackend} chooses, and
 * proves it: registered for all tests (META-INF/services, autodetection in junit-platform.properties), it
 * configures the backend before any test class can touch ND4J, then loads ND4J and asserts that the
 * {@code libnd4jcpu.so} this JVM mapped is that build's. It also asserts that the tests run under the
 * production JVM memory flags (the Kubernetes manifest's {@code JAVA_OPTS}, which the run command and the
 * images share): a test that passes with 2 GB of heap proves nothing about a service that has 512 MB.
 */
public final class NativeBackendExtension implements BeforeAllCallback {

    /** Where the services' production JVM flags are written down (a manifest test keeps the others equal). */
    static final Path PRODUCTION_FLAGS = Path.of("../deploy/k8s/base/trainer-service.yaml");

    private static volatile String verified;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        if (verified == null) {
            verify();
        }
    }

    private static synchronized void verify() throws IOException {
        if (verified != null) {
            return;
        }
        String chosen = NativeBackend.configure();
        Nd4j.create(1); // loads the backend and its native library
        String library = loadedNd4jLibrary();
        String expectedDirectory = "linux-x86_64" + chosen;
        assertThat(Path.of(library).getParent().getFileName().toString())
                .as("libnd4jcpu.so loaded from %s, chosen build %s", library, expectedDirectory)
                .isEqualTo(expectedDirectory);
        List<String> arguments = ManagementFactory.getRuntimeMXBean().getInputArguments();
        assertThat(arguments).as("the test JVM's arguments carry the production memory flags")
                .containsAll(productionMemoryFlags());
        verified = library;
    }

    /** The path of the libnd4jcpu.so javacpp loaded in this JVM. */
    static String loadedNd4jLibrary() {
        for (Map.Entry<String, String> e : Loader.getLoadedLibraries().entrySet()) {
            if (e.getValue() != null && e.getValue().endsWith("/libnd4jcpu.so")) {
                return e.getValue();
            }
        }
        throw new AssertionError("ND4J is loaded but no libnd4jcpu.so is among javacpp's libraries: "
                + Loader.getLoadedLibraries());
    }

    /** The -X and -D flags of the production {@code JAVA_OPTS}. */
    static List<String> productionMemoryFlags() throws IOException {
        List<String> lines = Files.readAllLines(PRODUCTION_FLAGS);
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).trim().equals("- name: JAVA_OPTS")) {
                String value = lines.get(i + 1).trim();
                assertThat(value).startsWith("value: \"");
                String flags = value.substring("value: \"".length(), value.length() - 1);
                return Arrays.asList(flags.split("\\s+"));
            }
        }
        throw new AssertionError("no JAVA_OPTS in " + PRODUCTION_FLAGS);
    }

    /** The library the extension verified (for tests that report it), null before any test class ran. */
    public static String verifiedLibrary() {
        return verified;
    }
}
