-- When an approved pre-approval was cancelled.
ALTER TABLE transactions ADD COLUMN cancelled_at BIGINT;
