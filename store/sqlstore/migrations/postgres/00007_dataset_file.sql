-- +goose Up
-- A dataset is a genotype file read with one sample mapping: the same file
-- may be ingested again with a corrected sample map. sha256 stays the
-- dataset's identity (the file's hash, or with a sample map the hash of the
-- file's and the map's); file_sha256 names the file, so a newer dataset of
-- the same file replaces the mapping of the older ones.
ALTER TABLE datasets ADD COLUMN file_sha256 TEXT NOT NULL DEFAULT '';
UPDATE datasets SET file_sha256 = sha256;
CREATE INDEX datasets_file ON datasets(file_sha256, id);

-- +goose Down
DROP INDEX datasets_file;
ALTER TABLE datasets DROP COLUMN file_sha256;
