//! The OAuth2 / OpenID CIBA consent flow (docs/compatibility.md): `bc-authorize` asks the account holder
//! for consent, `oauth2/token/` exchanges the answer for a consent token, and
//! `oauth2/v1_0/userinfo` reads the KYC data it grants.
//!
//! MTN documents no error bodies for this flow; openmomo answers with the errors RFC 6749 and
//! OpenID CIBA define (`authorization_pending`, `access_denied`, `expired_token`,
//! `invalid_grant`, `unsupported_grant_type`, `unknown_user_id`), in the token endpoint's
//! `{"error":"…"}` shape. The account holder answers after the pending delay (sandbox test
//! values: docs/scenarios.md).

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use momo_types::kyc::{Address, UserInfo};
use momo_types::token::{BcAuthorizeRequest, BcAuthorizeResponse, ConsentToken, Oauth2TokenRequest};
use momo_types::Msisdn;

use crate::domain::scenarios::{self, Effect, ScenarioOp};
use crate::domain::tokens::ConsentClaims;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    target_environment_of, ConsentCaller, CurrentProduct, MaybeBasic, MomoForm, TargetEnvironmentHeader,
};
use crate::state::AppState;
use crate::store::{ApiUserRecord, ConsentRecord};

/// How long a consent request may be answered and exchanged.
const AUTH_REQ_TTL_MS: i64 = 3_600_000;
/// Refresh-token lifetimes: offline access for 30 days, online for an hour.
const OFFLINE_REFRESH_MS: i64 = 30 * 86_400_000;
const ONLINE_REFRESH_MS: i64 = 3_600_000;

/// Who may ask for consent: a Bearer access token (Collection and Remittance specs) or Basic
/// API-user credentials (Disbursement spec). Both are accepted on every product.
#[derive(Debug)]
pub(crate) struct Requester(std::sync::Arc<ApiUserRecord>);

impl axum::extract::FromRequestParts<AppState> for Requester {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_basic = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "));
        if is_basic {
            let MaybeBasic(credentials) = MaybeBasic::from_request_parts(parts, state).await?;
            let user = super::token::check_basic(state, credentials).await?;
            target_environment_of(parts, &user.environment)?;
            Ok(Requester(user))
        } else {
            let caller = crate::extract::Caller::from_request_parts(parts, state).await?;
            Ok(Requester(caller.user))
        }
    }
}

/// `ID:<msisdn>/MSISDN` → the MSISDN.
fn parse_login_hint(hint: &str) -> Option<Msisdn> {
    let rest = hint.strip_prefix("ID:").or_else(|| hint.strip_prefix("id:"))?;
    let (msisdn, kind) = rest.rsplit_once('/')?;
    if !kind.eq_ignore_ascii_case("msisdn") {
        return None;
    }
    Msisdn::parse(msisdn).ok()
}

pub(crate) async fn bc_authorize(
    State(state): State<AppState>,
    Requester(user): Requester,
    MomoForm(form): MomoForm<BcAuthorizeRequest>,
) -> ApiResult<Json<BcAuthorizeResponse>> {
    let msisdn = form.login_hint.as_deref().and_then(parse_login_hint).ok_or_else(|| {
        ApiError::BadRequest("login_hint must be ID:<msisdn>/MSISDN, e.g. ID:46733123450/MSISDN.".into())
    })?;
    let scope =
        form.scope.filter(|s| !s.trim().is_empty()).ok_or_else(|| ApiError::BadRequest("scope is required.".into()))?;
    let access_type = form.access_type.unwrap_or_else(|| "online".into());
    if access_type != "online" && access_type != "offline" {
        return Err(ApiError::BadRequest("access_type must be online or offline.".into()));
    }
    let sandbox = user.environment == "sandbox";
    let effect = if sandbox {
        scenarios::effect(
            state.settings.scenario_profile,
            ScenarioOp::Consent,
            Some((momo_types::payments::PartyIdType::Msisdn, msisdn.as_str())),
            None,
        )
    } else {
        Effect::Succeed
    };
    let outcome = match effect {
        Effect::Consent("unknown_user_id") => return Err(ApiError::OAuth("unknown_user_id")),
        Effect::Consent(error) => error,
        _ => "approved",
    };
    let now = state.clock.now_ms();
    let delay = i64::try_from(state.settings.pending_delay.as_millis()).unwrap_or(0);
    let consent = ConsentRecord {
        auth_req_id: uuid::Uuid::new_v4().to_string(),
        api_user: user.id.clone(),
        environment: user.environment.clone(),
        msisdn: msisdn.to_string(),
        scope,
        access_type,
        outcome: outcome.into(),
        ready_at: now + delay,
        expires_at: now + AUTH_REQ_TTL_MS,
        used_at: None,
        refresh_expires_at: None,
        created_at: now,
    };
    state.store.insert_consent(&consent).await?;
    Ok(Json(BcAuthorizeResponse {
        auth_req_id: consent.auth_req_id,
        interval: state.settings.pending_delay.as_secs().max(1),
        expires_in: u64::try_from(AUTH_REQ_TTL_MS / 1000).unwrap_or(3600),
    }))
}

