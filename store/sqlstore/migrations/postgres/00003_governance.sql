-- +goose Up
-- Governance (issue 5): the registry lifecycle's record on each version,
-- one row per run for usage queries, the persons a new version's results
-- changed for, clinical events (prescriptions) with what they led to,
-- test orders waiting for genotypes, and the scheduler's high-water marks.
ALTER TABLE algorithm_versions ADD COLUMN validation TEXT NOT NULL DEFAULT '';
ALTER TABLE algorithm_versions ADD COLUMN validated_at TIMESTAMPTZ;
ALTER TABLE algorithm_versions ADD COLUMN approved_at TIMESTAMPTZ;
ALTER TABLE algorithm_versions ADD COLUMN activated_at TIMESTAMPTZ;
ALTER TABLE algorithm_versions ADD COLUMN retired_at TIMESTAMPTZ;

CREATE TABLE runs (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                TIMESTAMPTZ NOT NULL,
    person_id         TEXT NOT NULL,
    algorithm_id      TEXT NOT NULL,
    version_hash      TEXT NOT NULL,
    trigger_kind      TEXT NOT NULL,
    input_fingerprint TEXT NOT NULL,
    outcome           TEXT NOT NULL,
    duration_ms       BIGINT NOT NULL,
    worker            TEXT NOT NULL,
    result_id         BIGINT
);
CREATE INDEX runs_at ON runs(at);
CREATE INDEX runs_version ON runs(version_hash, at);

CREATE TABLE result_changes (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id       TEXT NOT NULL,
    algorithm_id    TEXT NOT NULL,
    version_hash    TEXT NOT NULL,
    result_id       BIGINT NOT NULL UNIQUE,
    previous_id     BIGINT NOT NULL,
    old_category    TEXT NOT NULL,
    new_category    TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX result_changes_version ON result_changes(version_hash, id);

CREATE TABLE clinical_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    drug        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (kind, source_id)
);

CREATE TABLE test_orders (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id),
    algorithm_id TEXT NOT NULL,
    source_id    TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'genotyped')),
    ordered_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    fulfilled_at TIMESTAMPTZ,
    dataset_id   BIGINT
);
CREATE INDEX test_orders_person ON test_orders(person_id, status);

CREATE TABLE scheduler_marks (
    name TEXT PRIMARY KEY,
    mark TEXT NOT NULL
);

-- +goose Down
DROP TABLE scheduler_marks;
DROP TABLE test_orders;
DROP TABLE clinical_events;
DROP TABLE result_changes;
DROP TABLE runs;
ALTER TABLE algorithm_versions DROP COLUMN retired_at;
ALTER TABLE algorithm_versions DROP COLUMN activated_at;
ALTER TABLE algorithm_versions DROP COLUMN approved_at;
ALTER TABLE algorithm_versions DROP COLUMN validated_at;
ALTER TABLE algorithm_versions DROP COLUMN validation;
