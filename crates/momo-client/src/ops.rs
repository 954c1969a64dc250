//! Every operation of the three products. Creates return a [`Create`] builder: set the
//! reference id (yours, for safe retries) or the callback URL, then `send()`; the reference id is
//! returned either way.

use std::marker::PhantomData;

use momo_types::account::Balance;
use momo_types::payments::{
    BooleanResult, CashTransfer, CashTransferResult, CreateInvoice, CreatePayments, DeliveryNotification,
    DepositResult, InvoiceResult, Party, PartyIdType, PaymentResult, PreApproval, PreApprovalDetails,
    PreApprovalResult, Refund, RequestToPay, RequestToPayResult, Transfer, TransferResult,
};
use momo_types::{Currency, Msisdn, OperationName as Op, Product, ReferenceId};
use reqwest::Method;
use secrecy::SecretString;
use serde::Serialize;

use crate::client::{Auth, Body, Call, Client};
use crate::error::{Error, Result};

/// A create request, ready to send.
#[derive(Debug)]
#[must_use = "a create request does nothing until `.send()`"]
pub struct Create<'a, B> {
    client: &'a Client,
    product: Product,
    operation: Op,
    body: B,
    reference: Option<ReferenceId>,
    callback_url: Option<String>,
}

impl<B: Serialize> Create<'_, B> {
    /// Use this `X-Reference-Id` (keep it: a retry with the same id can never pay twice).
    pub fn reference_id(mut self, reference: ReferenceId) -> Self {
        self.reference = Some(reference);
        self
    }

    /// Send the final status here (its host must be the API user's callback host).
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Send it: `Ok(reference)` once MoMo has accepted it (202). Retries reuse the reference id,
    /// and a 409 after a retry means the first attempt was accepted.
    pub async fn send(self) -> Result<ReferenceId> {
        let reference = self.reference.unwrap_or_else(ReferenceId::new_v4);
        let mut call = Call::new(Method::POST, Some(self.product), self.operation.route());
        call.body = Some(Body::Json(serde_json::to_string(&self.body).map_err(|e| Error::Config(e.to_string()))?));
        call.reference = Some(reference);
        call.callback_url = self.callback_url.or_else(|| self.client.config().callback_url.clone());
        call.create = true;
        self.client.check_call(&call)?;
        self.client.send(&call).await?;
        Ok(reference)
    }
}

impl Client {
    fn create<B>(&self, product: Product, operation: Op, body: B) -> Create<'_, B> {
        Create { client: self, product, operation, body, reference: None, callback_url: None }
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, product: Product, path: String) -> Result<T> {
        let call = Call::new(Method::GET, Some(product), path);
        self.check_call(&call)?;
        self.send(&call).await?.json()
    }

    async fn without_answer(&self, call: Call) -> Result<()> {
        self.check_call(&call)?;
        self.send(&call).await.map(|_| ())
    }

    /// Collection operations.
    pub fn collection(&self) -> Collection<'_> {
        ProductOperations::new(self)
    }

    /// Disbursement operations.
    pub fn disbursement(&self) -> Disbursement<'_> {
        ProductOperations::new(self)
    }

    /// Remittance operations.
    pub fn remittance(&self) -> Remittance<'_> {
        ProductOperations::new(self)
    }
}

/// The answer of `bc-authorize`.
pub use momo_types::token::BcAuthorizeResponse;

/// The answer of `oauth2/token/`: a consent token for `userinfo`.
pub use momo_types::token::ConsentToken;

