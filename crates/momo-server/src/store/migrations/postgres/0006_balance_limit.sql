-- No ledger account may hold more than ±10^17 minor units (domain::money::BALANCE_LIMIT_MINOR).
-- Settlements check it before they post; this constraint is the last line, for the bulk
-- settlement, which posts a batch's net change per account at once: a batch that would cross the
-- limit is aborted whole and settled again one by one, where the crossing payment is refused alone.
-- NOT VALID: rows written before the limit existed are not checked (a database the old overflow
-- corrupted would otherwise fail to start); every row written from now on is.
ALTER TABLE accounts ADD CONSTRAINT accounts_balance_limit
    CHECK (balance_minor BETWEEN -100000000000000000 AND 100000000000000000) NOT VALID;
