package io.featurerelay.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The unprivileged operating-system account that PostgreSQL's binaries run as when this JVM runs as root:
 * PostgreSQL refuses to start as root, and CI and the run command may well be root.
 */
final class ServerAccount {

    /** Created as a system account when missing; {@code nobody} is the fallback where that is not possible. */
    static final String DEDICATED_NAME = "featurerelay-pg";
    static final String FALLBACK_NAME = "nobody";

    private final String name;
    private final int uid;
    private final int gid;

    private ServerAccount(String name, int uid, int gid) {
        this.name = name;
        this.uid = uid;
        this.gid = gid;
    }

    /** The account to switch to: present only when this JVM runs as root, otherwise the binaries run as we do. */
    static Optional<ServerAccount> forThisJvm() {
        if (currentUid() != 0) {
            return Optional.empty();
        }
        Optional<ServerAccount> dedicated = lookUp(DEDICATED_NAME);
        if (dedicated.isEmpty()) {
            run(List.of("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                    "--shell", "/usr/sbin/nologin", "--comment", "Feature Relay local PostgreSQL", DEDICATED_NAME));
            // looked up again whatever useradd said: a concurrent test JVM may have created it first
            dedicated = lookUp(DEDICATED_NAME);
        }
        return Optional.of(dedicated.or(() -> lookUp(FALLBACK_NAME)).orElseThrow(() -> new IllegalStateException(
                "running as root, but neither the account " + DEDICATED_NAME + " could be created nor " + FALLBACK_NAME
                        + " exists; PostgreSQL refuses to run as root")));
    }

    String name() {
        return name;
    }

    /** {@code command} run as this account: setpriv execs in place, so the process we hold is the server itself. */
    List<String> wrap(List<String> command) {
        List<String> wrapped = new ArrayList<>();
        if (onPath("setpriv")) {
            wrapped.addAll(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--init-groups", "--"));
        } else {
            wrapped.addAll(List.of("runuser", "-u", name, "--"));
        }
        wrapped.addAll(command);
        return wrapped;
    }

    /** Gives {@code path} and everything below it to this account (a data directory created by root). */
    void own(Path path) {
        try {
            UserPrincipalLookupService lookup = path.getFileSystem().getUserPrincipalLookupService();
            UserPrincipal user = lookup.lookupPrincipalByName(name);
            GroupPrincipal group = lookup.lookupPrincipalByGroupName(Integer.toString(gid));
            try (Stream<Path> tree = Files.walk(path)) {
                for (Path p : (Iterable<Path>) tree::iterator) {
                    PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                            LinkOption.NOFOLLOW_LINKS);
                    if (!view.readAttributes().owner().equals(user)) {
                        view.setOwner(user);
                        view.setGroup(group);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot give " + path + " to the account " + name, e);
        }
    }

    /**
     * Lets this account reach {@code dir}: every directory above it that others cannot search gets the search bit
     * (o+x, which lists nothing), as a temporary directory (mode 700) or a checkout below /root would need.
     */
    void makeReachable(Path dir) {
        for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            try {
                PosixFileAttributes attributes = Files.readAttributes(p, PosixFileAttributes.class);
                Set<PosixFilePermission> permissions = attributes.permissions();
                if (!permissions.contains(PosixFilePermission.OTHERS_EXECUTE)
                        && !attributes.owner().getName().equals(name)) {
                    permissions.add(PosixFilePermission.OTHERS_EXECUTE);
                    Files.setPosixFilePermissions(p, permissions);
                    System.err.println("made " + p + " searchable by others (o+x) so that " + name
                            + " reaches the PostgreSQL data below it");
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot let " + name + " reach " + dir + " (at " + p + ")", e);
            }
        }
    }

    private static Optional<ServerAccount> lookUp(String name) {
        Optional<String> uid = run(List.of("id", "-u", name));
        Optional<String> gid = run(List.of("id", "-g", name));
        if (uid.isEmpty() || gid.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ServerAccount(name, Integer.parseInt(uid.get()), Integer.parseInt(gid.get())));
    }

    /** The real uid of this JVM: /proc/self belongs to it. */
    static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return run(List.of("id", "-u")).map(Integer::parseInt).orElse(-1);
        }
    }

    static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        return Stream.of(path.split(":")).anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, tool)));
    }

    /** The command's trimmed output when it exits with 0, empty otherwise. */
    private static Optional<String> run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return Optional.empty();
            }
            return process.exitValue() == 0 ? Optional.of(output) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
