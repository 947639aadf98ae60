-- transfer-service's own tables beside the job machinery's (V1, from service-common).

-- The base-model registry: every verified envelope, once per (base model id, SHA-256). The unique key decides
-- between two replicas receiving the same record (a redelivery, or a rebalance between them): the second insert
-- finds the row, and creates no job.
CREATE TABLE base_models (
    id            text        NOT NULL,
    sha256        text        NOT NULL,
    description   jsonb       NOT NULL,
    -- the envelope itself, a large object (the same trigger as artifacts unlinks it)
    content       oid         NOT NULL,
    bytes         bigint      NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    -- why no transfer job started for it (no target fits), or null when jobs started
    no_job_reason text,
    PRIMARY KEY (id, sha256),
    CONSTRAINT base_models_id_shape CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,100}$'),
    CONSTRAINT base_models_sha_shape CHECK (sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX base_models_newest ON base_models (received_at DESC);
CREATE TRIGGER base_models_unlink AFTER UPDATE OR DELETE ON base_models
    FOR EACH ROW EXECUTE FUNCTION unlink_replaced_content();
