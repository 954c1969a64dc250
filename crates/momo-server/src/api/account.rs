//! `GET /{product}/v1_0/account/balance[/{currency}]`: the API user's account for the product,
//! read from the ledger (or, with `--sandbox-balance fixed`, MTN's sandbox constants).

use axum::extract::State;
use axum::Json;
use momo_types::account::Balance;
use momo_types::{Amount, Currency};

use crate::config::SandboxBalance;
use crate::domain::transactions::accounts;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PathParam};
use crate::state::AppState;

/// The balance in the environment's currency.
pub(crate) async fn balance(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Balance>> {
    read_balance(&state, &caller).await
}

/// The balance in a named currency, which must be the environment's.
pub(crate) async fn balance_in_currency(
    State(state): State<AppState>,
    caller: Caller,
    PathParam(currency): PathParam,
) -> ApiResult<Json<Balance>> {
    if !currency.eq_ignore_ascii_case(caller.environment.currency) {
        return Err(ApiError::InvalidCurrency);
    }
    read_balance(&state, &caller).await
}

async fn read_balance(state: &AppState, caller: &Caller) -> ApiResult<Json<Balance>> {
    let env = caller.environment;
    let minor = if env.is_sandbox() && state.settings.sandbox_balance == SandboxBalance::Fixed {
        fixed_sandbox_balance(caller.product)
    } else {
        state.store.balance(&accounts::api_user(&caller.user.id, caller.product)).await?
    };
    Ok(Json(Balance {
        available_balance: Amount::from_minor_units(minor, env.currency_decimals),
        currency: Currency::from_static(env.currency),
    }))
}

/// What MTN's sandbox answers whatever happens: `{"availableBalance":"1000","currency":"EUR"}` on
/// Collection, `"0"` on Disbursement and Remittance (docs/compatibility.md), in minor units.
fn fixed_sandbox_balance(product: momo_types::Product) -> i64 {
    match product {
        momo_types::Product::Collection => 100_000,
        momo_types::Product::Disbursement | momo_types::Product::Remittance => 0,
    }
}
