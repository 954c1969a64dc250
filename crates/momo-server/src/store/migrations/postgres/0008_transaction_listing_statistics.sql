
-- PostgreSQL only (appended to the shared part of migration 8): how often each product goes with
-- each kind. Without it the planner takes product and kind for independent and expects, say,
-- remittance requests to pay to be 10 % x 70 % of the rows, so for a pair that has none it walks
-- transactions_newest through every row looking for them (190 ms at a million) instead of
-- finding nothing in transactions_by_kind. Statistics cost nothing on insert; ANALYZE (here once,
-- then autovacuum's) keeps them.
CREATE STATISTICS transactions_product_kind (mcv) ON product, kind FROM transactions;
ANALYZE transactions;
