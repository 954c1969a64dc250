-- The console's transaction list (docs/console.md): newest first, by created_at with the primary
-- key as tie-breaker, a page at a time from a cursor (no OFFSET), optionally filtered. Each index
-- below is one more write on the insert path, so only what a filter cannot do without exists;
-- the rest is served by what was there already:
-- - API user: transactions_by_user (api_user, created_at), from migration 2;
-- - reference id: the primary key (product, kind, reference_id), probed once per product and kind.

-- No filter (and any filter on a common value: status SUCCESSFUL, environment sandbox): walk
-- the newest rows and stop after a page.
CREATE INDEX transactions_newest ON transactions (created_at);

-- Product, kind, or both: one ordered range per (product, kind), merged, however rare the
-- product or kind is. One index for both filters, instead of one per column.
CREATE INDEX transactions_by_kind ON transactions (product, kind, created_at);

-- Status, for the rare ones (PENDING, FAILED, CREATED) among mostly SUCCESSFUL rows. Partial:
-- a row leaves it when it succeeds, so it holds only the few that did not and stays small
-- (SUCCESSFUL, the common value, is served by transactions_newest).
CREATE INDEX transactions_unsettled ON transactions (status, created_at) WHERE status <> 'SUCCESSFUL';

-- Environment, for the production-like ones among mostly sandbox rows. Partial: inserting a
-- sandbox transaction (the hot path of load tests) does not touch it.
CREATE INDEX transactions_production ON transactions (environment, created_at) WHERE environment <> 'sandbox';

-- A transaction's ledger postings (its entry and the sandbox funding entry that goes with it),
-- for its page.
CREATE INDEX ledger_postings_by_entry ON ledger_postings (entry_id);