pub(crate) async fn oauth2_token(
    State(state): State<AppState>,
    CurrentProduct(product): CurrentProduct,
    MaybeBasic(credentials): MaybeBasic,
    TargetEnvironmentHeader(target_environment): TargetEnvironmentHeader,
    MomoForm(form): MomoForm<Oauth2TokenRequest>,
) -> ApiResult<Json<ConsentToken>> {
    let user = super::token::check_basic(&state, credentials).await?;
    if target_environment.as_deref() != Some(user.environment.as_str()) {
        return Err(ApiError::NotAllowedTargetEnvironment);
    }
    let now = state.clock.now_ms();
    let (consent, refresh_token) = match form.grant_type.as_deref() {
        Some(Oauth2TokenRequest::CIBA_GRANT) => {
            let id = form.auth_req_id.ok_or(ApiError::OAuth("invalid_request"))?;
            let consent = state
                .store
                .consent(&id)
                .await?
                .filter(|c| c.api_user == user.id)
                .ok_or(ApiError::OAuth("invalid_grant"))?;
            if now >= consent.expires_at {
                return Err(ApiError::OAuth("expired_token"));
            }
            if now < consent.ready_at {
                return Err(ApiError::OAuth("authorization_pending"));
            }
            match consent.outcome.as_str() {
                "approved" | "refresh_expired" => {}
                "access_denied" => return Err(ApiError::OAuth("access_denied")),
                "expired_token" => return Err(ApiError::OAuth("expired_token")),
                _ => return Err(ApiError::OAuth("authorization_pending")),
            }
            let refresh = uuid::Uuid::new_v4().to_string();
            let lifetime = match (consent.outcome.as_str(), consent.access_type.as_str()) {
                ("refresh_expired", _) => 0,
                (_, "offline") => OFFLINE_REFRESH_MS,
                _ => ONLINE_REFRESH_MS,
            };
            if !state.store.use_consent(&consent.auth_req_id, &state.hasher.hash(&refresh), now + lifetime, now).await?
            {
                return Err(ApiError::OAuth("invalid_grant"));
            }
            let consent = ConsentRecord { refresh_expires_at: Some(now + lifetime), ..consent };
            (consent, refresh)
        }
        Some("refresh_token") => {
            let refresh = form.refresh_token.ok_or(ApiError::OAuth("invalid_request"))?;
            let consent = state
                .store
                .consent_by_refresh_token(&state.hasher.hash(&refresh))
                .await?
                .filter(|c| c.api_user == user.id && c.refresh_expires_at.is_some_and(|at| at > now))
                .ok_or(ApiError::OAuth("invalid_grant"))?;
            (consent, refresh)
        }
        _ => return Err(ApiError::OAuth("unsupported_grant_type")),
    };
    let ttl = state.settings.token_ttl.as_secs();
    let claims = ConsentClaims {
        sub: consent.msisdn.clone(),
        scope: consent.scope.clone(),
        auth_req_id: consent.auth_req_id.clone(),
    };
    let request = user.token_request(product, Some(claims));
    let access_token = state.tokens.issue(request, state.clock.now(), ttl)?;
    let refresh_left = consent.refresh_expires_at.map_or(0, |at| (at - now).max(0) / 1000);
    Ok(Json(ConsentToken {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: consent.scope,
        refresh_token,
        refresh_token_expired_in: refresh_left,
    }))
}

/// `GET /{product}/oauth2/v1_0/userinfo`: the consenting account holder's KYC data (the sandbox
/// answers its "Sand Box" identity for everyone, docs/compatibility.md).
pub(crate) async fn userinfo(State(state): State<AppState>, consent: ConsentCaller) -> Json<UserInfo> {
    let basic = super::accountholder::sand_box(state.clock.now().unix_timestamp());
    Json(UserInfo {
        sub: basic.sub,
        name: basic.name,
        given_name: basic.given_name,
        family_name: basic.family_name,
        birthdate: basic.birthdate,
        locale: basic.locale,
        status: "ACTIVE".into(),
        gender: basic.gender,
        email: "email@domain.test".into(),
        email_verified: true,
        phone_number: consent.consent.sub,
        phone_number_verified: true,
        address: Address {
            formatted: "Street 17\n123 45 Karlskrona\nBlekinge\nSweden".into(),
            street_address: "Street 17".into(),
            postal_code: "123 45".into(),
            locality: "Karlskrona".into(),
            region: "Blekinge".into(),
            country: "Sweden".into(),
        },
        updated_at: basic.updated_at,
        credit_score: 123,
        active: true,
        country_of_birth: "Sweden".into(),
        region_of_birth: "Blekinge".into(),
        city_of_birth: "Karlskrona".into(),
        occupation: "Manager".into(),
        employer_name: "Ericsson".into(),
        identification_type: "PASS".into(),
        identification_value: "S1234567".into(),
    })
}
