//! Account holders: `…/accountholder/{type}/{id}/active` and `…/basicuserinfo`, and the delivery
//! notification of a request to pay.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use momo_types::kyc::BasicUserInfo;
use momo_types::payments::{BooleanResult, DeliveryNotification, TransactionStatus};
use momo_types::ErrorCode;

use crate::domain::scenarios::{self, Effect, ScenarioOp};
use crate::domain::transactions::Kind;
use crate::domain::validation::check_message;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional_header, AccountHolder, Caller, OptionalJson, PathParam};
use crate::state::AppState;

/// Whether the account holder is active: sandbox test values fail synchronously (docs/scenarios.md);
/// every other holder is active. In production environments every MSISDN is a wallet.
pub(crate) async fn active(
    State(state): State<AppState>,
    caller: Caller,
    AccountHolder(party): AccountHolder,
) -> ApiResult<Json<BooleanResult>> {
    if !caller.environment.is_sandbox() {
        return Ok(Json(BooleanResult { result: true }));
    }
    let effect = scenarios::effect(
        state.settings.scenario_profile,
        ScenarioOp::AccountHolderActive,
        Some((party.party_id_type, &party.party_id)),
        None,
    );
    match effect {
        Effect::Inactive => Ok(Json(BooleanResult { result: false })),
        Effect::SyncError(ErrorCode::ServiceUnavailable) => {
            Err(ApiError::Business(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServiceUnavailable))
        }
        Effect::SyncError(code) => Err(ApiError::momo500(code)),
        Effect::Succeed | Effect::Fail(_) | Effect::StayPending | Effect::SucceedAfter(_) | Effect::Consent(_) => {
            Ok(Json(BooleanResult { result: true }))
        }
    }
}

/// The sandbox's one identity, which it answers for every account holder (docs/compatibility.md).
pub(crate) fn sand_box(updated_at: i64) -> BasicUserInfo {
    BasicUserInfo {
        sub: "0".into(),
        name: "Sand Box".into(),
        given_name: "Sand".into(),
        family_name: "Box".into(),
        birthdate: "1976-08-13".into(),
        locale: "sv_SE".into(),
        gender: "MALE".into(),
        updated_at,
    }
}

/// Basic KYC data: the sandbox's identity.
pub(crate) async fn basic_user_info(
    State(state): State<AppState>,
    _caller: Caller,
    AccountHolder(_party): AccountHolder,
) -> Json<BasicUserInfo> {
    Json(sand_box(state.clock.now().unix_timestamp()))
}

/// How many notifications one transaction may get (the third is the last; then 429).
const MAX_NOTIFICATIONS: i64 = 3;
/// How long after success a notification may be sent.
const NOTIFICATION_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// The `notificationMessage` header (MTN requires it; the body's field is accepted too).
#[derive(Debug)]
pub(crate) struct NotificationHeader(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for NotificationHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(optional_header(parts, "notificationmessage")?))
    }
}

/// `POST /collection/v1_0/requesttopay/{referenceId}/deliverynotification` (docs/compatibility.md):
/// 200 when enqueued; 404 unknown or not the caller's; 409 not successful; 410 window over;
/// 429 too many for this transaction.
pub(crate) async fn delivery_notification(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(reference): PathParam,
    NotificationHeader(header): NotificationHeader,
    OptionalJson(body): OptionalJson<DeliveryNotification>,
) -> ApiResult<StatusCode> {
    let message = header.or_else(|| body.map(|b| b.notification_message));
    let message = message
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ApiError::BadRequest("notificationMessage is required.".into()))?;
    check_message("notificationMessage", Some(&message))?;
    let tx = super::payments::load(&state, &caller, Kind::RequestToPay, &reference).await?;
    if tx.status != TransactionStatus::Successful {
        return Err(ApiError::Refused(
            StatusCode::CONFLICT,
            ErrorCode::TransactionNotCompleted,
            "The transaction is not successfully completed.",
        ));
    }
    if state.clock.now_ms() - tx.updated_at > NOTIFICATION_WINDOW_MS {
        return Err(ApiError::Refused(
            StatusCode::GONE,
            ErrorCode::Expired,
            "The delivery notification window has expired.",
        ));
    }
    if state.store.count_notification(&tx.key).await? > MAX_NOTIFICATIONS {
        return Err(ApiError::Refused(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::NotAllowed,
            "Too many delivery notifications for this transaction.",
        ));
    }
    tracing::info!(reference_id = %tx.key.reference_id, "delivery notification enqueued");
    Ok(StatusCode::OK)
}
