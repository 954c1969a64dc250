//! Fill a database with many transactions, quickly, to measure pages against it
//! (docs/performance.md, "Console pages at 1,000,000 transactions").
//!
//! ```sh
//! cargo run --release -p momo-server --example seed_transactions -- sqlite://.momo-1m/momo.db 1000000
//! cargo run --release -p momo-server --example seed_transactions -- postgres://USER:PASS@HOST/DB 1000000
//! ```
//!
//! The database is created and migrated if it is new (as `momo serve` would), then gets `COUNT`
//! transactions (default 1,000,000) in one database transaction of multi-row inserts: a
//! realistic mix over the last 30 days, newest last, one in 50 at the millisecond of the one
//! before. Three products (collection requests to pay 70 %, disbursement transfers 20 %,
//! remittance transfers ~10 %, and rare kinds: pre-approvals 0.3 %, cash transfers 0.2 %);
//! sandbox but for 1 in 1,000 in the production-like `mtnghana`; SUCCESSFUL but for 1.5 %
//! FAILED and 0.5 % PENDING; 20 sandbox API users and 2 in mtnghana; payers from a pool of
//! 50,000 MSISDNs. Each successful one has its two ledger postings; 5 % have a delivered
//! callback with its attempt. The values are made from a fixed seed, so two runs make the same
//! rows (except the dates, which end now). Nothing here is read from outside: the SQL literals
//! are the generator's own numbers and hex strings.

use std::fmt::Write as _;
use std::time::Instant;

/// Rows in one statement.
const CHUNK: usize = 1000;
const DAY_MS: i64 = 86_400_000;

/// xorshift64*: fast, deterministic, good enough for a data mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// One generated transaction's SQL values, its postings and its callback.
struct Generated {
    transaction: String,
    postings: Option<[String; 2]>,
    delivery: Option<(String, String)>,
}

