//! `GET /{product}/v1_0/account/balance`.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, Currency};

/// An account balance; the amount is a decimal string, as everywhere in MoMo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    pub available_balance: Amount,
    pub currency: Currency,
}
