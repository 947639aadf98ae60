package io.featurerelay.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/** Generated passwords, kept in files only their owner can read (mode 600). */
final class PasswordFiles {

    private static final SecureRandom RANDOM = new SecureRandom();

    private PasswordFiles() {
    }

    /** 24 random bytes as URL-safe base64: 32 characters that need no quoting in a shell, a URL or SQL. */
    static String generate() {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The password in {@code file}; a new one written there first (mode 600) when the file does not exist. */
    static String readOrCreate(Path file) {
        if (!Files.exists(file)) {
            try {
                write(file, generate());
            } catch (UncheckedIOException e) {
                if (!(e.getCause() instanceof FileAlreadyExistsException)) {
                    throw e;
                }
                // another process wrote it meanwhile: read that one
            }
        }
        return read(file);
    }

    static String read(Path file) {
        try {
            String password = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (password.isEmpty()) {
                throw new IllegalStateException("the password file " + file + " is empty");
            }
            return password;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the password file " + file, e);
        }
    }

    /** Creates {@code file} with mode 600 from the start, so that the password is never readable by others. */
    static void write(Path file, String password) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, password + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the password file " + file, e);
        }
    }
}