fn generate(rng: &mut Rng, created_at: i64) -> Generated {
    let mix = rng.below(1000);
    let (product, kind, party_role) = match mix {
        0..700 => ("collection", "requesttopay", "payer"),
        700..900 => ("disbursement", "transfer", "payee"),
        900..995 => ("remittance", "transfer", "payee"),
        995..998 => ("collection", "preapproval", "payer"),
        _ => ("remittance", "cashtransfer", "payee"),
    };
    let production = rng.below(1000) == 0;
    let (environment, currency, user) = if production {
        ("mtnghana", "GHS", format!("00000000-0000-4000-9000-{:012}", rng.below(2)))
    } else {
        ("sandbox", "EUR", format!("00000000-0000-4000-8000-{:012}", rng.below(20)))
    };
    let reference = rng.uuid();
    let amount = 1 + i64::try_from(rng.below(500)).unwrap_or(1);
    let msisdn = format!("46733{:06}", rng.below(50_000));
    let external = rng.below(1_000_000_000);
    let roll = rng.below(1000);
    let (status, reason, fti, outcome, due_at) = match roll {
        0..15 => ("FAILED", "'NOT_ENOUGH_FUNDS'", "NULL".to_owned(), "NULL", "NULL".to_owned()),
        15..20 => ("PENDING", "NULL", "NULL".to_owned(), "'SUCCESSFUL'", (created_at + 3650 * DAY_MS).to_string()),
        _ => {
            ("SUCCESSFUL", "NULL", format!("'{}'", 1_000_000_000 + rng.below(8_999_999_999)), "NULL", "NULL".to_owned())
        }
    };
    let callback = rng.below(20) == 0;
    let callback_url = if callback { format!("'https://shop.example.com/momo/{reference}'") } else { "NULL".into() };
    let request = format!(
        r#"{{"amount":"{amount}","currency":"{currency}","externalId":"{external}","{party_role}":{{"partyIdType":"MSISDN","partyId":"{msisdn}"}},"payerMessage":"Order {external}","payeeNote":"Thank you"}}"#
    );
    let transaction = format!(
        "('{product}','{kind}','{reference}','{user}','{environment}','{currency}',{amount},'MSISDN','{msisdn}','{external}',\
         '{request}',1,'{status}',{reason},{fti},{callback_url},{outcome},{due_at},0,NULL,0,{created_at},{created_at},NULL)"
    );
    let entry = format!("{product}:{kind}:{reference}");
    let settled = status == "SUCCESSFUL";
    let postings = settled.then(|| {
        let (from, to) = if party_role == "payer" {
            (format!("wallet:{environment}:MSISDN:{msisdn}"), format!("api-user:{user}:{product}"))
        } else {
            (format!("api-user:{user}:{product}"), format!("wallet:{environment}:MSISDN:{msisdn}"))
        };
        [
            format!("('{entry}','{from}','{currency}',{},{created_at})", -amount),
            format!("('{entry}','{to}','{currency}',{amount},{created_at})"),
        ]
    });
    let delivery = (callback && status != "PENDING").then(|| {
        let id = rng.uuid();
        let body = format!(r#"{{"referenceId":"{reference}","status":"{status}"}}"#);
        (
            format!(
                "('{id}','{user}','{product}','{kind}','{reference}','https://shop.example.com/momo/{reference}','PUT',\
                 '{body}','delivered',1,NULL,NULL,{created_at},{created_at})"
            ),
            format!("('{id}',1,{created_at},200,{},NULL)", 5 + rng.below(40)),
        )
    });
    Generated { transaction, postings, delivery }
}

/// The statements that insert `count` transactions ending at `now`, a chunk at a time.
fn statements(count: usize, now: i64) -> impl Iterator<Item = String> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let span = 30 * DAY_MS;
    let start = now - span;
    let count_i64 = i64::try_from(count).unwrap_or(i64::MAX);
    (0..count).step_by(CHUNK).map(move |first| {
        let mut txs = String::new();
        let mut postings = String::new();
        let mut deliveries = String::new();
        let mut attempts = String::new();
        for i in first..(first + CHUNK).min(count) {
            let i = i64::try_from(i).unwrap_or(0);
            // Evenly spread, and one in 50 at the same millisecond as the one before.
            let created_at = start + (i - i64::from(i % 50 == 1)) * span / count_i64.max(1);
            let g = generate(&mut rng, created_at);
            let sep = |s: &String| if s.is_empty() { "" } else { "," };
            let _ = write!(txs, "{}{}", sep(&txs), g.transaction);
            if let Some([a, b]) = g.postings {
                let _ = write!(postings, "{}{a},{b}", sep(&postings));
            }
            if let Some((d, a)) = g.delivery {
                let _ = write!(deliveries, "{}{d}", sep(&deliveries));
                let _ = write!(attempts, "{}{a}", sep(&attempts));
            }
        }
        let mut sql = format!(
            "INSERT INTO transactions (product, kind, reference_id, api_user, environment, currency, amount_minor, \
             party_type, party_id, external_id, request, api_version, status, reason, financial_transaction_id, \
             callback_url, outcome, due_at, awaiting_approval, related_reference_id, notifications, created_at, \
             updated_at, cancelled_at) VALUES {txs};"
        );
        if !postings.is_empty() {
            let _ = write!(
                sql,
                "INSERT INTO ledger_postings (entry_id, account, currency, amount_minor, created_at) VALUES {postings};"
            );
        }
        if !deliveries.is_empty() {
            let _ = write!(
                sql,
                "INSERT INTO callback_deliveries (id, api_user, product, kind, reference_id, url, method, body, state, \
                 attempts, next_attempt_at, locked_until, created_at, finished_at) VALUES {deliveries};\
                 INSERT INTO callback_attempts (delivery_id, attempt, at, status_code, latency_ms, error) VALUES {attempts};"
            );
        }
        sql
    })
}

macro_rules! seed {
    ($pool:expr, $count:expr, $now:expr) => {{
        let mut tx = $pool.begin().await?;
        let mut done = 0;
        for sql in statements($count, $now) {
            sqlx::raw_sql(&sql).execute(&mut *tx).await?;
            done += CHUNK;
            if done % 100_000 == 0 {
                eprintln!("{done} transactions…");
            }
        }
        tx.commit().await?;
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or_else(|| anyhow::anyhow!("usage: seed_transactions DATABASE_URL [COUNT]"))?;
    let count: usize = args.next().map_or(Ok(1_000_000), |c| c.replace('_', "").parse())?;
    if let Some(dir) = url.strip_prefix("sqlite://").and_then(|path| std::path::Path::new(path).parent()) {
        std::fs::create_dir_all(dir)?;
    }
    // Created and migrated as the server does.
    drop(momo_server::store::open(&url).await?);
    let now = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis())?;
    let started = Instant::now();
    if url.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        // No ANALYZE: the server never runs it, so its plans are those of a database without
        // statistics, and so are this one's.
        seed!(pool, count, now);
    } else {
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await?;
        seed!(pool, count, now);
        // What autovacuum does soon after such a load.
        sqlx::raw_sql("ANALYZE").execute(&pool).await?;
    }
    eprintln!("{count} transactions written in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
