-- The job machinery that both services share (service-common): jobs with their lease, the artifacts that
-- belong to them (PostgreSQL large objects, streamed), the outbox of records for Kafka, and the replicas.
-- Each service runs this in its own schema (quarkus.flyway.schemas); neither reads the other's.

CREATE TABLE jobs (
    id               text PRIMARY KEY,
    state            text        NOT NULL,
    error            text,
    -- the request with every default filled in, as the service's parameters record
    parameters       jsonb       NOT NULL,
    -- what the service records while the job runs: progress, per-epoch history, summary, timings
    details          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- the replica that holds the job, and until when; another replica takes the job over once it expires
    owner            text,
    lease_until      timestamptz,
    -- the replica that claimed it last (kept after it ended: which replica ran it)
    last_owner       text,
    attempts         integer     NOT NULL DEFAULT 0,
    -- claims of a job whose replica died holding it (a lease that expired); a clean hand-back does not count
    takeovers        integer     NOT NULL DEFAULT 0,
    cancel_requested boolean     NOT NULL DEFAULT false,
    CONSTRAINT jobs_state_known
        CHECK (state IN ('QUEUED', 'RUNNING', 'PUBLISH_PENDING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    CONSTRAINT jobs_id_shape CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,126}$')
);
CREATE INDEX jobs_queued ON jobs (created_at) WHERE state = 'QUEUED';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'RUNNING';
CREATE INDEX jobs_newest ON jobs (created_at DESC, id);

-- Artifacts: model zips, envelopes, checkpoints. The bytes are large objects, written and read as streams;
-- a row and its large object are created in the transaction that moves the job on, so that a rolled-back
-- job leaves no artifact behind, and a replaced or deleted row unlinks its large object (trigger below).
CREATE TABLE artifacts (
    job_id     text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    content    oid         NOT NULL,
    bytes      bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, name),
    CONSTRAINT artifacts_name_shape CHECK (name ~ '^[a-z0-9][a-z0-9.-]{0,62}$')
);

CREATE FUNCTION unlink_replaced_content() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.content IS DISTINCT FROM NEW.content THEN
        PERFORM lo_unlink(OLD.content);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER artifacts_unlink AFTER UPDATE OR DELETE ON artifacts
    FOR EACH ROW EXECUTE FUNCTION unlink_replaced_content();

-- Records for Kafka, written in the transaction that produced them and published from here by any replica
-- (under a lease, as jobs are), so that a record is neither lost with a replica nor sent by two at once.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    job_id          text        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    topic           text        NOT NULL,
    record_key      text        NOT NULL,
    -- the value: an artifact of the job (envelopes, megabytes) or inline bytes (small JSON results)
    artifact        text,
    value           bytea,
    headers         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    owner           text,
    lease_until     timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_error      text,
    -- an earlier send may have reached the broker (its replica died sending, or it timed out): look first
    in_doubt        boolean     NOT NULL DEFAULT false,
    published_at    timestamptz,
    partition       integer,
    record_offset   bigint,
    CONSTRAINT outbox_one_value CHECK ((artifact IS NULL) <> (value IS NULL)),
    CONSTRAINT outbox_once_per_job UNIQUE (job_id, topic)
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE published_at IS NULL;

-- The replicas that are (or were) up, with their last heartbeat: which replica holds a job is jobs.owner.
CREATE TABLE replicas (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    workers      integer     NOT NULL
);
