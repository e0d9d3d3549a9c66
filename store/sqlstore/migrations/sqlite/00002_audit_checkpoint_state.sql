-- +goose Up
-- Signing state for the audit log (issue 6). compact holds the RFC 6962
-- compact range (the roots of the perfect subtrees covering [0, size),
-- 32 bytes each, concatenated) at each checkpoint, so the next checkpoint
-- extends the signed tree instead of rehashing every event. audit_nodes
-- keeps interior node hashes (levels >= 8, i.e. subtrees of 256+ events)
-- so inclusion and consistency proofs read O(log n) rows. Both are derived
-- data: `geneguard audit verify` recomputes them from the events, and they
-- are checked against the signed checkpoint before use, so altering them
-- can make a receipt fail but never makes a false one.
ALTER TABLE audit_checkpoints ADD COLUMN compact BLOB;

CREATE TABLE audit_nodes (
    level INTEGER  NOT NULL,
    idx   INTEGER  NOT NULL,
    hash  BLOB     NOT NULL,
    PRIMARY KEY (level, idx)
);

-- +goose Down
DROP TABLE audit_nodes;
ALTER TABLE audit_checkpoints DROP COLUMN compact;