/// A party type as an account-holder path segment: lowercase, with `party_code`'s spelling per path.
/// A type this crate does not know goes lowercased, as MTN spells the ones it knows.
fn path_type(party_id_type: &PartyIdType, party_code: &'static str) -> std::borrow::Cow<'static, str> {
    match party_id_type {
        PartyIdType::Msisdn => "msisdn".into(),
        PartyIdType::Email => "email".into(),
        PartyIdType::PartyCode => party_code.into(),
        other => other.as_str().to_ascii_lowercase().into(),
    }
}

fn holder_path(party: &Party, operation: Op) -> String {
    let kind = path_type(&party.party_id_type, "party_code");
    let id: String = url::form_urlencoded::byte_serialize(party.party_id.as_bytes()).collect();
    operation.path(&[&kind, &id])
}

/// The operations of one product: [`Client::collection`], [`Client::disbursement`] or
/// [`Client::remittance`]. `P` names the product, so that each handle has exactly the operations
/// its product offers: only Collection's has `request_to_pay`, and Collection's has no `transfer`:
///
/// ```compile_fail
/// # fn example(client: momo_client::Client, body: momo_types::payments::Transfer) {
/// let _ = client.collection().transfer(body);
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProductOperations<'a, P> {
    client: &'a Client,
    product: PhantomData<P>,
}

impl<'a, P> ProductOperations<'a, P> {
    fn new(client: &'a Client) -> Self {
        ProductOperations { client, product: PhantomData }
    }
}

/// A MoMo product as a type, for [`ProductOperations`].
pub trait ProductType {
    const PRODUCT: Product;
}

/// The products that offer transfers, at the same paths: Disbursement and Remittance.
pub trait OffersTransfers: ProductType {}

/// Collection, as a type.
#[derive(Debug, Clone, Copy)]
pub enum CollectionProduct {}

/// Disbursement, as a type.
#[derive(Debug, Clone, Copy)]
pub enum DisbursementProduct {}

/// Remittance, as a type.
#[derive(Debug, Clone, Copy)]
pub enum RemittanceProduct {}

impl ProductType for CollectionProduct {
    const PRODUCT: Product = Product::Collection;
}

impl ProductType for DisbursementProduct {
    const PRODUCT: Product = Product::Disbursement;
}

impl ProductType for RemittanceProduct {
    const PRODUCT: Product = Product::Remittance;
}

impl OffersTransfers for DisbursementProduct {}
impl OffersTransfers for RemittanceProduct {}

