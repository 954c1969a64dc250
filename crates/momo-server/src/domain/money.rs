//! The bounds that keep the ledger's arithmetic exact (docs/compatibility.md, "Amounts and
//! balances"). Amounts themselves, their syntax and their minor units, are `momo_types::Amount`.

/// The largest amount a request may carry, in minor units (10^15: ten trillion EUR, a
/// quadrillion UGX; MoMo's own limits are many orders lower).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// The largest balance, positive or negative, a ledger account may hold, in minor units
/// (100 maximum amounts). A settlement that would take an account past it is refused
/// (`PAYEE_LIMIT_REACHED` or `PAYER_LIMIT_REACHED`). The database enforces it too (migration 6:
/// a trigger on SQLite, a check constraint on PostgreSQL), so no sum the ledger can form, even
/// of a whole batch of maximum amounts, comes near the 64-bit range (9.2 × 10^18).
pub const BALANCE_LIMIT_MINOR: i64 = 100_000_000_000_000_000;
