-- The console's callbacks page lists deliveries newest first, optionally failed ones only, and
-- its overview counts the pending and the failed ones. These indexes keep those reads on
-- indexes with a million deliveries (docs/performance.md, "Console pages at 1,000,000
-- transactions"), at the cost of one index entry per new callback (and one per failed one).
-- The overview's count of transactions has no index of its own (store/sql.rs says how).

-- Newest callbacks first, without sorting the table.
CREATE INDEX callback_deliveries_newest ON callback_deliveries (created_at);

-- Failed callbacks are few and the ones an operator looks for: counted and listed from here.
CREATE INDEX callback_deliveries_failed ON callback_deliveries (created_at) WHERE state = 'failed';
