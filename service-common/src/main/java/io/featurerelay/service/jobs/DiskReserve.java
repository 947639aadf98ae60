package io.featurerelay.service.jobs;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import org.jboss.logging.Logger;

/**
 * A few MiB of the database's disk held back (table {@code disk_reserve}) for the writes that record how a job
 * ended. A job that fills the disk leaves its last free bytes taken by writes that rolled back; without this its
 * FAILED and its reason could not be written until space returned. {@link #release()} truncates the table, which
 * unlinks its file and gives its blocks back to the file system at once (no vacuum needed, whatever else is
 * open); {@link #refill()} takes them back before the next job starts, when there is room again.
 */
final class DiskReserve {

    private static final Logger LOG = Logger.getLogger(DiskReserve.class);

    /** A heap tuple of one bigint: 24 bytes of header, 8 of value, 4 of line pointer, in 8 KiB pages. */
    private static final int ROWS_PER_PAGE = 8192 / 36;

    private final Database database;
    private final long rows;

    DiskReserve(Database database, int mebibytes) {
        this.database = database;
        this.rows = (long) mebibytes * (1 << 20) / 8192 * ROWS_PER_PAGE;
    }

    /** Whether the reserve is held now (rows in the table). */
    boolean held() {
        return rows > 0 && database.transaction(c -> {
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(
                    "SELECT EXISTS (SELECT 1 FROM disk_reserve)")) {
                r.next();
                return r.getBoolean(1);
            }
        });
    }

    /**
     * Takes the reserve (back) when it is not held; true when it is held afterwards. On a disk that is still full
     * the insert fails, and what it had extended the table by is given back at once.
     */
    boolean refill() {
        if (rows == 0) {
            return false;
        }
        try {
            if (held()) {
                return true;
            }
            database.transaction(c -> {
                try (PreparedStatement s = c.prepareStatement(
                        "INSERT INTO disk_reserve SELECT g FROM generate_series(1, ?) g")) {
                    s.setLong(1, rows);
                    return s.executeUpdate();
                }
            });
            LOG.debugf("disk reserve held: %d rows", rows);
            return true;
        } catch (StoreUnavailableException e) {
            if (Database.diskFull(e).isPresent()) {
                // the rolled-back insert's pages are this table's: truncating them returns them
                release();
                LOG.warnf("the database's disk is full: its reserve for recording job failures is not held (%s)",
                        Database.diskFull(e).get());
            } else {
                LOG.debugf("disk reserve not refilled: %s", e.getMessage());
            }
            return false;
        }
    }

    /** Gives the reserve's space back to the file system; true when it held any. */
    boolean release() {
        if (rows == 0) {
            return false;
        }
        try {
            return database.transaction(c -> {
                try (Statement s = c.createStatement()) {
                    boolean held;
                    try (ResultSet r = s.executeQuery("SELECT EXISTS (SELECT 1 FROM disk_reserve)")) {
                        r.next();
                        held = r.getBoolean(1);
                    }
                    // also when no row is visible: the pages of a rolled-back refill are space to give back
                    s.execute("TRUNCATE disk_reserve");
                    return held;
                }
            });
        } catch (StoreUnavailableException e) {
            LOG.warnf("disk reserve not released: %s", e.getMessage());
            return false;
        }
    }
}
