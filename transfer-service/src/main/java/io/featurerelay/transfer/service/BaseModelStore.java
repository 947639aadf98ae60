package io.featurerelay.transfer.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.featurerelay.service.jobs.ArtifactStore;
import io.featurerelay.service.jobs.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The base-model registry ({@code base_models}): each verified envelope once per (id, SHA-256), its description,
 * and the envelope itself as a large object that every replica reads.
 */
final class BaseModelStore {

    private final Database database;
    private final ObjectMapper json;

    BaseModelStore(Database database, ObjectMapper json) {
        this.database = database;
        this.json = json;
    }

    /** Stores a verified envelope in the caller's transaction; false when this (id, SHA-256) is there already. */
    boolean insert(Connection c, BaseModel model, byte[] envelope) throws SQLException, java.io.IOException {
        try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")) {
            // two replicas receiving the same record wait for each other here instead of both writing the envelope
            lock.setString(1, model.id() + "/" + model.sha256());
            lock.execute();
        }
        if (exists(c, model.id(), model.sha256())) {
            return false;
        }
        ArtifactStore.StoredObject stored = ArtifactStore.writeLargeObject(c, out -> out.write(envelope));
        try (PreparedStatement s = c.prepareStatement("""
                INSERT INTO base_models (id, sha256, description, content, bytes) VALUES (?, ?, ?::jsonb, ?, ?)""")) {
            s.setString(1, model.id());
            s.setString(2, model.sha256());
            s.setString(3, write(model));
            s.setLong(4, stored.oid());
            s.setLong(5, stored.bytes());
            s.executeUpdate();
        }
        return true;
    }

    private static boolean exists(Connection c, String id, String sha256) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT 1 FROM base_models WHERE id = ? AND sha256 = ?")) {
            s.setString(1, id);
            s.setString(2, sha256);
            try (ResultSet r = s.executeQuery()) {
                return r.next();
            }
        }
    }

    /** Notes why no job started for a base model (no target fits it). */
    void noJobs(Connection c, String id, String sha256, String reason) throws SQLException {
        try (PreparedStatement s = c.prepareStatement(
                "UPDATE base_models SET no_job_reason = ? WHERE id = ? AND sha256 = ?")) {
            s.setString(1, reason);
            s.setString(2, id);
            s.setString(3, sha256);
            s.executeUpdate();
        }
    }

    /** Every stored base model, newest first, with the jobs that start from it and why none did. */
    List<RegisteredBaseModel> list() {
        return database.transaction(c -> {
            List<RegisteredBaseModel> out = new ArrayList<>();
            // a job's lineage is its base model (id and SHA-256), written when the job is created
            try (PreparedStatement s = c.prepareStatement("""
                    SELECT b.description, b.no_job_reason,
                           ARRAY(SELECT j.id FROM jobs j WHERE j.details->'lineage'->>'id' = b.id
                                 AND j.details->'lineage'->>'sha256' = b.sha256 ORDER BY j.created_at, j.id)
                    FROM base_models b ORDER BY b.received_at DESC, b.id""");
                    ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    BaseModel model = json.readValue(r.getString(1), BaseModel.class);
                    out.add(RegisteredBaseModel.of(model, List.of((String[]) r.getArray(3).getArray()),
                            r.getString(2)));
                }
            }
            return out;
        });
    }

    /** The newest envelope stored under {@code id}. */
    Optional<BaseModel> latest(String id) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT description FROM base_models WHERE id = ? ORDER BY received_at DESC LIMIT 1")) {
                s.setString(1, id);
                try (ResultSet r = s.executeQuery()) {
                    return r.next() ? Optional.of(json.readValue(r.getString(1), BaseModel.class))
                            : Optional.<BaseModel>empty();
                }
            }
        });
    }

    /** The envelope bytes of a stored base model (decoding needs them whole; its size was checked on receipt). */
    byte[] envelope(String id, String sha256) {
        return database.transaction(c -> {
            try (PreparedStatement s = c.prepareStatement(
                    "SELECT content, bytes FROM base_models WHERE id = ? AND sha256 = ?")) {
                s.setString(1, id);
                s.setString(2, sha256);
                try (ResultSet r = s.executeQuery()) {
                    if (!r.next()) {
                        throw new IllegalStateException("base model " + id + " (" + sha256 + ") is not stored");
                    }
                    return ArtifactStore.readLargeObject(c, r.getLong(1), r.getLong(2),
                            (in, bytes) -> in.readNBytes((int) bytes));
                }
            }
        });
    }

    private String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
