package io.featurerelay.learning;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a Python script of clients/python with Debian's interpreter, where .ci/run installs python3-numpy and
 * python3-torch ({@code -Dfeaturerelay.python=...} names another), and returns its exit status and output.
 */
public final class PythonProcess {

    public static final Path CLIENT = Path.of("../clients/python");

    public record Result(int exitCode, String output) {
    }

    private PythonProcess() {
    }

    public static String interpreter() {
        String configured = System.getProperty("featurerelay.python");
        if (configured != null) {
            return configured;
        }
        return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
    }

    public static Result run(long timeoutSeconds, String... arguments) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(interpreter());
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).directory(CLIENT.toFile()).redirectErrorStream(true).start();
        process.getOutputStream().close();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not end within " + timeoutSeconds + " s");
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(process.exitValue(), output);
    }
}
