//! The operator API of an openmomo server (`/_momo/admin/…`, `docs/operator-api.md`), typed with
//! the server's own bodies from [`momo_types::admin`]. MTN's servers have no such API.
//!
//! Unlike MoMo calls, operator calls are sent once: an operator action is not idempotent (a
//! retried `force` or `add_fault` would act twice) and a 429 here is the server refusing an
//! address after wrong tokens, which a retry would only prolong. Error answers are classified as
//! MoMo's are ([`Error::Momo`] for the `{"code","message"}` bodies the operator API sends).

use std::time::Duration;

use momo_types::admin::{
    Account, AdminOperation, AdminOperation as A, CallbackSecret, CreateSubscriptionKey, CreateUser, Delivery,
    DeliveryDetail, Fault, FaultSpec, ForceOutcome, ListQuery, SetBalance, SubscriptionKey, SubscriptionKeyCreated,
    Transaction, TransactionDetail, User, UserCredentials, PREFIX,
};
use momo_types::payments::Party;
use momo_types::Product;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Answer;
use crate::error::{Error, Result};

/// A client of an openmomo server's operator API, holding the operator token (`momo serve`
/// prints it on first start). Cheap to clone.
///
/// ```no_run
/// # async fn example() -> momo_client::Result<()> {
/// use momo_client::AdminClient;
/// let admin = AdminClient::new("http://127.0.0.1:8080", std::env::var("MOMO_ADMIN_TOKEN").unwrap_or_default().into())?;
/// for tx in admin.transactions(&Default::default()).await? {
///     println!("{} {}", tx.reference_id, tx.status);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    /// The server's URL followed by [`PREFIX`].
    base: String,
    token: SecretString,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").field("base", &self.base).field("token", &"[redacted]").finish()
    }
}

/// No request body.
const NO_BODY: Option<&()> = None;

