//! Callback operations the operator API and the console share (docs/operator-api.md,
//! "Callbacks").

use crate::changes::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::DeliveryRecord;

/// Send a callback again, with the body it was signed with (the signature is made afresh at each
/// attempt): a delivered or failed one becomes pending, its next attempt due now, and its attempts
/// keep counting (so the retry schedule goes on from where it was, [`crate::callbacks::next_delay`]);
/// a pending one is attempted now instead of at its planned time (an attempt in flight right now is
/// not doubled: it finishes and is recorded). The delivery worker is woken at once.
pub async fn redeliver(state: &AppState, id: &str) -> ApiResult<DeliveryRecord> {
    let delivery = state.store.redeliver(id, state.clock.now_ms()).await?.ok_or(ApiError::ResourceNotFound)?;
    state.callbacks_waiting.notify_one();
    state.changes.publish(|| Change::Delivery { reference_id: delivery.key.reference_id.clone() });
    tracing::info!(delivery_id = %id, reference_id = %delivery.key.reference_id, "callback redelivery requested");
    Ok(delivery)
}