/// The operations every product offers.
impl<P: ProductType> ProductOperations<'_, P> {
    /// The API user's balance in the environment's currency.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let balance = client.collection().balance().await?;
    /// # Ok(()) }
    /// ```
    pub async fn balance(&self) -> Result<Balance> {
        self.client.get(P::PRODUCT, Op::GetAccountBalance.path(&[])).await
    }

    /// The balance in a named currency.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let balance = client.collection().balance_in_currency(&momo_types::Currency::from_static("EUR")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn balance_in_currency(&self, currency: &Currency) -> Result<Balance> {
        self.client.get(P::PRODUCT, Op::GetAccountBalanceInSpecificCurrency.path(&[currency.as_str()])).await
    }

    /// Whether an account holder can be paid or asked to pay.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let active = client.collection().account_holder_active(&Party::msisdn(momo_types::Msisdn::from_static("46733123450"))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn account_holder_active(&self, holder: &Party) -> Result<bool> {
        let result: BooleanResult =
            self.client.get(P::PRODUCT, holder_path(holder, Op::ValidateAccountHolderStatus)).await?;
        Ok(result.result)
    }

    /// Basic KYC data of an account holder.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let info = client.collection().basic_user_info(&Party::msisdn(momo_types::Msisdn::from_static("46733123450"))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn basic_user_info(&self, holder: &Party) -> Result<serde_json::Value> {
        self.client.get(P::PRODUCT, holder_path(holder, Op::GetBasicUserinfo)).await
    }

    /// Ask an account holder for consent (OAuth2 / CIBA): `scope` e.g. `all_info`,
    /// `offline` access for a refresh token that lasts.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let asked = client.collection().bc_authorize(&momo_types::Msisdn::from_static("46733123450"), "all_info", true).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bc_authorize(&self, msisdn: &Msisdn, scope: &str, offline: bool) -> Result<BcAuthorizeResponse> {
        let mut call = Call::new(Method::POST, Some(P::PRODUCT), Op::BcAuthorize.route());
        let access = if offline { "offline" } else { "online" };
        call.body = Some(Body::Form(form(&[
            ("login_hint", &format!("ID:{msisdn}/MSISDN")),
            ("scope", scope),
            ("access_type", access),
        ])));
        self.client.check_call(&call)?;
        self.client.send(&call).await?.json()
    }

    /// Exchange an answered consent request for a consent token (`Error::OAuth` with
    /// `authorization_pending` until the holder has answered).
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let consent = client.collection().oauth2_token("auth-req-id").await?;
    /// # Ok(()) }
    /// ```
    pub async fn oauth2_token(&self, auth_req_id: &str) -> Result<ConsentToken> {
        self.oauth2(&[("grant_type", "urn:openid:params:grant-type:ciba"), ("auth_req_id", auth_req_id)]).await
    }

    /// A new consent token from a refresh token.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let consent = client.collection().oauth2_refresh("refresh-token").await?;
    /// # Ok(()) }
    /// ```
    pub async fn oauth2_refresh(&self, refresh_token: &str) -> Result<ConsentToken> {
        self.oauth2(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    async fn oauth2(&self, fields: &[(&str, &str)]) -> Result<ConsentToken> {
        let mut call = Call::new(Method::POST, Some(P::PRODUCT), Op::CreateOauth2Token.route());
        call.auth = Auth::Basic;
        call.body = Some(Body::Form(form(fields)));
        self.client.check_call(&call)?;
        self.client.send(&call).await?.json()
    }

    /// The KYC data a consent token grants.
    ///
    /// ```no_run
    /// # use momo_types::payments::*;
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let consent = client.collection().oauth2_token("auth-req-id").await?;
    /// let info = client.collection().userinfo(&consent).await?;
    /// # Ok(()) }
    /// ```
    pub async fn userinfo(&self, consent: &ConsentToken) -> Result<serde_json::Value> {
        let mut call = Call::new(Method::GET, Some(P::PRODUCT), Op::GetUserInfoWithConsent.route());
        call.explicit_bearer = Some(SecretString::from(consent.access_token.clone()));
        self.client.check_call(&call)?;
        self.client.send(&call).await?.json()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// Transfers, which Disbursement and Remittance both offer at the same paths.
impl<P: OffersTransfers> ProductOperations<'_, P> {
    /// Transfer.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client) -> momo_client::Result<()> {
    /// let reference = client.disbursement().transfer(body()).callback_url("https://shop.example/momo").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn transfer(&self, body: Transfer) -> Create<'_, Transfer> {
        self.client.create(P::PRODUCT, Op::Transfer, body)
    }

    /// Transfer status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.disbursement().transfer_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transfer_status(&self, reference: &ReferenceId) -> Result<TransferResult> {
        self.client.get(P::PRODUCT, Op::GetTransferStatus.path(&[&reference.to_string()])).await
    }
}

/// Collection: get paid.
pub type Collection<'a> = ProductOperations<'a, CollectionProduct>;

