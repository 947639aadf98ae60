package io.featurerelay.system;

import static io.restassured.RestAssured.given;

import io.featurerelay.service.testing.MetricsText;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a service process holds, as the operating system and the service itself tell it: resident memory and
 * threads from /proc/PID/status, open file descriptors (and how many of them are sockets) from /proc/PID/fd, the
 * JVM's direct buffers and its heap in use right after a full collection (asked for with {@code jcmd PID GC.run})
 * from its /q/metrics. ND4J's native arrays are not direct buffers; they are in the resident memory.
 */
record ProcessFigures(long residentBytes, int threads, int openFiles, int sockets, long directBytes,
        long heapAfterGcBytes) {

    static ProcessFigures of(ServiceProcess service) {
        Path proc = Path.of("/proc", Long.toString(service.pid()));
        try {
            collectGarbage(service.pid());
            long rss = -1;
            int threads = -1;
            for (String line : Files.readAllLines(proc.resolve("status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                } else if (line.startsWith("Threads:")) {
                    threads = Integer.parseInt(line.replaceAll("[^0-9]", ""));
                }
            }
            int files = 0;
            int sockets = 0;
            try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
                for (Path fd : fds.toList()) {
                    files++;
                    try {
                        if (Files.readSymbolicLink(fd).toString().startsWith("socket:")) {
                            sockets++;
                        }
                    } catch (IOException closedMeanwhile) {
                        // closed between the listing and the look: still counted as open at the listing
                    }
                }
            }
            String metrics = given().baseUri(service.url()).get("/q/metrics").then().statusCode(200).extract()
                    .asString();
            long direct = (long) MetricsText.value(metrics, "jvm_buffer_memory_used_bytes", "id", "direct");
            return new ProcessFigures(rss, threads, files, sockets, direct, heapInUse(metrics));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The sum over the heap's pools (G1's eden, survivor and old generation). */
    private static long heapInUse(String metrics) {
        long sum = 0;
        for (String line : metrics.split("\n")) {
            if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
                sum += (long) Double.parseDouble(line.substring(line.lastIndexOf('}') + 1).trim().split("\\s+")[0]);
            }
        }
        return sum;
    }

    /** A full collection in the service, so that the heap figure is what is still referenced, not garbage. */
    private static void collectGarbage(long pid) throws IOException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(List.of(jcmd.toString(), Long.toString(pid), "GC.run"))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("jcmd " + pid + " GC.run did not succeed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "RSS %.1f MiB, heap after GC %.1f MiB, %d threads, %d open files (%d sockets), direct buffers %.2f MiB"
                .formatted(residentBytes / 1048576.0, heapAfterGcBytes / 1048576.0, threads, openFiles, sockets,
                        directBytes / 1048576.0);
    }
}
