-- Fault-injection rules (operator API), shared by every instance on the database: a rule added
-- through one applies on all, its count is used up by all, and removing it stops it everywhere.
CREATE TABLE fault_rules (
    id         TEXT PRIMARY KEY NOT NULL,
    -- The rule as the operator wrote it (JSON).
    spec       TEXT NOT NULL,
    -- Requests it may still affect; NULL: until removed.
    remaining  BIGINT,
    created_at BIGINT NOT NULL
);