impl Collection<'_> {
    /// Ask a payer to approve a payment.
    ///
    /// ```no_run
    /// # async fn example(client: momo_client::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use momo_types::payments::{Party, RequestToPay};
    /// let reference = client
    ///     .collection()
    ///     .request_to_pay(RequestToPay {
    ///         amount: "50".parse()?,
    ///         currency: "EUR".parse()?,
    ///         external_id: Some("order-1".into()),
    ///         payer: Party::msisdn("46733123450".parse()?),
    ///         payer_message: Some("Order 1".into()),
    ///         payee_note: Some("Order 1".into()),
    ///     })
    ///     .send()
    ///     .await?;
    /// let status = client.collection().request_to_pay_status(&reference).await?;
    /// # let _ = status; Ok(()) }
    /// ```
    pub fn request_to_pay(&self, body: RequestToPay) -> Create<'_, RequestToPay> {
        self.client.create(Product::Collection, Op::RequestToPay, body)
    }

    /// Request to pay status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.collection().request_to_pay_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_to_pay_status(&self, reference: &ReferenceId) -> Result<RequestToPayResult> {
        self.client.get(Product::Collection, Op::RequestToPayStatus.path(&[&reference.to_string()])).await
    }

    /// Tell the payer of a successful request to pay something (at most 160 characters).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// client.collection().request_to_pay_delivery_notification(&reference, "Your order is on its way").await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_to_pay_delivery_notification(&self, reference: &ReferenceId, message: &str) -> Result<()> {
        let mut call = Call::new(
            Method::POST,
            Some(Product::Collection),
            Op::RequestToPayDeliveryNotification.path(&[&reference.to_string()]),
        );
        call.headers.push(("notificationMessage", message.to_owned()));
        let body = DeliveryNotification { notification_message: message.to_owned() };
        call.body = Some(Body::Json(serde_json::to_string(&body).map_err(|e| Error::Config(e.to_string()))?));
        self.client.without_answer(call).await
    }

    /// Request to withdraw (v1: callback by POST).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.collection().request_to_withdraw(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn request_to_withdraw(&self, body: RequestToPay) -> Create<'_, RequestToPay> {
        self.client.create(Product::Collection, Op::RequestToWithdrawV1, body)
    }

    /// Request to withdraw (v2: callback by PUT).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.collection().request_to_withdraw_v2(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn request_to_withdraw_v2(&self, body: RequestToPay) -> Create<'_, RequestToPay> {
        self.client.create(Product::Collection, Op::RequestToWithdrawV2, body)
    }

    /// Request to withdraw status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.collection().request_to_withdraw_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_to_withdraw_status(&self, reference: &ReferenceId) -> Result<RequestToPayResult> {
        self.client.get(Product::Collection, Op::RequestToWithdrawStatus.path(&[&reference.to_string()])).await
    }

    /// Create invoice.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.collection().create_invoice(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create_invoice(&self, body: CreateInvoice) -> Create<'_, CreateInvoice> {
        self.client.create(Product::Collection, Op::CreateInvoice, body)
    }

    /// Invoice status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.collection().invoice_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn invoice_status(&self, reference: &ReferenceId) -> Result<InvoiceResult> {
        self.client.get(Product::Collection, Op::GetInvoiceStatus.path(&[&reference.to_string()])).await
    }

    /// Cancel an unpaid invoice.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// client.collection().cancel_invoice(&reference, Some("order-1")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cancel_invoice(&self, reference: &ReferenceId, external_id: Option<&str>) -> Result<()> {
        let mut call =
            Call::new(Method::DELETE, Some(Product::Collection), Op::CancelInvoice.path(&[&reference.to_string()]));
        call.reference = Some(ReferenceId::new_v4());
        let body = momo_types::payments::CancelInvoice { external_id: external_id.map(str::to_owned) };
        call.body = Some(Body::Json(serde_json::to_string(&body).map_err(|e| Error::Config(e.to_string()))?));
        self.client.without_answer(call).await
    }

    /// Pre approval.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.collection().pre_approval(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn pre_approval(&self, body: PreApproval) -> Create<'_, PreApproval> {
        self.client.create(Product::Collection, Op::PreApproval, body)
    }

    /// Pre approval status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.collection().pre_approval_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn pre_approval_status(&self, reference: &ReferenceId) -> Result<PreApprovalResult> {
        self.client.get(Product::Collection, Op::GetPreApprovalStatus.path(&[&reference.to_string()])).await
    }

    /// A payer's approved pre-approvals.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let approved = client.collection().approved_pre_approvals(&Party::msisdn(momo_types::Msisdn::from_static("46733123450"))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn approved_pre_approvals(&self, payer: &Party) -> Result<Vec<PreApprovalDetails>> {
        let kind = path_type(&payer.party_id_type, "id");
        self.client.get(Product::Collection, Op::GetApprovedPreApprovals.path(&[&kind, &payer.party_id])).await
    }

    /// Cancel pre approval.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// client.collection().cancel_pre_approval(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cancel_pre_approval(&self, pre_approval: &ReferenceId) -> Result<()> {
        let call = Call::new(
            Method::DELETE,
            Some(Product::Collection),
            Op::CancelPreApproval.path(&[&pre_approval.to_string()]),
        );
        self.client.without_answer(call).await
    }

    /// Pay a service provider from the Collection account.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.collection().create_payment(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn create_payment(&self, body: CreatePayments) -> Create<'_, CreatePayments> {
        self.client.create(Product::Collection, Op::CreatePayments, body)
    }

    /// Payment status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.collection().payment_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn payment_status(&self, reference: &ReferenceId) -> Result<PaymentResult> {
        self.client.get(Product::Collection, Op::GetPaymentStatus.path(&[&reference.to_string()])).await
    }
}

