package io.featurerelay.system;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A small tmpfs mounted for one test, so that a disk can really fill up: a file written to it takes the space, and
 * deleting it gives the space back. Mounting needs root (CI runs as root); elsewhere the test is skipped with an
 * assumption that says so. Unmounted and removed by {@link #close()}.
 */
final class SmallDisk implements AutoCloseable {

    private final Path root;
    private final Path mountPoint;
    private final Path filler;

    private SmallDisk(Path root) {
        this.root = root;
        this.mountPoint = root.resolve("disk");
        this.filler = mountPoint.resolve("filler");
    }

    /** Mounts a tmpfs of {@code mebibytes}; skips the test where that cannot be done. */
    static SmallDisk mount(int mebibytes) throws IOException, InterruptedException {
        Assumptions.assumeTrue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid") == 0,
                "the disk-full test mounts a small tmpfs, which needs root (CI runs as root): skipped");
        Path root = Files.createTempDirectory("featurerelay-disk-");
        // searchable, so that the database's own account reaches the mount point below it
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
        SmallDisk disk = new SmallDisk(root);
        Files.createDirectories(disk.mountPoint);
        int code = run(List.of("mount", "-t", "tmpfs", "-o", "size=" + mebibytes + "m,mode=0700", "tmpfs",
                disk.mountPoint.toString()));
        if (code != 0) {
            Files.delete(disk.mountPoint);
            Files.delete(root);
        }
        Assumptions.assumeTrue(code == 0, "mount -t tmpfs failed (a container without CAP_SYS_ADMIN?): skipped");
        return disk;
    }

    /** Hands the disk's root to {@code owner} (the database server's account, which keeps a tablespace there). */
    SmallDisk ownedBy(UserPrincipal owner) throws IOException {
        Files.setOwner(mountPoint, owner);
        return this;
    }

    Path path() {
        return mountPoint;
    }

    long freeBytes() throws IOException {
        return Files.getFileStore(mountPoint).getUsableSpace();
    }

    /** Takes all but {@code leftBytes} of the free space (a file of root's; tmpfs keeps no reserve for root). */
    void fill(long leftBytes) throws IOException {
        long size = freeBytes() - leftBytes;
        try (RandomAccessFile f = new RandomAccessFile(filler.toFile(), "rw")) {
            byte[] block = new byte[1 << 20];
            long written = 0;
            while (written < size) {
                int n = (int) Math.min(block.length, size - written);
                // written, not just set to a length: a sparse file on tmpfs would take no pages
                f.write(block, 0, n);
                written += n;
            }
        }
    }

    /** Gives the space back. */
    void free() throws IOException {
        Files.deleteIfExists(filler);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (run(List.of("umount", mountPoint.toString())) != 0) {
            // still busy (a process that outlived the test): detach it, the kernel frees it once unused
            run(List.of("umount", "-l", mountPoint.toString()));
        }
        Files.deleteIfExists(mountPoint);
        Files.deleteIfExists(root);
    }

    private static int run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(
                ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    @Override
    public String toString() {
        try {
            return mountPoint + " (" + freeBytes() / 1024 + " KiB free)";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
