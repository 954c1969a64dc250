//! The payment commands: thin over `momo-client`, configured like it (`MOMO_*` and `.env`).

use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use momo_client::{Client, TransactionKind, TransactionState};
use momo_types::payments::{
    CashTransfer, CreateInvoice, CreatePayments, Money, Party, PartyIdType, PreApproval, Refund, RequestToPay,
    TransactionStatus, Transfer,
};
use momo_types::{Amount, Currency, Msisdn, Product, ReferenceId};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::output::{print, Failure};

/// What every create takes.
#[derive(Debug, Args)]
pub struct CreateOptions {
    /// Use this X-Reference-Id (a UUID v4) instead of a new one; reuse it to retry safely.
    #[arg(long)]
    reference_id: Option<ReferenceId>,
    /// Where the final status is sent (default MOMO_CALLBACK_URL).
    #[arg(long)]
    callback_url: Option<String>,
    /// Wait for the final status, showing progress.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// Amount, currency and messages.
#[derive(Debug, Args)]
pub struct Payment {
    #[arg(long)]
    amount: Amount,
    /// Default MOMO_CURRENCY, else EUR.
    #[arg(long)]
    currency: Option<Currency>,
    #[arg(long)]
    external_id: Option<String>,
    #[arg(long)]
    payer_message: Option<String>,
    #[arg(long)]
    payee_note: Option<String>,
}

/// A party: one of --msisdn, --email, --party-code.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PartyArgs {
    /// Phone number with country code, digits only (e.g. 46733123450).
    #[arg(long)]
    msisdn: Option<Msisdn>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    party_code: Option<String>,
}

