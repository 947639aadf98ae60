package io.featurerelay.service.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.learning.ids.Identifier;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code jobs} table: submission, the claim of a job under a lease ({@code FOR UPDATE SKIP LOCKED}, so that
 * replicas never wait on each other and never claim one job twice), lease renewal, and every write of a running
 * job fenced by its owner, so that a replica that lost its lease cannot overwrite the new owner's work.
 */
public final class JobStore {

    private static final String COLUMNS = "id, state, error, parameters, details, created_at, started_at, "
            + "finished_at, updated_at, owner, last_owner, lease_until, attempts, takeovers, cancel_requested";

    private final Database database;
    private final ObjectMapper json;

    public JobStore(Database database, ObjectMapper json) {
        this.database = database;
        this.json = json;
    }

    public Database database() {
        return database;
    }

    public ObjectMapper json() {
        return json;
    }

    /** Inserts a queued job in the caller's transaction; false when a job with this id exists already. */
    public boolean insert(Connection c, String id, Object parameters, Object details) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                INSERT INTO jobs (id, state, parameters, details) VALUES (?, 'QUEUED', ?::jsonb, ?::jsonb)
                ON CONFLICT (id) DO NOTHING""")) {
            s.setString(1, id);
            s.setString(2, write(parameters));
            s.setString(3, write(details));
            return s.executeUpdate() == 1;
        }
    }

    /**
     * Whether {@code id} (from a URL or a record) can name a job at all; checked before it reaches a statement.
     * {@link Identifier#JOB_ID} is what the table's check admits too: lowercase letters, digits and dashes, at
     * most 127.
     */
    public static boolean validId(String id) {
        return Identifier.JOB_ID.valid(id);
    }

    /** The job, or empty when there is none (or {@code id} could not name one). */
    public Optional<JobRecord> find(String id) {
        if (!validId(id)) {
            return Optional.empty();
        }
        return database.transaction(c -> find(c, id));
    }

    /**
     * Inserts a queued job unless {@code maxQueued} jobs wait already (over all replicas: the count and the
     * insert are serialised by a transaction-scoped advisory lock on the schema); false when the queue is full.
     */
    public boolean insertWithinQueue(String id, Object parameters, Object details, int maxQueued) {
        return database.transaction(c -> {
            try (PreparedStatement lock = c.prepareStatement(
                    "SELECT pg_advisory_xact_lock(hashtextextended('jobs.queue.' || current_schema(), 0))")) {
                lock.execute();
            }
            try (PreparedStatement s = c.prepareStatement("SELECT count(*) FROM jobs WHERE state = 'QUEUED'");
                    ResultSet r = s.executeQuery()) {
                r.next();
                if (r.getInt(1) >= maxQueued) {
                    return false;
                }
            }
            return insert(c, id, parameters, details);
        });
    }

    public Optional<JobRecord> find(Connection c, String id) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT " + COLUMNS + " FROM jobs WHERE id = ?")) {
            s.setString(1, id);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? Optional.of(record(r)) : Optional.empty();
            }
        }
    }

    /** Every job, newest first. */
    public List<JobRecord> list() {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT " + COLUMNS + " FROM jobs ORDER BY created_at DESC, id")) {
                List<JobRecord> out = new ArrayList<>();
                try (ResultSet r = s.executeQuery()) {
                    while (r.next()) {
                        out.add(record(r));
                    }
                }
                return out;
            }
        });
    }

    public Map<JobState, Integer> countByState() {
        return database.transaction(c -> {
            Map<JobState, Integer> out = new EnumMap<>(JobState.class);
            for (JobState state : JobState.values()) {
                out.put(state, 0);
            }
            try (PreparedStatement s = c.prepareStatement("SELECT state, count(*) FROM jobs GROUP BY state");
                    ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    out.put(JobState.valueOf(r.getString(1)), r.getInt(2));
                }
            }
            return out;
        });
    }

    /** Jobs waiting for a worker: queued ones and running ones whose lease has expired. */
    public int waiting() {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    SELECT count(*) FROM jobs
                    WHERE state = 'QUEUED' OR (state = 'RUNNING' AND lease_until < now())""");
                    ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        });
    }

    /**
     * Claims the oldest job that waits (queued, or running under an expired lease: its replica died) for
     * {@code owner}, leased for {@code lease}; empty when none waits.
     */
    public Optional<JobRecord> claim(String owner, Duration lease) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE jobs SET state = 'RUNNING', owner = ?, last_owner = ?,
                        lease_until = now() + ? * interval '1 millisecond',
                        attempts = attempts + 1,
                        takeovers = takeovers + CASE WHEN state = 'RUNNING' THEN 1 ELSE 0 END, started_at = coalesce(started_at, now()), updated_at = now()
                    WHERE id = (
                        SELECT id FROM jobs
                        WHERE (state = 'QUEUED' OR (state = 'RUNNING' AND lease_until < now()))
                            AND NOT cancel_requested
                        ORDER BY created_at, id
                        FOR UPDATE SKIP LOCKED
                        LIMIT 1)
                    RETURNING\s""" + COLUMNS)) {
                s.setString(1, owner);
                s.setString(2, owner);
                s.setLong(3, lease.toMillis());
                try (ResultSet r = s.executeQuery()) {
                    return r.next() ? Optional.of(record(r)) : Optional.empty();
                }
            }
        });
    }

    /** What a lease renewal found. */
    public enum Lease { HELD, HELD_CANCEL_REQUESTED, LOST }

    /** Extends the lease of a job {@code owner} holds. */
    public Lease renew(String id, String owner, Duration lease) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE jobs SET lease_until = now() + ? * interval '1 millisecond'
                    WHERE id = ? AND owner = ? AND state = 'RUNNING'
                    RETURNING cancel_requested""")) {
                s.setLong(1, lease.toMillis());
                s.setString(2, id);
                s.setString(3, owner);
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next()) {
                        return Lease.LOST;
                    }
                    return r.getBoolean(1) ? Lease.HELD_CANCEL_REQUESTED : Lease.HELD;
                }
            }
        });
    }

    /**
     * Writes a running job's details, fenced by its owner.
     *
     * @throws JobLostException when {@code owner} no longer holds the job
     */
    public void saveDetails(Connection c, String id, String owner, Object details) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                UPDATE jobs SET details = ?::jsonb, updated_at = now()
                WHERE id = ? AND owner = ? AND state = 'RUNNING'""")) {
            s.setString(1, write(details));
            s.setString(2, id);
            s.setString(3, owner);
            if (s.executeUpdate() != 1) {
                throw new JobLostException(id);
            }
        }
    }

    /**
     * Moves a job {@code owner} holds to {@code state} (a final state, or PUBLISH_PENDING) with its last details;
     * the lease is released.
     *
     * @throws JobLostException when {@code owner} no longer holds the job
     */
    public void finish(Connection c, String id, String owner, JobState state, String error, Object details)
            throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                UPDATE jobs SET state = ?, error = ?, details = ?::jsonb, owner = NULL, lease_until = NULL,
                    finished_at = CASE WHEN ? THEN now() ELSE NULL END, updated_at = now()
                WHERE id = ? AND owner = ? AND state = 'RUNNING'""")) {
            s.setString(1, state.name());
            s.setString(2, error);
            s.setString(3, write(details));
            s.setBoolean(4, state.isFinal());
            s.setString(5, id);
            s.setString(6, owner);
            if (s.executeUpdate() != 1) {
                throw new JobLostException(id);
            }
        }
    }

    /**
     * Ends a job that is not running on any worker (PUBLISH_PENDING: its record reached Kafka or cannot), with
     * its details; false when it is no longer in {@code from}.
     */
    public boolean finishUnowned(Connection c, String id, JobState from, JobState to, String error, Object details)
            throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                UPDATE jobs SET state = ?, error = ?, details = ?::jsonb, finished_at = now(), updated_at = now()
                WHERE id = ? AND state = ?""")) {
            s.setString(1, to.name());
            s.setString(2, error);
            s.setString(3, write(details));
            s.setString(4, id);
            s.setString(5, from.name());
            return s.executeUpdate() == 1;
        }
    }

    /**
     * Asks a job to stop: a queued one is cancelled at once, a running one is flagged and its owner stops it at
     * its next lease renewal. Returns the job as it is afterwards, or empty when there is no such job.
     */
    public Optional<JobRecord> requestCancel(String id) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE jobs SET cancel_requested = true, updated_at = now(),
                        state = CASE WHEN state = 'QUEUED' THEN 'CANCELLED' ELSE state END,
                        finished_at = CASE WHEN state = 'QUEUED' THEN now() ELSE finished_at END
                    WHERE id = ? AND state IN ('QUEUED', 'RUNNING')""")) {
                s.setString(1, id);
                s.executeUpdate();
            }
            return find(c, id);
        });
    }

    /** Gives the running jobs of {@code owner} back to the queue (a replica stopping): others resume them. */
    public int release(String owner) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE jobs SET state = 'QUEUED', owner = NULL, lease_until = NULL, updated_at = now()
                    WHERE owner = ? AND state = 'RUNNING'""")) {
                s.setString(1, owner);
                return s.executeUpdate();
            }
        });
    }

    /** Deletes a job and (by cascade and trigger) its artifacts; used for a submission refused after its insert. */
    public void delete(String id) {
        database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("DELETE FROM jobs WHERE id = ?")) {
                s.setString(1, id);
                return s.executeUpdate();
            }
        });
    }

    /** Records that a replica is up, with how many workers it runs. */
    public void heartbeat(String replica, int workers) {
        database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    INSERT INTO replicas (id, workers) VALUES (?, ?)
                    ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), workers = excluded.workers""")) {
                s.setString(1, replica);
                s.setInt(2, workers);
                return s.executeUpdate();
            }
        });
    }

    public <T> T read(JsonNode node, Class<T> type) {
        try {
            return node == null || node.isNull() ? null : json.treeToValue(node, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored document does not fit " + type.getSimpleName() + ": "
                    + e.getOriginalMessage(), e);
        }
    }

    String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    private JobRecord record(ResultSet r) throws SQLException {
        try {
            return new JobRecord(r.getString("id"), JobState.valueOf(r.getString("state")), r.getString("error"),
                    json.readTree(r.getString("parameters")), json.readTree(r.getString("details")),
                    instant(r, "created_at"), instant(r, "started_at"), instant(r, "finished_at"),
                    instant(r, "updated_at"), r.getString("owner"), r.getString("last_owner"), instant(r, "lease_until"), r.getInt("attempts"),
                    r.getInt("takeovers"), r.getBoolean("cancel_requested"));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("job " + r.getString("id") + " holds unreadable JSON", e);
        }
    }

    private static Instant instant(ResultSet r, String column) throws SQLException {
        Timestamp t = r.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
