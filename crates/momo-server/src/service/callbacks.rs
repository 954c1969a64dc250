//! Callback operations the operator API and the console share (docs/operator-api.md,
//! "Callbacks").

use crate::changes::Change;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{AttemptRecord, DeliveryRecord, TxKey};

/// A transaction's callbacks (newest first, at most 100) with each one's attempts.
pub(crate) async fn of_transaction(
    state: &AppState,
    key: &TxKey,
) -> ApiResult<Vec<(DeliveryRecord, Vec<AttemptRecord>)>> {
    let mut deliveries = Vec::new();
    for delivery in state.store.deliveries(Some(&key.reference_id), None, 100).await? {
        // Reference ids are unique only per product and kind.
        if delivery.key == *key {
            let attempts = state.store.delivery_attempts(&delivery.id).await?;
            deliveries.push((delivery, attempts));
        }
    }
    Ok(deliveries)
}

/// Send a callback again, with the body it was signed with (the signature is made afresh at each
/// attempt): a delivered or failed one becomes pending, its next attempt due now, and its attempts
/// keep counting (so the retry schedule goes on from where it was, [`crate::callbacks::next_delay`]);
/// a pending one is attempted now instead of at its planned time. While an attempt is in flight
/// it is refused (409): that attempt's outcome, once recorded, would undo it. The delivery worker
/// is woken at once.
pub(crate) async fn redeliver(state: &AppState, id: &str) -> ApiResult<DeliveryRecord> {
    let Some(delivery) = state.store.redeliver(id, state.clock.now_ms()).await? else {
        return match state.store.delivery(id).await? {
            Some(_) => Err(ApiError::OperatorConflict(
                "An attempt of this callback is in flight; redeliver it once that attempt is recorded.".into(),
            )),
            None => Err(ApiError::ResourceNotFound),
        };
    };
    state.callbacks_waiting.notify_one();
    state.changes.publish(|| Change::Delivery { reference_id: delivery.key.reference_id.clone() });
    tracing::info!(delivery_id = %id, reference_id = %delivery.key.reference_id, "callback redelivery requested");
    Ok(delivery)
}
