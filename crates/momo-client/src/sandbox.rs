//! Sandbox provisioning: create an API user, verify it, create its key.

use momo_types::provisioning::{ApiKeyCreated, ApiUserInfo, CreateApiUser};
use momo_types::{OperationName, ReferenceId};
use reqwest::Method;
use secrecy::SecretString;

use crate::client::{Body, Call, Client};
use crate::error::{Error, Result};

/// A provisioned sandbox API user and its key.
#[derive(Clone)]
pub struct Credentials {
    pub api_user: ReferenceId,
    pub api_key: SecretString,
    pub provider_callback_host: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_user", &self.api_user)
            .field("api_key", &"[redacted]")
            .field("provider_callback_host", &self.provider_callback_host)
            .finish()
    }
}

impl Client {
    /// Provision a sandbox API user for `callback_host`: create it (the sandbox's 5xx are retried
    /// with the same reference id, and a 409 after a retry means it was created), check it with
    /// `GET`, then create its key. Needs only a subscription key.
    ///
    /// ```no_run
    /// # use momo_client::TransactionKind; use momo_types::{Product, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let credentials = client.provision_sandbox_user("webhook.site").await?;
    /// # Ok(()) }
    /// ```
    pub async fn provision_sandbox_user(&self, callback_host: &str) -> Result<Credentials> {
        let api_user = ReferenceId::new_v4();
        let mut create = Call::new(Method::POST, None, OperationName::CreateApiUser.route());
        create.reference = Some(api_user);
        create.create = true;
        let body = CreateApiUser { provider_callback_host: callback_host.to_owned() };
        create.body = Some(Body::Json(serde_json::to_string(&body).map_err(|e| Error::Config(e.to_string()))?));
        self.check_call(&create)?;
        self.send(&create).await?;

        let check = Call::new(Method::GET, None, OperationName::GetApiUser.path(&[&api_user.to_string()]));
        let info: ApiUserInfo = self.send(&check).await?.json()?;
        if info.provider_callback_host != callback_host {
            return Err(Error::Http {
                status: 200,
                body: format!(
                    "the sandbox recorded callback host {:?}, not {callback_host:?}",
                    info.provider_callback_host
                ),
            });
        }

        let key = Call::new(Method::POST, None, OperationName::CreateApiKey.path(&[&api_user.to_string()]));
        let key: ApiKeyCreated = self.send(&key).await?.json()?;
        Ok(Credentials {
            api_user,
            api_key: SecretString::from(key.api_key),
            provider_callback_host: info.provider_callback_host,
        })
    }
}
