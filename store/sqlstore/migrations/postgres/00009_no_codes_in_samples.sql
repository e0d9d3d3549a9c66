-- +goose Up
-- A VCF column named by the person's personal code kept that code in
-- dataset_samples.sample_id, beside the pseudonym: personal codes are
-- never stored (ARCHITECTURE decision 7). Such sample IDs are now stored
-- empty; the column index says which column is the person's.
UPDATE dataset_samples SET sample_id = '' WHERE sample_id ~ '^([Ee][Ee])?[0-9]{11}$';

-- +goose Down
-- The codes are gone on purpose; nothing to restore.
SELECT 1;
