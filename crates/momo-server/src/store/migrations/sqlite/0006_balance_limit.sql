-- No ledger account may hold more than ±10^17 minor units (domain::money::BALANCE_LIMIT_MINOR).
-- Settlements check it before they post; these triggers are the last line, for the bulk
-- settlement, which posts a batch's net change per account at once: a batch that would cross
-- the limit (or overflow SQLite's 64-bit integers into a REAL) is aborted whole and settled again
-- one by one, where the crossing payment is refused alone.
CREATE TRIGGER accounts_balance_limit_insert BEFORE INSERT ON accounts
WHEN typeof(NEW.balance_minor) <> 'integer'
  OR NEW.balance_minor > 100000000000000000 OR NEW.balance_minor < -100000000000000000
BEGIN
    SELECT RAISE(ABORT, 'momo: balance limit');
END;

CREATE TRIGGER accounts_balance_limit_update BEFORE UPDATE OF balance_minor ON accounts
WHEN typeof(NEW.balance_minor) <> 'integer'
  OR NEW.balance_minor > 100000000000000000 OR NEW.balance_minor < -100000000000000000
BEGIN
    SELECT RAISE(ABORT, 'momo: balance limit');
END;
