-- +goose Up
-- Who activated a version, beside who submitted and who approved it, so the
-- registry shows every person the lifecycle went through.
ALTER TABLE algorithm_versions ADD COLUMN activated_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE algorithm_versions DROP COLUMN activated_by;
