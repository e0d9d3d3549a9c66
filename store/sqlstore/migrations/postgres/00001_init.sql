-- +goose Up
CREATE TABLE persons (
    id           TEXT PRIMARY KEY,
    birth_date   TEXT NOT NULL,
    sex          TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE datasets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256     TEXT NOT NULL UNIQUE,
    path       TEXT NOT NULL,
    build      TEXT NOT NULL,
    samples    INTEGER NOT NULL,
    records    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dataset_samples (
    dataset_id   BIGINT NOT NULL REFERENCES datasets(id),
    sample_index INTEGER NOT NULL,
    sample_id    TEXT NOT NULL,
    person_id    TEXT NOT NULL REFERENCES persons(id),
    PRIMARY KEY (dataset_id, sample_index)
);
CREATE INDEX dataset_samples_person ON dataset_samples(person_id, dataset_id);

CREATE TABLE algorithm_versions (
    hash         TEXT PRIMARY KEY,
    algorithm_id TEXT NOT NULL,
    version      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    manifest     TEXT NOT NULL,
    status       TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    approved_by  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (algorithm_id, version)
);
-- At most one active version per algorithm, enforced by the database.
CREATE UNIQUE INDEX algorithm_one_active ON algorithm_versions(algorithm_id) WHERE status = 'active';

CREATE TABLE algorithm_files (
    hash    TEXT NOT NULL REFERENCES algorithm_versions(hash),
    name    TEXT NOT NULL,
    content BYTEA NOT NULL,
    PRIMARY KEY (hash, name)
);

CREATE TABLE consent_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES persons(id),
    algorithm_id TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('grant', 'withdraw')),
    actor        TEXT NOT NULL,
    channel      TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX consent_events_person ON consent_events(person_id, algorithm_id, id);
CREATE INDEX consent_events_algorithm ON consent_events(algorithm_id, person_id, id);

CREATE TABLE results (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id         TEXT NOT NULL REFERENCES persons(id),
    algorithm_id      TEXT NOT NULL,
    version_hash      TEXT NOT NULL REFERENCES algorithm_versions(hash),
    input_fingerprint TEXT NOT NULL,
    dataset_id        BIGINT NOT NULL,
    trigger_kind      TEXT NOT NULL,
    summary           TEXT NOT NULL,
    category          TEXT NOT NULL,
    output            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    duration_ms       BIGINT NOT NULL,
    worker            TEXT NOT NULL,
    superseded_by     BIGINT,
    UNIQUE (person_id, version_hash, input_fingerprint)
);
CREATE INDEX results_person ON results(person_id, algorithm_id);

CREATE TABLE audit_events (
    seq       BIGINT PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL,
    person_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    canonical BYTEA NOT NULL,
    leaf_hash BYTEA NOT NULL
);
CREATE INDEX audit_events_person ON audit_events(person_id, seq);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    note       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_events;
DROP TABLE results;
DROP TABLE consent_events;
DROP TABLE algorithm_files;
DROP TABLE algorithm_versions;
DROP TABLE dataset_samples;
DROP TABLE datasets;
DROP TABLE persons;