impl AdminClient {
    /// A client of the server at `server` (e.g. `http://127.0.0.1:8080`), with a 30 s timeout.
    pub fn new(server: &str, token: SecretString) -> Result<AdminClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("momo-client/", env!("CARGO_PKG_VERSION"), " (openmomo)"))
            .build()
            .map_err(|e| Error::Config(format!("cannot build an HTTP client: {e}")))?;
        Ok(AdminClient::with_http(http, server, token))
    }

    pub(crate) fn with_http(http: reqwest::Client, server: &str, token: SecretString) -> AdminClient {
        AdminClient { http, base: format!("{}{PREFIX}", server.trim_end_matches('/')), token }
    }

    /// Where the operator API is: the server's URL followed by [`PREFIX`].
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// API users (never their keys).
    pub async fn users(&self) -> Result<Vec<User>> {
        self.call(A::ListUsers, &[], None, NO_BODY).await
    }

    pub async fn user(&self, api_user: &str) -> Result<User> {
        self.call(A::GetUser, &[&segment(api_user)], None, NO_BODY).await
    }

    /// Create an API user and its key, as MTN's Partner Portal does; the key is shown only here.
    pub async fn create_user(&self, user: &CreateUser) -> Result<UserCredentials> {
        self.call(A::CreateUser, &[], None, Some(user)).await
    }

    /// Issue a new key; the old key and its tokens stop working at once.
    pub async fn regenerate_user_key(&self, api_user: &str) -> Result<UserCredentials> {
        self.call(A::RegenerateUserKey, &[&segment(api_user)], None, NO_BODY).await
    }

    /// Revoke an API user; its tokens stop working at once.
    pub async fn revoke_user(&self, api_user: &str) -> Result<User> {
        self.call(A::RevokeUser, &[&segment(api_user)], None, NO_BODY).await
    }

    /// The secret the user's callbacks are signed with (`X-Momo-Signature`).
    pub async fn callback_secret(&self, api_user: &str) -> Result<CallbackSecret> {
        self.call(A::GetCallbackSecret, &[&segment(api_user)], None, NO_BODY).await
    }

    /// Subscription keys (ids and hints, never the keys).
    pub async fn subscription_keys(&self) -> Result<Vec<SubscriptionKey>> {
        self.call(A::ListSubscriptionKeys, &[], None, NO_BODY).await
    }

    /// Add a subscription key; the key is shown only here.
    pub async fn create_subscription_key(&self, key: &CreateSubscriptionKey) -> Result<SubscriptionKeyCreated> {
        self.call(A::CreateSubscriptionKey, &[], None, Some(key)).await
    }

    /// Give a key a new value; the old one stops working at once.
    pub async fn regenerate_subscription_key(&self, id: &str) -> Result<SubscriptionKeyCreated> {
        self.call(A::RegenerateSubscriptionKey, &[&segment(id)], None, NO_BODY).await
    }

    pub async fn revoke_subscription_key(&self, id: &str) -> Result<SubscriptionKey> {
        self.call(A::RevokeSubscriptionKey, &[&segment(id)], None, NO_BODY).await
    }

    /// The most recent transactions (`query.api_user` and `query.limit` apply).
    pub async fn transactions(&self, query: &ListQuery) -> Result<Vec<Transaction>> {
        self.call(A::ListTransactions, &[], Some(query), NO_BODY).await
    }

    /// One transaction, with what its status endpoint answers and its callbacks.
    pub async fn transaction(&self, reference_id: &str) -> Result<TransactionDetail> {
        self.call(A::GetTransaction, &[&segment(reference_id)], None, NO_BODY).await
    }

    /// Approve a request waiting for the payer (what the payer's handset does).
    pub async fn approve(&self, reference_id: &str) -> Result<Transaction> {
        self.call(A::ApproveTransaction, &[&segment(reference_id)], None, NO_BODY).await
    }

    /// Reject a request waiting for the payer.
    pub async fn reject(&self, reference_id: &str) -> Result<Transaction> {
        self.call(A::RejectTransaction, &[&segment(reference_id)], None, NO_BODY).await
    }

    /// Make a pending transaction SUCCESSFUL or FAILED now.
    pub async fn force(&self, reference_id: &str, outcome: &ForceOutcome) -> Result<Transaction> {
        self.call(A::ForceOutcome, &[&segment(reference_id)], None, Some(outcome)).await
    }

    /// The most recent callback deliveries (`query.reference_id` and `query.limit` apply).
    pub async fn deliveries(&self, query: &ListQuery) -> Result<Vec<Delivery>> {
        self.call(A::ListDeliveries, &[], Some(query), NO_BODY).await
    }

    /// One delivery with its body and every attempt.
    pub async fn delivery(&self, id: &str) -> Result<DeliveryDetail> {
        self.call(A::GetDelivery, &[&segment(id)], None, NO_BODY).await
    }

    /// Send a callback again, soon, with the same body.
    pub async fn redeliver(&self, id: &str) -> Result<Delivery> {
        self.call(A::Redeliver, &[&segment(id)], None, NO_BODY).await
    }

    /// Every ledger account with its balance.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.call(A::ListAccounts, &[], None, NO_BODY).await
    }

    /// Set a payer's wallet balance in an environment.
    pub async fn set_wallet_balance(&self, environment: &str, party: &Party, balance: &SetBalance) -> Result<Account> {
        let params = [&segment(environment), party.party_id_type.as_str(), &segment(&party.party_id)];
        self.call(A::SetWalletBalance, &params, None, Some(balance)).await
    }

    /// Set an API user's account balance for a product (e.g. to fund disbursements).
    pub async fn set_user_balance(&self, api_user: &str, product: Product, balance: &SetBalance) -> Result<Account> {
        self.call(A::SetUserBalance, &[&segment(api_user), product.as_str()], None, Some(balance)).await
    }

    /// Every fault rule, those used up included.
    pub async fn faults(&self) -> Result<Vec<Fault>> {
        self.call(A::ListFaults, &[], None, NO_BODY).await
    }

    pub async fn add_fault(&self, spec: &FaultSpec) -> Result<Fault> {
        self.call(A::AddFault, &[], None, Some(spec)).await
    }

    pub async fn remove_fault(&self, id: &str) -> Result<()> {
        self.send(A::RemoveFault, &[&segment(id)], None, NO_BODY).await.map(drop)
    }

    pub async fn clear_faults(&self) -> Result<()> {
        self.send(A::ClearFaults, &[], None, NO_BODY).await.map(drop)
    }

    /// Forget all transactions, ledger entries, deliveries and fault rules (users and keys stay).
    pub async fn reset(&self) -> Result<()> {
        self.send(A::Reset, &[], None, NO_BODY).await.map(drop)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        operation: AdminOperation,
        params: &[&str],
        query: Option<&ListQuery>,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        self.send(operation, params, query, body).await?.json()
    }

    /// Send once; a 2xx is an [`Answer`], anything else an error classified by its body.
    /// `params` are the operation's path parameters, each already encoded ([`segment`]).
    async fn send(
        &self,
        operation: AdminOperation,
        params: &[&str],
        query: Option<&ListQuery>,
        body: Option<&impl Serialize>,
    ) -> Result<Answer> {
        // The table's methods are all standard ones, which `Method` knows.
        let method = Method::from_bytes(operation.method().as_bytes()).unwrap_or(Method::GET);
        let url = format!("{}{}", self.base, operation.path(params));
        let mut request = self.http.request(method, url).bearer_auth(self.token.expose_secret());
        if let Some(query) = query {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(Error::Transport)?;
        if (200..300).contains(&status) {
            Ok(Answer { status, body })
        } else {
            Err(Error::from_answer(status, &body))
        }
    }
}

/// Percent-encode a path segment (new-platform user ids contain '/', '+' and '=').
fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_token_never_shows_in_debug() {
        let admin = AdminClient::new("http://127.0.0.1:8080/", SecretString::from("op-token-123")).unwrap();
        let debug = format!("{admin:?}");
        assert!(!debug.contains("op-token-123"), "{debug}");
        assert_eq!(admin.base_url(), "http://127.0.0.1:8080/_momo/admin");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("a/b+c="), "a%2Fb%2Bc%3D");
    }
}
