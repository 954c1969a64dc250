//! Rows into records, and records' values into columns, for both engines.

use momo_types::payments::{Party, PartyIdType, TransactionStatus};
use momo_types::{Currency, ErrorCode, Product};

use crate::domain::transactions::{ApiVersion, Kind, Outcome};
use crate::store::engine::{Engine, Row};
use crate::store::{
    AccountRecord, ApiUserRecord, AttemptRecord, ConsentRecord, CredentialStyle, DeliveryRecord, FaultRecord,
    PostingRecord, SecretHash, SubscriptionKeyRecord, TransactionRecord, TxKey, UserOrigin,
};

/// A planned outcome's columns (migration 11): `outcome` is `SUCCESSFUL` or `FAILED`, and
/// `outcome_reason` a failure's reason code.
pub(crate) fn outcome_to_columns(outcome: &Outcome) -> (&'static str, Option<&str>) {
    match outcome {
        Outcome::Successful => ("SUCCESSFUL", None),
        Outcome::Failed(code) => ("FAILED", Some(code.as_str())),
    }
}

/// The planned outcome of a row, from the columns [`outcome_to_columns`] writes.
pub(crate) fn outcome_from_columns(outcome: Option<String>, reason: Option<String>) -> sqlx::Result<Option<Outcome>> {
    match (outcome.as_deref(), reason) {
        (None, _) => Ok(None),
        (Some("SUCCESSFUL"), None) => Ok(Some(Outcome::Successful)),
        (Some("FAILED"), Some(code)) => Ok(Some(Outcome::Failed(ErrorCode::parse(&code)))),
        (Some(other), _) => Err(sqlx::Error::Decode(format!("malformed planned outcome {other:?}").into())),
    }
}

pub(crate) fn party_type_from_column(column: &str) -> Option<PartyIdType> {
    match column {
        "MSISDN" => Some(PartyIdType::Msisdn),
        "EMAIL" => Some(PartyIdType::Email),
        "PARTY_CODE" => Some(PartyIdType::PartyCode),
        _ => None,
    }
}

pub(crate) fn products_to_column(products: &[Product]) -> String {
    products.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn products_from_column(column: &str) -> Vec<Product> {
    column.split(',').filter_map(|p| p.parse().ok()).collect()
}

pub(crate) fn style_to_column(style: CredentialStyle) -> &'static str {
    match style {
        CredentialStyle::ApiKey => "api-key",
        CredentialStyle::MomoAfrica => "momo-africa",
    }
}

pub(crate) fn style_from_column(column: &str) -> CredentialStyle {
    match column {
        "momo-africa" => CredentialStyle::MomoAfrica,
        _ => CredentialStyle::ApiKey,
    }
}

pub(crate) fn origin_to_column(origin: UserOrigin) -> &'static str {
    match origin {
        UserOrigin::SandboxProvisioning => "sandbox-provisioning",
        UserOrigin::Operator => "operator",
    }
}

pub(crate) fn origin_from_column(column: &str) -> UserOrigin {
    match column {
        "sandbox-provisioning" => UserOrigin::SandboxProvisioning,
        _ => UserOrigin::Operator,
    }
}

