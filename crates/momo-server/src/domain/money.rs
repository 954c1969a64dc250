//! Amounts as MoMo writes them: decimal strings, and the bounds that keep the ledger's
//! arithmetic exact (docs/compatibility.md, "Amounts and balances").

/// The largest amount a request may carry, in minor units (10^15: ten trillion EUR, a
/// quadrillion UGX; MoMo's own limits are many orders lower).
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// The largest balance, positive or negative, a ledger account may hold, in minor units
/// (100 maximum amounts). A settlement that would take an account past it is refused
/// (`PAYEE_LIMIT_REACHED` or `PAYER_LIMIT_REACHED`). The database enforces it too (migration 6:
/// a trigger on SQLite, a check constraint on PostgreSQL), so no sum the ledger can form, even
/// of a whole batch of maximum amounts, comes near the 64-bit range (9.2 × 10^18).
pub const BALANCE_LIMIT_MINOR: i64 = 100_000_000_000_000_000;

/// Format an amount held in minor units (cents for EUR) as MoMo writes amounts: no trailing
/// zeros and no decimal point for whole amounts (`"1000"`, `"12.5"`), a leading `-` if negative.
pub fn format_minor(minor: i64, decimals: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(u32::from(decimals));
    let whole = abs / scale;
    let frac = abs % scale;
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:0width$}", width = usize::from(decimals));
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::format_minor;

    #[test]
    fn formats_like_momo() {
        assert_eq!(format_minor(0, 2), "0");
        assert_eq!(format_minor(100_000, 2), "1000");
        assert_eq!(format_minor(1_250, 2), "12.5");
        assert_eq!(format_minor(1_205, 2), "12.05");
        assert_eq!(format_minor(-1_205, 2), "-12.05");
        assert_eq!(format_minor(5000, 0), "5000");
    }
}