/// Disbursement: pay out.
pub type Disbursement<'a> = ProductOperations<'a, DisbursementProduct>;

impl Disbursement<'_> {
    /// Deposit (v1: callback by POST).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.disbursement().deposit(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn deposit(&self, body: Transfer) -> Create<'_, Transfer> {
        self.client.create(Product::Disbursement, Op::DepositV1, body)
    }

    /// Deposit (v2: callback by PUT).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.disbursement().deposit_v2(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn deposit_v2(&self, body: Transfer) -> Create<'_, Transfer> {
        self.client.create(Product::Disbursement, Op::DepositV2, body)
    }

    /// Deposit status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.disbursement().deposit_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn deposit_status(&self, reference: &ReferenceId) -> Result<DepositResult> {
        self.client.get(Product::Disbursement, Op::GetDepositStatus.path(&[&reference.to_string()])).await
    }

    /// Refund (v1: callback by POST) a request to pay, to its payer.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.disbursement().refund(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn refund(&self, body: Refund) -> Create<'_, Refund> {
        self.client.create(Product::Disbursement, Op::RefundV1, body)
    }

    /// Refund (v2: callback by PUT).
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.disbursement().refund_v2(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn refund_v2(&self, body: Refund) -> Create<'_, Refund> {
        self.client.create(Product::Disbursement, Op::RefundV2, body)
    }

    /// Refund status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.disbursement().refund_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn refund_status(&self, reference: &ReferenceId) -> Result<DepositResult> {
        self.client.get(Product::Disbursement, Op::GetRefundStatus.path(&[&reference.to_string()])).await
    }
}

/// Remittance: cross-border payments.
pub type Remittance<'a> = ProductOperations<'a, RemittanceProduct>;

impl Remittance<'_> {
    /// Cash transfer.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let reference = client.remittance().cash_transfer(body()).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn cash_transfer(&self, body: CashTransfer) -> Create<'_, CashTransfer> {
        self.client.create(Product::Remittance, Op::CashTransfer, body)
    }

    /// Cash transfer status.
    ///
    /// ```no_run
    /// # use momo_types::{payments::*, ReferenceId};
    /// # fn body<T>() -> T { unimplemented!() }
    /// # async fn example(client: momo_client::Client, reference: ReferenceId) -> momo_client::Result<()> {
    /// let status = client.remittance().cash_transfer_status(&reference).await?;
    /// # Ok(()) }
    /// ```
    pub async fn cash_transfer_status(&self, reference: &ReferenceId) -> Result<CashTransferResult> {
        self.client.get(Product::Remittance, Op::GetCashTransferStatus.path(&[&reference.to_string()])).await
    }
}
