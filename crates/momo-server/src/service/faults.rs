//! Fault injection rules (docs/operator-api.md, "Fault injection"): the operator API and the
//! console add, list and remove them through these.

use crate::error::{ApiError, ApiResult};
use crate::faults::{FaultSpec, FaultView};
use crate::state::AppState;

pub(crate) async fn list(state: &AppState) -> ApiResult<Vec<FaultView>> {
    Ok(state.faults.list(state.store.as_ref()).await?)
}

/// Add a rule after checking it; it applies on this instance at once, on the others at their
/// next refresh.
pub(crate) async fn add(state: &AppState, spec: FaultSpec) -> ApiResult<FaultView> {
    spec.check().map_err(ApiError::BadRequest)?;
    let view = state.faults.add(state.store.as_ref(), spec, state.clock.now_ms()).await?;
    tracing::info!(fault = %view.id, path = %view.spec.path, "fault rule added");
    Ok(view)
}

/// Remove a rule: it stops at once on every instance.
pub(crate) async fn remove(state: &AppState, id: &str) -> ApiResult<()> {
    if state.faults.remove(state.store.as_ref(), id).await? {
        tracing::info!(fault = %id, "fault rule removed");
        Ok(())
    } else {
        Err(ApiError::ResourceNotFound)
    }
}

pub(crate) async fn clear(state: &AppState) -> ApiResult<()> {
    Ok(state.faults.clear(state.store.as_ref()).await?)
}

/// The sandbox's best-known failure: `POST /v1_0/apiuser` answering 500 (clients must retry with
/// the same reference id), once.
pub(crate) fn sandbox_apiuser_500() -> FaultSpec {
    FaultSpec {
        method: Some("POST".into()),
        path: "/v1_0/apiuser".into(),
        api_user: None,
        status: Some(500),
        body: None,
        latency_ms: 0,
        probability: 1.0,
        count: Some(1),
    }
}
