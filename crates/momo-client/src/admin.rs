//! The operator API of an openmomo server (`/_momo/admin/…`, `docs/operator-api.md`), typed with
//! the server's own bodies from [`momo_types::admin`]. MTN's servers have no such API.
//!
//! Unlike MoMo calls, operator calls are sent once: an operator action is not idempotent (a
//! retried `force` or `add_fault` would act twice) and a 429 here is the server refusing an
//! address after wrong tokens, which a retry would only prolong. Error answers are classified as
//! MoMo's are ([`Error::Momo`] for the `{"code","message"}` bodies the operator API sends).

use std::time::Duration;

use momo_types::admin::{
    Account, CallbackSecret, CreateSubscriptionKey, CreateUser, Delivery, DeliveryDetail, Fault, FaultSpec,
    ForceOutcome, ListQuery, SetBalance, SubscriptionKey, SubscriptionKeyCreated, Transaction, TransactionDetail, User,
    UserCredentials, PREFIX,
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
        self.call(Method::GET, "/users", None, NO_BODY).await
    }

    pub async fn user(&self, api_user: &str) -> Result<User> {
        self.call(Method::GET, &format!("/users/{}", segment(api_user)), None, NO_BODY).await
    }

    /// Create an API user and its key, as MTN's Partner Portal does; the key is shown only here.
    pub async fn create_user(&self, user: &CreateUser) -> Result<UserCredentials> {
        self.call(Method::POST, "/users", None, Some(user)).await
    }

    /// Issue a new key; the old key and its tokens stop working at once.
    pub async fn regenerate_user_key(&self, api_user: &str) -> Result<UserCredentials> {
        self.call(Method::POST, &format!("/users/{}/key", segment(api_user)), None, NO_BODY).await
    }

    /// Revoke an API user; its tokens stop working at once.
    pub async fn revoke_user(&self, api_user: &str) -> Result<User> {
        self.call(Method::DELETE, &format!("/users/{}", segment(api_user)), None, NO_BODY).await
    }

    /// The secret the user's callbacks are signed with (`X-Momo-Signature`).
    pub async fn callback_secret(&self, api_user: &str) -> Result<CallbackSecret> {
        self.call(Method::GET, &format!("/users/{}/callback-secret", segment(api_user)), None, NO_BODY).await
    }

    /// Subscription keys (ids and hints, never the keys).
    pub async fn subscription_keys(&self) -> Result<Vec<SubscriptionKey>> {
        self.call(Method::GET, "/subscription-keys", None, NO_BODY).await
    }

    /// Add a subscription key; the key is shown only here.
    pub async fn create_subscription_key(&self, key: &CreateSubscriptionKey) -> Result<SubscriptionKeyCreated> {
        self.call(Method::POST, "/subscription-keys", None, Some(key)).await
    }

    /// Give a key a new value; the old one stops working at once.
    pub async fn regenerate_subscription_key(&self, id: &str) -> Result<SubscriptionKeyCreated> {
        self.call(Method::POST, &format!("/subscription-keys/{}/regenerate", segment(id)), None, NO_BODY).await
    }

    pub async fn revoke_subscription_key(&self, id: &str) -> Result<SubscriptionKey> {
        self.call(Method::DELETE, &format!("/subscription-keys/{}", segment(id)), None, NO_BODY).await
    }

    /// The most recent transactions (`query.api_user` and `query.limit` apply).
    pub async fn transactions(&self, query: &ListQuery) -> Result<Vec<Transaction>> {
        self.call(Method::GET, "/transactions", Some(query), NO_BODY).await
    }

    /// One transaction, with what its status endpoint answers and its callbacks.
    pub async fn transaction(&self, reference_id: &str) -> Result<TransactionDetail> {
        self.call(Method::GET, &format!("/transactions/{}", segment(reference_id)), None, NO_BODY).await
    }

    /// Approve a request waiting for the payer (what the payer's handset does).
    pub async fn approve(&self, reference_id: &str) -> Result<Transaction> {
        self.call(Method::POST, &format!("/transactions/{}/approve", segment(reference_id)), None, NO_BODY).await
    }

    /// Reject a request waiting for the payer.
    pub async fn reject(&self, reference_id: &str) -> Result<Transaction> {
        self.call(Method::POST, &format!("/transactions/{}/reject", segment(reference_id)), None, NO_BODY).await
    }

    /// Make a pending transaction SUCCESSFUL or FAILED now.
    pub async fn force(&self, reference_id: &str, outcome: &ForceOutcome) -> Result<Transaction> {
        self.call(Method::POST, &format!("/transactions/{}/force", segment(reference_id)), None, Some(outcome)).await
    }

    /// The most recent callback deliveries (`query.reference_id` and `query.limit` apply).
    pub async fn deliveries(&self, query: &ListQuery) -> Result<Vec<Delivery>> {
        self.call(Method::GET, "/deliveries", Some(query), NO_BODY).await
    }

    /// One delivery with its body and every attempt.
    pub async fn delivery(&self, id: &str) -> Result<DeliveryDetail> {
        self.call(Method::GET, &format!("/deliveries/{}", segment(id)), None, NO_BODY).await
    }

    /// Send a callback again, soon, with the same body.
    pub async fn redeliver(&self, id: &str) -> Result<Delivery> {
        self.call(Method::POST, &format!("/deliveries/{}/redeliver", segment(id)), None, NO_BODY).await
    }

    /// Every ledger account with its balance.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        self.call(Method::GET, "/accounts", None, NO_BODY).await
    }

    /// Set a payer's wallet balance in an environment.
    pub async fn set_wallet_balance(&self, environment: &str, party: &Party, balance: &SetBalance) -> Result<Account> {
        let path = format!(
            "/wallets/{}/{}/{}/balance",
            segment(environment),
            party.party_id_type.as_str(),
            segment(&party.party_id)
        );
        self.call(Method::PUT, &path, None, Some(balance)).await
    }

    /// Set an API user's account balance for a product (e.g. to fund disbursements).
    pub async fn set_user_balance(&self, api_user: &str, product: Product, balance: &SetBalance) -> Result<Account> {
        let path = format!("/users/{}/accounts/{product}/balance", segment(api_user));
        self.call(Method::PUT, &path, None, Some(balance)).await
    }

    /// Every fault rule, those used up included.
    pub async fn faults(&self) -> Result<Vec<Fault>> {
        self.call(Method::GET, "/faults", None, NO_BODY).await
    }

    pub async fn add_fault(&self, spec: &FaultSpec) -> Result<Fault> {
        self.call(Method::POST, "/faults", None, Some(spec)).await
    }

    pub async fn remove_fault(&self, id: &str) -> Result<()> {
        self.send(Method::DELETE, &format!("/faults/{}", segment(id)), None, NO_BODY).await.map(drop)
    }

    pub async fn clear_faults(&self) -> Result<()> {
        self.send(Method::DELETE, "/faults", None, NO_BODY).await.map(drop)
    }

    /// Forget all transactions, ledger entries, deliveries and fault rules (users and keys stay).
    pub async fn reset(&self) -> Result<()> {
        self.send(Method::POST, "/reset", None, NO_BODY).await.map(drop)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: Option<&ListQuery>,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        self.send(method, path, query, body).await?.json()
    }

    /// Send once; a 2xx is an [`Answer`], anything else an error classified by its body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: Option<&ListQuery>,
        body: Option<&impl Serialize>,
    ) -> Result<Answer> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).bearer_auth(self.token.expose_secret());
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
