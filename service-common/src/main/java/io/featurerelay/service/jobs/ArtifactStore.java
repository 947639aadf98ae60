package io.featurerelay.service.jobs;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import org.postgresql.PGConnection;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * A job's artifacts (model zips, envelopes, checkpoints) as PostgreSQL large objects: written through a stream
 * inside the caller's transaction, and read through a stream, so that no artifact is ever held whole in the heap
 * by the store. Every replica reads what any replica wrote; a replaced or deleted artifact's large object is
 * unlinked by the table's trigger in the same transaction.
 */
public final class ArtifactStore {

    private static final int BUFFER = 1 << 16;

    private final Database database;

    public ArtifactStore(Database database) {
        this.database = database;
    }

    public Database database() {
        return database;
    }

    /** Writes (or replaces) {@code name} of {@code jobId} in the caller's transaction; returns its size. */
    public long write(Connection c, String jobId, String name, ContentWriter content) throws SQLException,
            IOException {
        StoredObject stored = writeLargeObject(c, content);
        long oid = stored.oid();
        long bytes = stored.bytes();
        try (PreparedStatement s = c.prepareStatement("""
                INSERT INTO artifacts (job_id, name, content, bytes) VALUES (?, ?, ?, ?)
                ON CONFLICT (job_id, name) DO UPDATE SET content = excluded.content, bytes = excluded.bytes,
                    created_at = now()""")) {
            s.setString(1, jobId);
            s.setString(2, name);
            s.setLong(3, oid);
            s.setLong(4, bytes);
            s.executeUpdate();
        }
        return bytes;
    }

    /** A large object's id and size. */
    public record StoredObject(long oid, long bytes) {
    }

    /** A new large object holding what {@code content} writes; the caller stores its oid in the same transaction. */
    public static StoredObject writeLargeObject(Connection c, ContentWriter content) throws SQLException,
            IOException {
        LargeObjectManager objects = c.unwrap(PGConnection.class).getLargeObjectAPI();
        long oid = objects.createLO(LargeObjectManager.READWRITE);
        LargeObject object = objects.open(oid, LargeObjectManager.WRITE);
        NonClosing counted;
        try (OutputStream out = new BufferedOutputStream(object.getOutputStream(), BUFFER)) {
            counted = new NonClosing(out);
            content.write(counted);
        }
        return new StoredObject(oid, counted.bytes);
    }

    /** Reads {@code name} of {@code jobId} in its own transaction; empty when the job has no such artifact. */
    public <T> Optional<T> read(String jobId, String name, ContentReader<T> reader) {
        return database.transaction(c -> read(c, jobId, name, reader));
    }

    public <T> Optional<T> read(Connection c, String jobId, String name, ContentReader<T> reader)
            throws SQLException, IOException {
        try (PreparedStatement s = c.prepareStatement(
                "SELECT content, bytes FROM artifacts WHERE job_id = ? AND name = ?")) {
            s.setString(1, jobId);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                if (!r.next()) {
                    return Optional.empty();
                }
                return Optional.of(readLargeObject(c, r.getLong(1), r.getLong(2), reader));
            }
        }
    }

    /** Streams a large object to {@code reader}; the caller's transaction must stay open meanwhile. */
    public static <T> T readLargeObject(Connection c, long oid, long bytes, ContentReader<T> reader)
            throws SQLException, IOException {
        LargeObject object = c.unwrap(PGConnection.class).getLargeObjectAPI().open(oid, LargeObjectManager.READ);
        try (InputStream in = new Sized(new BufferedInputStream(object.getInputStream(), BUFFER), bytes)) {
            return reader.read(in, bytes);
        }
    }

    public boolean exists(String jobId, String name) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM artifacts WHERE job_id = ? AND name = ?")) {
                s.setString(1, jobId);
                s.setString(2, name);
                try (ResultSet r = s.executeQuery()) {
                    return r.next();
                }
            }
        });
    }

    public void delete(Connection c, String jobId, String name) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("DELETE FROM artifacts WHERE job_id = ? AND name = ?")) {
            s.setString(1, jobId);
            s.setString(2, name);
            s.executeUpdate();
        }
    }

    /**
     * Says how much is left in {@link #available()}: a large object's own stream answers 0, and readers such as
     * DL4J's model loader take 0 for an empty stream.
     */
    private static final class Sized extends java.io.FilterInputStream {
        private long remaining;

        Sized(InputStream in, long bytes) {
            super(in);
            this.remaining = bytes;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = in.skip(n);
            remaining -= skipped;
            return skipped;
        }

        @Override
        public int available() {
            return (int) Math.min(Integer.MAX_VALUE, Math.max(0, remaining));
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    /**
     * Writers (Jackson, zip streams) close what they are given; the store closes the large object itself. Counts
     * the bytes on the way.
     */
    private static final class NonClosing extends FilterOutputStream {
        long bytes;

        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            bytes += len;
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
