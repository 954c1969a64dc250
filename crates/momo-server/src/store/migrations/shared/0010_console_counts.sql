-- The console's overview counts transactions per product and status, and callbacks pending and
-- failed; its callbacks page lists deliveries newest first, optionally failed ones only. These
-- indexes keep those reads on indexes alone with a million rows (docs/performance.md, "Console
-- pages"), at the cost of one index entry per new transaction and per new callback.

-- Covers the count per product and status: the count reads this index, not the table.
CREATE INDEX transactions_by_product_status ON transactions (product, status);

-- Newest callbacks first, without sorting the table.
CREATE INDEX callback_deliveries_newest ON callback_deliveries (created_at);

-- Failed callbacks are few and the ones an operator looks for: counted and listed from here.
CREATE INDEX callback_deliveries_failed ON callback_deliveries (created_at) WHERE state = 'failed';
