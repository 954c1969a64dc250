//! Callbacks: every delivery, newest first, filterable by state, so that a failing receiver is
//! obvious at a glance; a delivery's page shows the signed body and every attempt.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{failure, pages, signed_in};
use crate::state::AppState;
use crate::store::DeliveryState;

/// How many deliveries the list shows.
const SHOWN: i64 = 200;

#[derive(Debug, Deserialize)]
pub(super) struct Filter {
    #[serde(default)]
    state: String,
}

pub(super) async fn list(State(state): State<AppState>, Query(filter): Query<Filter>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let wanted = DeliveryState::parse(&filter.state);
    match state.store.deliveries(None, wanted, SHOWN).await {
        Ok(deliveries) => pages::callbacks(&deliveries, wanted, &session.csrf_token).into_response(),
        Err(e) => failure(e.into(), "listing callbacks"),
    }
}

pub(super) async fn detail(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let found = async {
        let Some(delivery) = state.store.delivery(&id).await? else { return Ok(None) };
        let attempts = state.store.delivery_attempts(&id).await?;
        Ok::<_, crate::store::StoreError>(Some((delivery, attempts)))
    };
    match found.await {
        Ok(Some((delivery, attempts))) => pages::callback(&delivery, &attempts, &session.csrf_token).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, pages::callbacks_not_found(&session.csrf_token)).into_response(),
        Err(e) => failure(e.into(), "reading a callback"),
    }
}