pub(crate) fn api_user<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<ApiUserRecord> {
    let key_hash: Option<String> = row.get("key_hash")?;
    Ok(ApiUserRecord {
        id: row.get("id")?,
        environment: row.get("environment")?,
        provider_callback_host: row.get("provider_callback_host")?,
        payment_server_url: row.get("payment_server_url")?,
        credential_style: style_from_column(row.get("credential_style")?),
        origin: origin_from_column(row.get("origin")?),
        key_hash: key_hash.as_deref().and_then(SecretHash::from_hex),
        key_version: row.get("key_version")?,
        created_at: row.get("created_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

pub(crate) fn subscription_key<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<SubscriptionKeyRecord> {
    let hash: String = row.get("key_hash")?;
    Ok(SubscriptionKeyRecord {
        id: row.get("id")?,
        key_hash: SecretHash::from_hex(&hash).ok_or_else(|| sqlx::Error::Decode("malformed key_hash".into()))?,
        hint: row.get("hint")?,
        products: products_from_column(row.get("products")?),
        label: row.get("label")?,
        created_at: row.get("created_at")?,
        revoked_at: row.get("revoked_at")?,
    })
}

pub(crate) fn consent<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<ConsentRecord> {
    Ok(ConsentRecord {
        auth_req_id: row.get("auth_req_id")?,
        api_user: row.get("api_user")?,
        environment: row.get("environment")?,
        msisdn: row.get("msisdn")?,
        scope: row.get("scope")?,
        access_type: row.get("access_type")?,
        outcome: row.get("outcome")?,
        ready_at: row.get("ready_at")?,
        expires_at: row.get("expires_at")?,
        used_at: row.get("used_at")?,
        refresh_expires_at: row.get("refresh_expires_at")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn fault<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<FaultRecord> {
    Ok(FaultRecord {
        id: row.get("id")?,
        spec: row.get("spec")?,
        remaining: row.get("remaining")?,
        created_at: row.get("created_at")?,
    })
}

fn malformed(what: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("malformed {what}").into())
}

/// A transaction's key, from its `product`, `kind` and `reference_id` columns.
fn tx_key<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<TxKey> {
    Ok(TxKey {
        product: row.get::<&str>("product")?.parse().map_err(|_| malformed("product"))?,
        kind: Kind::parse(row.get("kind")?).ok_or_else(|| malformed("kind"))?,
        reference_id: row.get("reference_id")?,
    })
}

pub(crate) fn delivery<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        id: row.get("id")?,
        api_user: row.get("api_user")?,
        key: tx_key(row)?,
        url: row.get("url")?,
        method: row.get("method")?,
        body: row.get("body")?,
        state: row.get("state")?,
        attempts: row.get("attempts")?,
        next_attempt_at: row.get("next_attempt_at")?,
        created_at: row.get("created_at")?,
        finished_at: row.get("finished_at")?,
    })
}

pub(crate) fn attempt<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<AttemptRecord> {
    Ok(AttemptRecord {
        attempt: row.get("attempt")?,
        at: row.get("at")?,
        status_code: row.get("status_code")?,
        latency_ms: row.get("latency_ms")?,
        error: row.get("error")?,
    })
}

pub(crate) fn transaction<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<TransactionRecord> {
    let party_type: Option<&str> = row.get("party_type")?;
    let party_id: Option<String> = row.get("party_id")?;
    let party = match (party_type.and_then(party_type_from_column), party_id) {
        (Some(party_id_type), Some(party_id)) => Some(Party { party_id_type, party_id }),
        _ => None,
    };
    let awaiting: i64 = row.get("awaiting_approval")?;
    Ok(TransactionRecord {
        key: tx_key(row)?,
        api_user: row.get("api_user")?,
        environment: row.get("environment")?,
        currency: Currency::parse(row.get("currency")?).map_err(|_| malformed("currency"))?,
        amount_minor: row.get("amount_minor")?,
        party,
        external_id: row.get("external_id")?,
        request: row.get("request")?,
        api_version: ApiVersion::from_number(row.get("api_version")?).ok_or_else(|| malformed("api_version"))?,
        status: TransactionStatus::parse(row.get("status")?).ok_or_else(|| malformed("status"))?,
        reason: row.get::<Option<&str>>("reason")?.map(ErrorCode::parse),
        financial_transaction_id: row.get("financial_transaction_id")?,
        callback_url: row.get("callback_url")?,
        outcome: outcome_from_columns(row.get("outcome")?, row.get("outcome_reason")?)?,
        due_at: row.get("due_at")?,
        awaiting_approval: awaiting != 0,
        related_reference_id: row.get("related_reference_id")?,
        notifications: row.get("notifications")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        cancelled_at: row.get("cancelled_at")?,
    })
}

pub(crate) fn posting<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<PostingRecord> {
    Ok(PostingRecord {
        entry_id: row.get("entry_id")?,
        account: row.get("account")?,
        currency: row.get("currency")?,
        amount_minor: row.get("amount_minor")?,
        created_at: row.get("created_at")?,
    })
}

pub(crate) fn account<DB: Engine>(row: &Row<'_, DB>) -> sqlx::Result<AccountRecord> {
    Ok(AccountRecord {
        id: row.get("id")?,
        currency: row.get("currency")?,
        floor: row.get("floor_minor")?,
        balance: row.get("balance_minor")?,
        postings_sum: row.get("postings_sum")?,
    })
}
