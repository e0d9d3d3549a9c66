-- +goose Up
-- Which pseudonym key the database was set up with (ARCHITECTURE.md
-- decision 7). Pseudonyms are HMACs of personal codes under that key, so a
-- process opening the database with another key (another installation's
-- data directory, a key made by an earlier failed command) would give every
-- person another pseudonym: look-ups would find no one and consent would be
-- recorded under phantoms. fingerprint is identity.Pseudonymizer.Fingerprint,
-- a keyed hash that does not reveal the key; every open compares it. One
-- row at most (id = 1). A database set up before this table adopts the key
-- of its first open after the migration.
CREATE TABLE pseudonym_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE pseudonym_key;
