package io.featurerelay.service.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code outbox} table: a record for Kafka is written in the transaction that produced it (the job's final
 * state and its artifacts), claimed under a lease by one replica at a time, and marked published with the
 * coordinates Kafka acknowledged.
 */
public final class Outbox {

    private final JobStore store;

    public Outbox(JobStore store) {
        this.store = store;
    }

    /** Adds a record whose value is the job's artifact {@code artifact}, in the caller's transaction. */
    public void add(Connection c, String jobId, String topic, String key, String artifact, byte[] value,
            Map<String, String> headers) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                INSERT INTO outbox (job_id, topic, record_key, artifact, value, headers)
                VALUES (?, ?, ?, ?, ?, ?::jsonb) ON CONFLICT (job_id, topic) DO NOTHING""")) {
            s.setString(1, jobId);
            s.setString(2, topic);
            s.setString(3, key);
            s.setString(4, artifact);
            s.setBytes(5, value);
            s.setString(6, store.write(headers));
            s.executeUpdate();
        }
    }

    /** Gives back the records an earlier process under this replica id was sending when it died. */
    public int release(String owner) {
        return store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "UPDATE outbox SET owner = NULL, lease_until = NULL WHERE owner = ? AND published_at IS NULL")) {
                s.setString(1, owner);
                return s.executeUpdate();
            }
        });
    }

    /** Claims the oldest unpublished record that no live replica is sending. */
    public Optional<OutboxRecord> claim(String owner, Duration lease) {
        return store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE outbox o SET owner = ?, lease_until = now() + ? * interval '1 millisecond'
                    WHERE id = (
                        SELECT id FROM outbox
                        WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
                        ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1)
                    RETURNING id, job_id, topic, record_key, artifact, value, headers, attempts, last_attempt_at,
                        in_doubt""")) {
                s.setString(1, owner);
                s.setLong(2, lease.toMillis());
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next()) {
                        return Optional.empty();
                    }
                    Timestamp last = r.getTimestamp(9);
                    return Optional.of(new OutboxRecord(r.getLong(1), r.getString(2), r.getString(3), r.getString(4),
                            r.getString(5), r.getBytes(6), headers(r.getString(7)), r.getInt(8),
                            last == null ? null : last.toInstant(), r.getBoolean(10)));
                }
            }
        });
    }

    /** Notes a send about to start (so that a replica resuming it knows the broker may have it already). */
    public void attempting(long id, String owner, Duration lease) {
        store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE outbox SET attempts = attempts + 1, last_attempt_at = now(), in_doubt = true,
                        lease_until = now() + ? * interval '1 millisecond'
                    WHERE id = ? AND owner = ?""")) {
                s.setLong(1, lease.toMillis());
                s.setLong(2, id);
                s.setString(3, owner);
                return s.executeUpdate();
            }
        });
    }

    /**
     * A send failed: released for the next try after {@code retryIn}; {@code inDoubt} when the broker may have
     * the record all the same (the send timed out).
     */
    public void failed(long id, String owner, String error, Duration retryIn, boolean inDoubt) {
        store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("""
                    UPDATE outbox SET last_error = ?, lease_until = now() + ? * interval '1 millisecond',
                        in_doubt = ?
                    WHERE id = ? AND owner = ?""")) {
                s.setString(1, error);
                s.setLong(2, retryIn.toMillis());
                s.setBoolean(3, inDoubt);
                s.setLong(4, id);
                s.setString(5, owner);
                return s.executeUpdate();
            }
        });
    }

    /** Marks the record published at {@code partition}/{@code offset}, in the caller's transaction. */
    public void published(Connection c, long id, int partition, long offset) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("""
                UPDATE outbox SET published_at = now(), partition = ?, record_offset = ?, owner = NULL,
                    lease_until = NULL, last_error = NULL, in_doubt = false
                WHERE id = ?""")) {
            s.setInt(1, partition);
            s.setLong(2, offset);
            s.setLong(3, id);
            s.executeUpdate();
        }
    }

    /** Unpublished records (the metric of what waits for Kafka). */
    public int pending() {
        return store.database().transaction(c -> {
            try (PreparedStatement s = c.prepareStatement("SELECT count(*) FROM outbox WHERE published_at IS NULL");
                    ResultSet r = s.executeQuery()) {
                r.next();
                return r.getInt(1);
            }
        });
    }

    private Map<String, String> headers(String text) {
        try {
            return store.json().readValue(text, new TypeReference<Map<String, String>>() {
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("unreadable outbox headers", e);
        }
    }
}
