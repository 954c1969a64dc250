-- A pending transaction's planned outcome without a string encoding: `outcome` is `SUCCESSFUL`
-- or `FAILED`, and a planned failure's MoMo reason code is in `outcome_reason`. Until now both
-- were one string, `FAILED:<code>`; the rows still planned that way are converted here.
ALTER TABLE transactions ADD COLUMN outcome_reason TEXT;

UPDATE transactions SET outcome = 'FAILED', outcome_reason = substr(outcome, 8) WHERE outcome LIKE 'FAILED:%';
