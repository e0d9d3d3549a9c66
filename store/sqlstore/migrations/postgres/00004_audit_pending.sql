-- +goose Up
-- Audit events queue here first (issue 6, ARCHITECTURE.md decision 8). An
-- action's transaction inserts its event into audit_pending, so the event
-- commits or rolls back with the action, without taking any log-wide lock;
-- the sequencer (sqlstore.Store.SequenceAudit) later moves committed rows
-- into audit_events in batches, giving each the next seq, writing the
-- canonical bytes with that seq inside them and the leaf hash, and deleting
-- the pending rows, all in one transaction. body is the event's canonical
-- encoding with seq 0; person_id only indexes pending events for the access
-- log (the sequencer takes every sequenced column from body). Rows here are
-- not yet hashed: the window between commit and sequencing is documented.
CREATE TABLE audit_pending (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id TEXT  NOT NULL,
    body      BYTEA NOT NULL
);
CREATE INDEX audit_pending_person ON audit_pending(person_id, id);

-- +goose Down
DROP TABLE audit_pending;
