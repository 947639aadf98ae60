-- Room held back in the database's own disk for the writes that record how a job ended. A job that fills the
-- disk takes its last free bytes with writes that then roll back (PostgreSQL gives that space back only at a
-- vacuum), so that its FAILED, its reason and its outbox record could not be written until space returned, and
-- the job would show RUNNING meanwhile. The runner fills this table with a few MiB of rows and, when a final
-- state cannot be written for want of space, truncates it: a truncation unlinks the table's file, handing its
-- blocks back to the file system at once, without a vacuum and whatever other transactions are open.
-- One narrow column and no index: no TOAST table, nothing else for a truncation to rewrite.
CREATE TABLE disk_reserve (
    filler bigint NOT NULL
);