impl PartyArgs {
    fn party(&self) -> Party {
        match (&self.msisdn, &self.email, &self.party_code) {
            (Some(number), _, _) => Party::msisdn(number.clone()),
            (_, Some(e), _) => Party { party_id_type: PartyIdType::Email, party_id: e.clone() },
            (_, _, Some(c)) => Party { party_id_type: PartyIdType::PartyCode, party_id: c.clone() },
            _ => Party { party_id_type: PartyIdType::Msisdn, party_id: String::new() },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CollectCommand {
    /// Ask a payer to pay (request to pay).
    RequestToPay {
        #[command(flatten)]
        payer: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Request to withdraw (v2; --v1 for the POST-callback version).
    Withdraw {
        #[command(flatten)]
        payer: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        #[arg(long)]
        v1: bool,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Send an invoice to a payer.
    Invoice {
        #[command(flatten)]
        payer: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        /// Seconds the invoice stays payable.
        #[arg(long, default_value_t = 3600)]
        validity: u64,
        /// The payee (default: the payer's number).
        #[arg(long)]
        payee_msisdn: Option<Msisdn>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Cancel an unpaid invoice.
    CancelInvoice { reference: ReferenceId },
    /// Ask a payer for a pre-approval.
    PreApproval {
        #[command(flatten)]
        payer: PartyArgs,
        /// Seconds it is valid.
        #[arg(long, default_value_t = 86_400)]
        validity: u64,
        #[arg(long)]
        currency: Option<Currency>,
        #[arg(long)]
        message: Option<String>,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// A payer's approved pre-approvals.
    PreApprovals {
        #[command(flatten)]
        payer: PartyArgs,
    },
    /// Cancel a pre-approval.
    CancelPreApproval { reference: ReferenceId },
    /// Pay a service provider from the Collection account.
    Payment {
        #[arg(long)]
        amount: Amount,
        #[arg(long)]
        currency: Option<Currency>,
        /// The provider, e.g. "Electricity Inc."
        #[arg(long)]
        provider: String,
        #[arg(long)]
        customer_reference: Option<String>,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Tell the payer of a successful request to pay something.
    Notify {
        reference: ReferenceId,
        #[arg(long)]
        message: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DisburseCommand {
    /// Pay a payee from the Disbursement account.
    Transfer {
        #[command(flatten)]
        payee: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Deposit to a payee (v2; --v1 for the POST-callback version).
    Deposit {
        #[command(flatten)]
        payee: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        #[arg(long)]
        v1: bool,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// Refund a request to pay to its payer (v2; --v1 for the POST-callback version).
    Refund {
        /// The request to pay's reference id.
        #[arg(long)]
        of: ReferenceId,
        #[command(flatten)]
        payment: Payment,
        #[arg(long)]
        v1: bool,
        #[command(flatten)]
        options: CreateOptions,
    },
}

#[derive(Debug, Subcommand)]
pub enum RemitCommand {
    /// Pay a payee from the Remittance account.
    Transfer {
        #[command(flatten)]
        payee: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        #[command(flatten)]
        options: CreateOptions,
    },
    /// A cash transfer.
    CashTransfer {
        #[command(flatten)]
        payee: PartyArgs,
        #[command(flatten)]
        payment: Payment,
        /// Where the money comes from (ISO 3166 code).
        #[arg(long)]
        originating_country: Option<String>,
        #[command(flatten)]
        options: CreateOptions,
    },
}

/// A kind of transaction as `momo status` names it (`withdraw`, `cash-transfer`): clap's face of
/// [`TransactionKind`].
#[derive(Debug, Clone, Copy)]
pub struct KindArg(TransactionKind);

/// The kinds `momo status` takes: those with a status endpoint.
const STATUS_KINDS: [KindArg; 9] = [
    KindArg(TransactionKind::RequestToPay),
    KindArg(TransactionKind::RequestToWithdraw),
    KindArg(TransactionKind::Invoice),
    KindArg(TransactionKind::PreApproval),
    KindArg(TransactionKind::Payment),
    KindArg(TransactionKind::Transfer),
    KindArg(TransactionKind::Deposit),
    KindArg(TransactionKind::Refund),
    KindArg(TransactionKind::CashTransfer),
];

/// A kind's name on the command line.
fn cli_name(kind: TransactionKind) -> &'static str {
    match kind {
        TransactionKind::RequestToPay => "request-to-pay",
        TransactionKind::RequestToWithdraw => "withdraw",
        TransactionKind::Invoice => "invoice",
        TransactionKind::PreApproval => "pre-approval",
        TransactionKind::Payment => "payment",
        TransactionKind::Transfer => "transfer",
        TransactionKind::Deposit => "deposit",
        TransactionKind::Refund => "refund",
        TransactionKind::CashTransfer => "cash-transfer",
        TransactionKind::InvoiceCancellation => "invoice-cancellation",
    }
}

impl ValueEnum for KindArg {
    fn value_variants<'a>() -> &'a [Self] {
        &STATUS_KINDS
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(cli_name(self.0)))
    }
}

#[derive(Debug, Subcommand)]
pub enum AccountHolderCommand {
    /// Whether an account holder is active.
    Active {
        #[command(flatten)]
        holder: PartyArgs,
        #[arg(long, default_value = "collection")]
        product: Product,
    },
    /// An account holder's basic KYC data.
    Info {
        #[command(flatten)]
        holder: PartyArgs,
        #[arg(long, default_value = "collection")]
        product: Product,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Ask an account holder for consent (OAuth2 / CIBA).
    Ask {
        #[arg(long)]
        msisdn: Msisdn,
        #[arg(long, default_value = "all_info")]
        scope: String,
        #[arg(long)]
        offline: bool,
    },
    /// Exchange an answered consent request for a consent token, and read the KYC data it grants.
    Userinfo { auth_req_id: String },
}

fn client() -> Result<Client, Failure> {
    Ok(Client::from_env()?)
}

fn currency(client: &Client, given: &Option<Currency>) -> Currency {
    given.clone().or_else(|| client.config().currency.clone()).unwrap_or_else(|| Currency::from_static("EUR"))
}

pub async fn token(product: Product, json: bool) -> Result<(), Failure> {
    let client = client()?;
    let token = client.access_token(product).await?;
    print(json, &json!({"product": product, "accessToken": token.expose_secret()}), || {
        format!("{}\n", token.expose_secret())
    });
    Ok(())
}

pub async fn balance(product: Product, currency: Option<Currency>, json: bool) -> Result<(), Failure> {
    let client = client()?;
    let handle = |p: Product| (p, client.clone());
    let (product, client) = handle(product);
    let balance = match (product, currency) {
        (Product::Collection, None) => client.collection().balance().await?,
        (Product::Disbursement, None) => client.disbursement().balance().await?,
        (Product::Remittance, None) => client.remittance().balance().await?,
        (Product::Collection, Some(c)) => client.collection().balance_in_currency(&c).await?,
        (Product::Disbursement, Some(c)) => client.disbursement().balance_in_currency(&c).await?,
        (Product::Remittance, Some(c)) => client.remittance().balance_in_currency(&c).await?,
    };
    print(json, &balance, || format!("{} {} ({product})\n", balance.available_balance, balance.currency));
    Ok(())
}

/// After a create: print the reference, or wait for the final status.
async fn accepted(
    client: &Client,
    product: Product,
    kind: TransactionKind,
    what: &str,
    reference: ReferenceId,
    options: &CreateOptions,
    json: bool,
) -> Result<(), Failure> {
    if !options.wait {
        print(json, &json!({"referenceId": reference.to_string(), "status": "PENDING"}), || {
            format!(
                "Accepted {what} {reference} (PENDING).\nFollow it with: momo status {} {reference}\n",
                kind_name(product, kind)
            )
        });
        return Ok(());
    }
    let state = wait(client, product, kind, &reference, Duration::from_secs(options.timeout), json).await?;
    report_final(&state, &reference, what, json)
}

/// Wait with a spinner on stderr (not in --json mode) showing elapsed time and the status.
pub async fn wait(
    client: &Client,
    product: Product,
    kind: TransactionKind,
    reference: &ReferenceId,
    timeout: Duration,
    json: bool,
) -> Result<TransactionState, Failure> {
    let spinner = if json {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    };
    let started = Instant::now();
    let result = client
        .wait_with_progress(product, kind, reference, timeout, |state| {
            spinner.set_message(format!("{} {reference}", state.status))
        })
        .await;
    spinner.finish_and_clear();
    match result {
        Ok(state) => Ok(state),
        Err(momo_client::Error::Timeout { last_status }) => Err(Failure::new(
            5,
            format!("{reference} is still {last_status} after {}s", started.elapsed().as_secs()),
            format!("follow it with: momo status {} {reference}", kind_name(product, kind)),
        )),
        Err(e) => Err(e.into()),
    }
}

fn report_final(state: &TransactionState, reference: &ReferenceId, what: &str, json: bool) -> Result<(), Failure> {
    print(json, &state.body, || match state.status {
        TransactionStatus::Successful => {
            let fti = state
                .financial_transaction_id
                .as_deref()
                .map(|f| format!(" (financialTransactionId {f})"))
                .unwrap_or_default();
            format!("{what} {reference} SUCCESSFUL{fti}\n")
        }
        _ => {
            let reason = state.reason.as_ref().map(|r| format!(": {}", r.code())).unwrap_or_default();
            format!("{what} {reference} {}{reason}\n", state.status)
        }
    });
    match state.status {
        TransactionStatus::Failed => Err(Failure::new(
            4,
            format!("{what} {reference} FAILED"),
            "the reason says why; a FAILED transaction moved no money",
        )),
        _ => Ok(()),
    }
}

/// How `momo status` names a kind of transaction: `collection request-to-pay`.
fn kind_name(product: Product, kind: TransactionKind) -> String {
    format!("{product} {}", cli_name(kind))
}

/// Apply the create options to a builder and send.
async fn send<B: serde::Serialize>(
    create: momo_client::Create<'_, B>,
    options: &CreateOptions,
) -> Result<ReferenceId, Failure> {
    let mut create = create;
    if let Some(reference) = options.reference_id {
        create = create.reference_id(reference);
    }
    if let Some(url) = &options.callback_url {
        create = create.callback_url(url.clone());
    }
    Ok(create.send().await?)
}

fn request_to_pay(client: &Client, payer: &PartyArgs, p: &Payment) -> RequestToPay {
    RequestToPay {
        amount: p.amount.clone(),
        currency: currency(client, &p.currency),
        external_id: p.external_id.clone(),
        payer: payer.party(),
        payer_message: p.payer_message.clone(),
        payee_note: p.payee_note.clone(),
    }
}

fn transfer(client: &Client, payee: &PartyArgs, p: &Payment) -> Transfer {
    Transfer {
        amount: p.amount.clone(),
        currency: currency(client, &p.currency),
        external_id: p.external_id.clone(),
        payee: payee.party(),
        payer_message: p.payer_message.clone(),
        payee_note: p.payee_note.clone(),
    }
}

pub async fn collect(command: CollectCommand, json: bool) -> Result<(), Failure> {
    let client = client()?;
    let c = client.collection();
    match command {
        CollectCommand::RequestToPay { payer, payment, options } => {
            let r = send(c.request_to_pay(request_to_pay(&client, &payer, &payment)), &options).await?;
            accepted(&client, Product::Collection, TransactionKind::RequestToPay, "request to pay", r, &options, json)
                .await
        }
        CollectCommand::Withdraw { payer, payment, v1, options } => {
            let body = request_to_pay(&client, &payer, &payment);
            let create = if v1 { c.request_to_withdraw(body) } else { c.request_to_withdraw_v2(body) };
            let r = send(create, &options).await?;
            accepted(&client, Product::Collection, TransactionKind::RequestToWithdraw, "withdrawal", r, &options, json)
                .await
        }
        CollectCommand::Invoice { payer, payment, validity, payee_msisdn, description, options } => {
            let intended = payer.party();
            let payee = payee_msisdn.map(Party::msisdn).unwrap_or_else(|| intended.clone());
            let body = CreateInvoice {
                external_id: payment.external_id.clone(),
                amount: payment.amount.clone(),
                currency: currency(&client, &payment.currency),
                validity_duration: validity.to_string(),
                intended_payer: intended,
                payee,
                description,
            };
            let r = send(c.create_invoice(body), &options).await?;
            accepted(&client, Product::Collection, TransactionKind::Invoice, "invoice", r, &options, json).await
        }
        CollectCommand::CancelInvoice { reference } => {
            c.cancel_invoice(&reference, None).await?;
            print(json, &json!({"referenceId": reference.to_string(), "cancelled": true}), || {
                format!("Cancelled invoice {reference}.\n")
            });
            Ok(())
        }
        CollectCommand::PreApproval { payer, validity, currency: cur, message, options } => {
            let body = PreApproval {
                payer: payer.party(),
                payer_currency: currency(&client, &cur),
                payer_message: message,
                validity_time: validity,
            };
            let r = send(c.pre_approval(body), &options).await?;
            accepted(&client, Product::Collection, TransactionKind::PreApproval, "pre-approval", r, &options, json)
                .await
        }
        CollectCommand::PreApprovals { payer } => {
            let list = c.approved_pre_approvals(&payer.party()).await?;
            print(json, &list, || {
                if list.is_empty() {
                    return "No approved pre-approvals.\n".into();
                }
                list.iter()
                    .map(|p| {
                        format!(
                            "{}  {}  until {}\n",
                            p.pre_approval_id,
                            p.status,
                            p.expiry_time.as_deref().unwrap_or("-")
                        )
                    })
                    .collect()
            });
            Ok(())
        }
        CollectCommand::CancelPreApproval { reference } => {
            c.cancel_pre_approval(&reference).await?;
            print(json, &json!({"referenceId": reference.to_string(), "cancelled": true}), || {
                format!("Cancelled pre-approval {reference}.\n")
            });
            Ok(())
        }
        CollectCommand::Payment { amount, currency: cur, provider, customer_reference, options } => {
            let body = CreatePayments {
                customer_reference,
                service_provider_user_name: Some(provider),
                ..CreatePayments::new(Money { amount, currency: currency(&client, &cur) })
            };
            let r = send(c.create_payment(body), &options).await?;
            accepted(&client, Product::Collection, TransactionKind::Payment, "payment", r, &options, json).await
        }
        CollectCommand::Notify { reference, message } => {
            c.request_to_pay_delivery_notification(&reference, &message).await?;
            print(json, &json!({"referenceId": reference.to_string(), "notified": true}), || {
                format!("Notified the payer of {reference}.\n")
            });
            Ok(())
        }
    }
}

pub async fn disburse(command: DisburseCommand, json: bool) -> Result<(), Failure> {
    let client = client()?;
    let d = client.disbursement();
    match command {
        DisburseCommand::Transfer { payee, payment, options } => {
            let r = send(d.transfer(transfer(&client, &payee, &payment)), &options).await?;
            accepted(&client, Product::Disbursement, TransactionKind::Transfer, "transfer", r, &options, json).await
        }
        DisburseCommand::Deposit { payee, payment, v1, options } => {
            let body = transfer(&client, &payee, &payment);
            let r = send(if v1 { d.deposit(body) } else { d.deposit_v2(body) }, &options).await?;
            accepted(&client, Product::Disbursement, TransactionKind::Deposit, "deposit", r, &options, json).await
        }
        DisburseCommand::Refund { of, payment, v1, options } => {
            let body = Refund {
                amount: payment.amount.clone(),
                currency: currency(&client, &payment.currency),
                external_id: payment.external_id.clone(),
                payer_message: payment.payer_message.clone(),
                payee_note: payment.payee_note.clone(),
                reference_id_to_refund: of.to_string(),
            };
            let r = send(if v1 { d.refund(body) } else { d.refund_v2(body) }, &options).await?;
            accepted(&client, Product::Disbursement, TransactionKind::Refund, "refund", r, &options, json).await
        }
    }
}

pub async fn remit(command: RemitCommand, json: bool) -> Result<(), Failure> {
    let client = client()?;
    let r = client.remittance();
    match command {
        RemitCommand::Transfer { payee, payment, options } => {
            let reference = send(r.transfer(transfer(&client, &payee, &payment)), &options).await?;
            accepted(&client, Product::Remittance, TransactionKind::Transfer, "transfer", reference, &options, json)
                .await
        }
        RemitCommand::CashTransfer { payee, payment, originating_country, options } => {
            let body = CashTransfer {
                external_id: payment.external_id.clone(),
                orginating_country: originating_country,
                payer_message: payment.payer_message.clone(),
                payee_note: payment.payee_note.clone(),
                ..CashTransfer::new(payment.amount.clone(), currency(&client, &payment.currency), payee.party())
            };
            let reference = send(r.cash_transfer(body), &options).await?;
            accepted(
                &client,
                Product::Remittance,
                TransactionKind::CashTransfer,
                "cash transfer",
                reference,
                &options,
                json,
            )
            .await
        }
    }
}

pub async fn status(
    product: Product,
    kind: KindArg,
    reference: ReferenceId,
    wait_secs: Option<u64>,
    json: bool,
) -> Result<(), Failure> {
    let client = client()?;
    let KindArg(kind) = kind;
    let has_status = momo_types::operations::status_operation(product, kind).is_some();
    if !has_status {
        return Err(Failure::new(
            2,
            format!("{product} has no {} transactions", cli_name(kind)),
            "collection: request-to-pay, withdraw, invoice, pre-approval, payment; disbursement: transfer, deposit, refund; remittance: transfer, cash-transfer",
        ));
    }
    let state = match wait_secs {
        Some(secs) => wait(&client, product, kind, &reference, Duration::from_secs(secs), json).await?,
        None => client.transaction_status(product, kind, &reference).await?,
    };
    print(json, &state.body, || {
        let reason = state.reason.as_ref().map(|r| format!(" ({})", r.code())).unwrap_or_default();
        let fti = state
            .financial_transaction_id
            .as_deref()
            .map(|f| format!(", financialTransactionId {f}"))
            .unwrap_or_default();
        format!("{reference}: {}{reason}{fti}\n", state.status)
    });
    Ok(())
}

pub async fn account_holder(command: AccountHolderCommand, json: bool) -> Result<(), Failure> {
    let client = client()?;
    match command {
        AccountHolderCommand::Active { holder, product } => {
            let party = holder.party();
            let active = match product {
                Product::Collection => client.collection().account_holder_active(&party).await?,
                Product::Disbursement => client.disbursement().account_holder_active(&party).await?,
                Product::Remittance => client.remittance().account_holder_active(&party).await?,
            };
            print(json, &json!({"partyId": party.party_id, "active": active}), || {
                format!("{} is {}.\n", party.party_id, if active { "active" } else { "not active" })
            });
        }
        AccountHolderCommand::Info { holder, product } => {
            let party = holder.party();
            let info = match product {
                Product::Collection => client.collection().basic_user_info(&party).await?,
                Product::Disbursement => client.disbursement().basic_user_info(&party).await?,
                Product::Remittance => client.remittance().basic_user_info(&party).await?,
            };
            print(json, &info, || {
                format!(
                    "{} {} (born {}, {}, {})\n",
                    info["given_name"].as_str().unwrap_or("?"),
                    info["family_name"].as_str().unwrap_or("?"),
                    info["birthdate"].as_str().unwrap_or("?"),
                    info["gender"].as_str().unwrap_or("?"),
                    info["locale"].as_str().unwrap_or("?")
                )
            });
        }
    }
    Ok(())
}

pub async fn consent(command: ConsentCommand, json: bool) -> Result<(), Failure> {
    let client = client()?;
    match command {
        ConsentCommand::Ask { msisdn, scope, offline } => {
            let asked = client.collection().bc_authorize(&msisdn, &scope, offline).await?;
            print(json, &asked, || {
                format!(
                    "Asked {msisdn} for consent: auth_req_id {}.\nThen: momo consent userinfo {}\n",
                    asked.auth_req_id, asked.auth_req_id
                )
            });
        }
        ConsentCommand::Userinfo { auth_req_id } => {
            let token = client.collection().oauth2_token(&auth_req_id).await?;
            let info = client.collection().userinfo(&token).await?;
            print(json, &info, || format!("{}\n", serde_json::to_string_pretty(&info).unwrap_or_default()));
        }
    }
    Ok(())
}
