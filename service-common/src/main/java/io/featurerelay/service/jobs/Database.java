package io.featurerelay.service.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Transactions over the service's datasource. A failure to reach the database (or one it reports as an
 * operator or connection problem) becomes {@link StoreUnavailableException}, so that callers can tell "try again
 * later" from a bug; SQL errors of our own statements stay {@link IllegalStateException}s.
 */
public final class Database {

    private final DataSource dataSource;

    public Database(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
    public <T> T transaction(SqlWork<T> work) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | IOException | RuntimeException | Error e) {
                rollbackQuietly(c, e);
                throw e;
            }
        } catch (SQLException e) {
            throw translate(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void rollbackQuietly(Connection c, Throwable cause) {
        try {
            c.rollback();
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** SQLSTATE classes 08 (connection), 53 (resources), 57 (operator intervention), 58 (system), and no state. */
    public static RuntimeException translate(SQLException e) {
        String state = e.getSQLState();
        if (state == null || state.startsWith("08") || state.startsWith("53") || state.startsWith("57")
                || state.startsWith("58")) {
            return new StoreUnavailableException("the database is unavailable: " + e.getMessage(), e);
        }
        return new IllegalStateException("database statement failed: " + e.getMessage(), e);
    }

    /** PostgreSQL's SQLSTATE for "could not extend file ...: No space left on device". */
    public static final String DISK_FULL = "53100";

    /**
     * The database's own words when {@code e} or one of its causes is PostgreSQL reporting its disk full, else
     * empty. Unlike an outage it does not pass by itself: a job that waits for it would only fill the disk again.
     */
    public static Optional<String> diskFull(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && DISK_FULL.equals(sql.getSQLState())) {
                return Optional.of(String.valueOf(sql.getMessage()));
            }
        }
        return Optional.empty();
    }

    /** Whether {@code e} or one of its causes says the database is away. */
    public static boolean unavailable(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StoreUnavailableException) {
                return true;
            }
            if (t instanceof SQLException sql && translate(sql) instanceof StoreUnavailableException) {
                return true;
            }
        }
        return false;
    }
}
