//! The console's pages. Each is a function from what it shows to markup; maud escapes every
//! value it interpolates.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::{ServerView, PREFIX};
use momo_types::payments::TransactionStatus;
use momo_types::Product;

use crate::service::overview::Counted;
use crate::store::{ApiUserRecord, DeliveryState, SubscriptionKeyRecord};

/// The pages in the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Page {
    Overview,
    Transactions,
    Handset,
    Keys,
    Users,
    Callbacks,
    Faults,
}

impl Page {
    const ALL: [Page; 7] =
        [Page::Overview, Page::Transactions, Page::Handset, Page::Keys, Page::Users, Page::Callbacks, Page::Faults];

    fn label(self) -> &'static str {
        match self {
            Page::Overview => "Overview",
            Page::Transactions => "Transactions",
            Page::Handset => "Handset",
            Page::Keys => "Subscription keys",
            Page::Users => "API users",
            Page::Callbacks => "Callbacks",
            Page::Faults => "Faults",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Page::Overview => "/",
            Page::Transactions => "/transactions",
            Page::Handset => "/handset",
            Page::Keys => "/keys",
            Page::Users => "/users",
            Page::Callbacks => "/callbacks",
            Page::Faults => "/faults",
        }
    }
}

/// The frame of every page: semantic landmarks, the navigation with the page shown marked (when
/// signed in: the page and the session's CSRF token), one stylesheet.
pub(super) fn layout(title: &str, signed_in: Option<(Page, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · openmomo console" }
                link rel="stylesheet" href={ (PREFIX) "/assets/console.css" };
                script src={ (PREFIX) "/assets/console.js" } defer {}
            }
            body {
                header.bar {
                    a.brand href={ (PREFIX) "/" } { "openmomo" }
                    @if let Some((current, csrf)) = signed_in {
                        nav aria-label="Console" {
                            ul {
                                @for page in Page::ALL {
                                    li {
                                        a href={ (PREFIX) (page.path()) }
                                            aria-current=[(page == current).then_some("page")] { (page.label()) }
                                    }
                                }
                            }
                        }
                        form.sign-out method="post" action={ (PREFIX) "/sign-out" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub(super) fn sign_in(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            section.card.narrow aria-labelledby="sign-in-title" {
                h1 #sign-in-title { "Sign in" }
                p { "Use the operator token this server printed on its first start (or the one given with "
                    code { "--admin-token" } ")." }
                @if let Some(error) = error {
                    p.error role="alert" { (error) }
                }
                form method="post" action={ (PREFIX) "/sign-in" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="token" { "Operator token" }
                    input #token type="password" name="token" autocomplete="off" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// The overview's counts: a row per product, a column per status, and the callbacks that need
/// attention.
fn counts(counted: &Counted) -> Markup {
    let statuses = [TransactionStatus::Pending, TransactionStatus::Successful, TransactionStatus::Failed];
    let count = |product: Product, status: Option<&TransactionStatus>| -> i64 {
        counted
            .transactions
            .iter()
            .filter(|c| c.product == product && status.is_none_or(|s| &c.status == s))
            .map(|c| c.count)
            .sum()
    };
    html! {
        section.card aria-labelledby="counts-title" {
            h2 #counts-title { "Transactions" }
            (table(&["Product", "Pending", "Successful", "Failed", "All"], html! {
                @for product in Product::ALL {
                    tr {
                        th scope="row" data-label="Product" {
                            a href={ (PREFIX) "/transactions?product=" (product.as_str()) } { (product.as_str()) }
                        }
                        @for status in &statuses {
                            td data-label=(status_label(status)) id={ "count-" (product.as_str()) "-" (status.as_str()) } {
                                a href={ (PREFIX) "/transactions?product=" (product.as_str()) "&status=" (status.as_str()) } {
                                    (count(product, Some(status)))
                                }
                            }
                        }
                        td data-label="All" { (count(product, None)) }
                    }
                }
            }))
            p.note { "Counted " (time(counted.at)) "; counted again within a second of a change while this page is open." }
        }
        section.card aria-labelledby="callback-counts-title" {
            h2 #callback-counts-title { "Callbacks" }
            p {
                a href={ (PREFIX) "/callbacks?state=pending" } { (counted.callbacks_pending) " pending" }
                " · "
                @if counted.callbacks_failed > 0 {
                    a.error href={ (PREFIX) "/callbacks?state=failed" } { (counted.callbacks_failed) " failed" }
                    ": their receivers never answered 2xx."
                } @else {
                    a href={ (PREFIX) "/callbacks?state=failed" } { "none failed" }
                }
            }
        }
    }
}

fn status_label(status: &TransactionStatus) -> &str {
    match status {
        TransactionStatus::Pending => "Pending",
        TransactionStatus::Successful => "Successful",
        TransactionStatus::Failed => "Failed",
        TransactionStatus::Created => "Created",
        other => other.as_str(),
    }
}

pub(super) fn overview(server: &ServerView, counted: Option<&Counted>, csrf: &str) -> Markup {
    let seconds = |d: std::time::Duration| format!("{} s", d.as_secs_f64());
    let base = &server.base;
    let create_user = format!(
        "curl -i -X POST {base}/v1_0/apiuser \\\n  -H 'Ocp-Apim-Subscription-Key: <collection key>' \\\n  \
         -H \"X-Reference-Id: $(uuidgen)\" -H 'Content-Type: application/json' \\\n  \
         -d '{{\"providerCallbackHost\": \"webhook.site\"}}'"
    );
    let provision = format!(
        "momo sandbox provision --base-url {base} \\\n  --subscription-key <collection key> --callback-host 127.0.0.1"
    );
    layout(
        "Overview",
        Some((Page::Overview, csrf)),
        html! {
            h1 { "Overview" }
            (live(Live::Counts, html! {
                @match counted {
                    Some(counted) => (counts(counted)),
                    None => section.card aria-labelledby="counts-title" {
                        h2 #counts-title { "Transactions" }
                        p.counting { "Counting… (this page shows the counts by itself when they are taken; without scripts, reload it)" }
                    },
                }
            }))
            section.card aria-labelledby="settings-title" {
                h2 #settings-title { "This server" }
                dl.settings {
                    dt { "Address" } dd { code { (base) } }
                    dt { "Platform" } dd { (server.platform) }
                    dt { "Database" } dd { (server.database) }
                    dt { "Scenario profile" } dd { (server.scenario_profile) }
                    dt { "Reason format" } dd { (server.reason_format) }
                    dt { "Pending delay" } dd { (seconds(server.pending_delay)) }
                    dt { "Token lifetime" } dd { (seconds(server.token_ttl)) }
                    dt { "Sandbox balances" } dd { (server.sandbox_balance) }
                }
            }
            section.card aria-labelledby="start-title" {
                h2 #start-title { "Getting started" }
                p { "A sandbox API user and key, written to " code { ".env" } " by the CLI:" }
                pre { code { (provision) } }
                p { "Or with curl, as in MTN's guide:" }
                pre { code { (create_user) } }
                p { "The subscription keys were printed on the server's first start; keys are stored hashed and never shown again." }
            }
        },
    )
}

/// A callback's attempts: when, the receiver's answer, how long it took, what went wrong.
pub(super) fn attempts_table(attempts: &[crate::store::AttemptRecord]) -> Markup {
    html! {
        @if attempts.is_empty() {
            p { "No attempt yet." }
        } @else {
            (table(&["#", "At", "Answer", "Latency", "Error"], html! {
                @for a in attempts {
                    tr {
                        td data-label="#" { (a.attempt) }
                        td data-label="At" { (time(a.at)) }
                        td data-label="Answer" { @if let Some(code) = a.status_code { (code) } @else { "none" } }
                        td data-label="Latency" { (a.latency_ms) " ms" }
                        td data-label="Error" { (a.error.as_deref().unwrap_or("")) }
                    }
                }
            }))
        }
    }
}

/// A transaction's amount as MoMo writes it, with its currency, in its environment's decimals.
pub(super) fn amount(tx: &crate::store::TransactionRecord) -> String {
    let decimals = momo_types::Environment::lookup(&tx.environment).map_or(2, |e| e.currency_decimals);
    format!("{} {}", momo_types::Amount::from_minor_units(tx.amount_minor, decimals), tx.currency)
}

/// A time as MoMo's other surfaces write it, in UTC, machine-readable in `datetime`.
pub(super) fn time(ms: i64) -> Markup {
    let rfc3339 = crate::domain::clock::rfc3339(ms);
    let shown = format!("{} UTC", rfc3339.get(..16).unwrap_or(&rfc3339).replace('T', " "));
    html! { time datetime=(rfc3339) title=(rfc3339) { (shown) } }
}

fn products(products: &[momo_types::Product]) -> String {
    products.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
}

pub(super) fn keys(keys: &[SubscriptionKeyRecord], csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Subscription keys",
        Some((Page::Keys, csrf)),
        html! {
            h1 { "Subscription keys" }
            p { "What the developer portal shows: the keys the API gateway lets through, per product. Only their first "
                "characters are kept readable; a new value is shown once, when it is made." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            section.card aria-labelledby="keys-title" {
                h2 #keys-title { "Keys" }
                (table(&["Key", "Products", "Label", "Created", "State", "Actions"], html! {
                    @for key in keys {
                        tr {
                            td data-label="Key" { code { (key.hint) "…" } }
                            td data-label="Products" { (products(&key.products)) }
                            td data-label="Label" { (key.label) }
                            td data-label="Created" { (time(key.created_at)) }
                            td data-label="State" { @if let Some(at) = key.revoked_at { "revoked " (time(at)) } @else { "active" } }
                            td.actions {
                                @if key.revoked_at.is_none() {
                                    form method="post" action={ (PREFIX) "/keys/" (key.id) "/regenerate" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label={ "Regenerate " (key.hint) "…" } { "Regenerate" }
                                    }
                                    form method="post" action={ (PREFIX) "/keys/" (key.id) "/revoke" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.danger type="submit" aria-label={ "Revoke " (key.hint) "…" } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }

                }))
            }
            section.card aria-labelledby="add-title" {
                h2 #add-title { "Add a key" }
                form method="post" action={ (PREFIX) "/keys" } {
                    input type="hidden" name="csrf" value=(csrf);
                    fieldset {
                        legend { "Products (none ticked: all three)" }
                        @for product in momo_types::Product::ALL {
                            label.inline {
                                input type="checkbox" name=(product.as_str()) value="on";
                                " " (product.as_str())
                            }
                        }
                    }
                    label for="value" { "Value (leave empty to generate one)" }
                    input #value type="text" name="value" autocomplete="off" spellcheck="false";
                    button type="submit" { "Add key" }
                }
            }
        },
    )
}

/// A key's value, this once.
pub(super) fn new_key(key: &SubscriptionKeyRecord, value: &str, csrf: &str) -> Markup {
    layout(
        "New subscription key",
        Some((Page::Keys, csrf)),
        html! {
            h1 { "New subscription key" }
            section.card aria-labelledby="new-key-title" {
                h2 #new-key-title { "For " (products(&key.products)) " (" (key.label) ")" }
                p { "Copy it now: it is stored hashed and will not be shown again, not even by reloading this page." }
                label for="new-key" { "Ocp-Apim-Subscription-Key" }
                input #new-key.secret type="text" readonly value=(value) spellcheck="false";
                p { a href={ (PREFIX) "/keys" } { "Back to the keys" } }
            }
        },
    )
}

/// An id as one segment of a path (new-style user ids contain `/`, `+` and `=`).
pub(super) fn segment(id: &str) -> String {
    form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

pub(super) fn users(users: &[ApiUserRecord], csrf: &str, error: Option<&str>) -> Markup {
    let origin = |user: &ApiUserRecord| match user.origin {
        momo_types::admin::UserOrigin::SandboxProvisioning => "sandbox provisioning",
        momo_types::admin::UserOrigin::Operator => "operator",
    };
    layout(
        "API users",
        Some((Page::Users, csrf)),
        html! {
            h1 { "API users" }
            p { "What the Partner Portal shows: the API users of every environment, those the sandbox's "
                "provisioning API made and those made here. A key is shown once, when it is made." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            section.card aria-labelledby="users-title" {
                h2 #users-title { "Users" }
                (table(&["API user", "Environment", "Callback host", "Made by", "Key", "Created", "State", "Actions"], html! {
                    @for user in users {
                        tr {
                            td data-label="API user" { code.id { (user.id) } }
                            td data-label="Environment" { (user.environment) }
                            td data-label="Callback host" {
                                (user.provider_callback_host)
                                @if let Some(url) = &user.payment_server_url { br; small { "Payment Server URL: " (url) } }
                            }
                            td data-label="Made by" { (origin(user)) }
                            td data-label="Key" {
                                @if user.key_hash.is_some() { "version " (user.key_version) } @else { "none yet" }
                            }
                            td data-label="Created" { (time(user.created_at)) }
                            td data-label="State" { @if let Some(at) = user.revoked_at { "revoked " (time(at)) } @else { "active" } }
                            td.actions {
                                @if user.revoked_at.is_none() {
                                    form method="post" action={ (PREFIX) "/users/" (segment(&user.id)) "/key" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button type="submit" aria-label={ "New key for " (user.id) } { "New key" }
                                    }
                                    a.button.danger href={ (PREFIX) "/users/" (segment(&user.id)) "/revoke" }
                                        aria-label={ "Revoke " (user.id) } { "Revoke…" }
                                }
                                form method="post" action={ (PREFIX) "/users/" (segment(&user.id)) "/callback-secret" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.quiet type="submit" aria-label={ "Callback signing secret of " (user.id) } { "Signing secret" }
                                }
                            }
                        }
                    }

                }))
            }
            section.card aria-labelledby="create-title" {
                h2 #create-title { "Create a production-like user" }
                form method="post" action={ (PREFIX) "/users" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="environment" { "Environment" }
                    select #environment name="environment" required {
                        @for env in momo_types::ENVIRONMENTS.iter().filter(|e| !e.is_sandbox()) {
                            option value=(env.name) { (env.name) " (" (env.currency) ")" }
                        }
                    }
                    label for="callback_host" { "Callback host" }
                    input #callback_host type="text" name="callback_host" required placeholder="shop.example.com" spellcheck="false";
                    label for="payment_server_url" { "Payment Server URL (optional: the default callback URL)" }
                    input #payment_server_url type="text" name="payment_server_url" placeholder="https://shop.example.com/momo" spellcheck="false";
                    button type="submit" { "Create user" }
                }
            }
        },
    )
}

/// A user's key, this once (a new user's, or a replacement).
pub(super) fn new_user_key(created: &momo_types::admin::UserCredentials, csrf: &str, new_user: bool) -> Markup {
    let title = if new_user { "New API user" } else { "New API key" };
    layout(
        title,
        Some((Page::Users, csrf)),
        html! {
            h1 { (title) }
            section.card aria-labelledby="credentials-title" {
                h2 #credentials-title { "For " (created.environment) }
                p { "Copy the key now: it is stored hashed and will not be shown again, not even by reloading this page. "
                    @if !new_user { "The previous key and its tokens stopped working." } }
                label for="api-user" { "API user" }
                input #api-user.secret type="text" readonly value=(created.api_user) spellcheck="false";
                label for="api-key" { "API key" }
                input #api-key.secret type="text" readonly value=(created.api_key) spellcheck="false";
                p { a href={ (PREFIX) "/users" } { "Back to the users" } }
            }
        },
    )
}

pub(super) fn confirm_revoke(user: &ApiUserRecord, csrf: &str) -> Markup {
    layout(
        "Revoke an API user",
        Some((Page::Users, csrf)),
        html! {
            h1 { "Revoke an API user?" }
            section.card.narrow aria-labelledby="revoke-title" {
                h2 #revoke-title { code.id { (user.id) } }
                p { "Its tokens stop working at once, on every instance, and it cannot get new ones. This cannot be undone." }
                form method="post" action={ (PREFIX) "/users/" (segment(&user.id)) "/revoke" } {
                    input type="hidden" name="csrf" value=(csrf);
                    button.danger type="submit" { "Revoke" }
                }
                p { a href={ (PREFIX) "/users" } { "Keep it" } }
            }
        },
    )
}

pub(super) fn callback_secret(id: &str, secret: &str, csrf: &str) -> Markup {
    layout(
        "Callback signing secret",
        Some((Page::Users, csrf)),
        html! {
            h1 { "Callback signing secret" }
            section.card aria-labelledby="secret-title" {
                h2 #secret-title { code.id { (id) } }
                p { "The callbacks of this user are signed with it (" code { "X-Momo-Signature" } ", docs/callbacks.md)." }
                label for="secret" { "Secret" }
                input #secret.secret type="text" readonly value=(secret) spellcheck="false";
                p { a href={ (PREFIX) "/users" } { "Back to the users" } }
            }
        },
    )
}

pub(super) fn faults(rules: &[crate::faults::FaultView], csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Faults",
        Some((Page::Faults, csrf)),
        html! {
            h1 { "Faults" }
            p { "Rules that make the MoMo API fail or slow down on purpose, on every instance sharing the database, "
                "after the subscription-key check (as MTN's backend failures come after its gateway's)." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            section.card aria-labelledby="rules-title" {
                h2 #rules-title { "Rules in force" }
                @if rules.is_empty() {
                    p { "None: every request is served normally." }
                } @else {
                    (table(&["Method", "Path", "Answer", "Delay", "Left", "API user", "Actions"], html! {
                        @for rule in rules {
                            tr {
                                td data-label="Method" { (rule.spec.method.as_deref().unwrap_or("any")) }
                                td data-label="Path" { code { (rule.spec.path) } }
                                td data-label="Answer" { @if let Some(status) = rule.spec.status { (status) } @else { "served (delay only)" } }
                                td data-label="Delay" { (rule.spec.latency_ms) " ms" }
                                td data-label="Left" { @if let Some(left) = rule.remaining { (left) } @else { "until removed" } }
                                td data-label="API user" { (rule.spec.api_user.as_deref().unwrap_or("any")) }
                                td.actions {
                                    form method="post" action={ (PREFIX) "/faults/" (segment(&rule.id)) "/remove" } {
                                        input type="hidden" name="csrf" value=(csrf);
                                        button.danger type="submit" aria-label={ "Remove the rule on " (rule.spec.path) } { "Remove" }
                                    }
                                }
                            }
                        }

                    }))
                }
            }
            section.card aria-labelledby="preset-title" {
                h2 #preset-title { "Presets" }
                form method="post" action={ (PREFIX) "/faults/presets/sandbox-apiuser-500" } {
                    input type="hidden" name="csrf" value=(csrf);
                    p { "MTN's sandbox often answers 500 to " code { "POST /v1_0/apiuser" } "; a client must retry with the same reference id." }
                    button #preset-apiuser-500 type="submit" { "Reproduce the sandbox's 500 on POST /v1_0/apiuser (once)" }
                }
            }
            section.card aria-labelledby="add-rule-title" {
                h2 #add-rule-title { "Add a rule" }
                form method="post" action={ (PREFIX) "/faults" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="method" { "Method" }
                    select #method name="method" {
                        option value="" { "any" }
                        @for method in ["GET", "POST", "PUT", "DELETE"] { option value=(method) { (method) } }
                    }
                    label for="path" { "Path (" code { "*" } " matches any run of characters)" }
                    input #path type="text" name="path" required placeholder="/collection/v1_0/requesttopay*" spellcheck="false";
                    label for="status" { "Answer with status (empty: serve it, after the delay)" }
                    input #status type="text" name="status" inputmode="numeric" placeholder="500";
                    label for="body" { "Body (empty: MoMo's body for that status)" }
                    input #body type="text" name="body" spellcheck="false";
                    label for="latency_ms" { "Delay in milliseconds" }
                    input #latency_ms type="text" name="latency_ms" inputmode="numeric" placeholder="0";
                    label for="count" { "How many requests (empty: until removed)" }
                    input #count type="text" name="count" inputmode="numeric";
                    label for="api_user" { "Only this API user (empty: any)" }
                    input #api_user type="text" name="api_user" spellcheck="false";
                    button type="submit" { "Add rule" }
                }
            }
        },
    )
}

/// What a page's live region follows: when such a change happens (on any instance), the
/// console's script loads the page again in the background and swaps the region in
/// (docs/console.md, "Live updates").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Live<'a> {
    /// The overview's counts, taken again after changes.
    Counts,
    /// Any transaction.
    Transactions,
    /// One transaction, by reference id, and its callbacks.
    Transaction(&'a str),
    /// Any callback delivery.
    Callbacks,
    /// Transactions of one payer's wallet (its ledger account id).
    Wallet(&'a str),
}

impl Live<'_> {
    /// The URL of the event stream for this region.
    fn events_url(self) -> String {
        let query = match self {
            Live::Counts => "topic=counts".to_owned(),
            Live::Transactions => "topic=transactions".to_owned(),
            Live::Transaction(reference) => format!("topic=transaction&reference={}", segment(reference)),
            Live::Callbacks => "topic=callbacks".to_owned(),
            Live::Wallet(account) => format!("topic=wallet&account={}", segment(account)),
        };
        format!("{PREFIX}/events?{query}")
    }
}

/// The part of a page that updates by itself (one per page). It carries when its request
/// arrived, before anything it shows was read, so that its event stream reports at once a change
/// it may have missed before connecting. A page that answers a form has no event stream: its
/// address cannot be loaded again.
pub(super) fn live(follows: Live<'_>, content: Markup) -> Markup {
    // Every console response is made inside `ARRIVAL`'s scope (the console's middleware).
    let arrival = super::ARRIVAL.try_with(|arrival| *arrival).ok();
    let url = arrival
        .filter(|arrival| arrival.reloadable)
        .map(|arrival| format!("{}&since={}", follows.events_url(), arrival.at_ms));
    html! { div #live data-events=[url] { (content) } }
}

/// A table with these column headings around `rows` (scrolls sideways inside its card when
/// wider than the screen; stacks as labelled lines on a phone, see the stylesheet).
pub(super) fn table(columns: &[&str], rows: Markup) -> Markup {
    html! {
        div.table {
            table {
                thead { tr { @for column in columns { th scope="col" { (column) } } } }
                tbody { (rows) }
            }
        }
    }
}

/// A delivery's state as a badge that stands out when something is wrong.
pub(super) fn delivery_state(state: &str) -> Markup {
    html! { span class={ "badge " (state) } { (state) } }
}

pub(super) fn callbacks(
    deliveries: &[crate::store::DeliveryRecord],
    shown: Option<DeliveryState>,
    csrf: &str,
) -> Markup {
    let failed = deliveries.iter().filter(|d| d.state == DeliveryState::Failed.as_str()).count();
    layout(
        "Callbacks",
        Some((Page::Callbacks, csrf)),
        html! {
            h1 { "Callbacks" }
            nav.filters aria-label="Callback states" {
                a href={ (PREFIX) "/callbacks" } aria-current=[shown.is_none().then_some("page")] { "All" }
                @for state in DeliveryState::ALL {
                    a href={ (PREFIX) "/callbacks?state=" (state.as_str()) }
                        aria-current=[(shown == Some(state)).then_some("page")] { (state.as_str()) }
                }
            }
            (live(Live::Callbacks, html! {
                @if failed > 0 && shown.is_none() {
                    p.error role="status" { (failed) " of the newest " (deliveries.len()) " callbacks failed: their receivers never answered 2xx." }
                }
                section.card aria-labelledby="deliveries-title" {
                    h2 #deliveries-title { "Newest first" }
                    @if deliveries.is_empty() {
                        p { "None." }
                    } @else {
                        (table(&["State", "Reference id", "Kind", "URL", "Attempts", "Created", "Next attempt"], html! {
                            @for d in deliveries {
                                tr {
                                    td data-label="State" { (delivery_state(&d.state)) }
                                    td data-label="Reference id" { a href={ (PREFIX) "/callbacks/" (segment(&d.id)) } { code.id { (d.key.reference_id) } } }
                                    td data-label="Kind" { (d.key.kind.as_str()) }
                                    td data-label="URL" { code.id { (d.method) " " (d.url) } }
                                    td data-label="Attempts" { (d.attempts) }
                                    td data-label="Created" { (time(d.created_at)) }
                                    td data-label="Next attempt" {
                                        @match d.next_attempt_at.filter(|_| d.state == DeliveryState::Pending.as_str()) {
                                            Some(at) => (time(at)),
                                            None => "—",
                                        }
                                    }
                                }
                            }

                        }))
                    }
                }
            }))
        },
    )
}

pub(super) fn callback(
    d: &crate::store::DeliveryRecord,
    attempts: &[crate::store::AttemptRecord],
    csrf: &str,
) -> Markup {
    layout(
        "Callback",
        Some((Page::Callbacks, csrf)),
        html! {
            h1 { "Callback " (delivery_state(&d.state)) }
            section.card aria-labelledby="delivery-title" {
                h2 #delivery-title { "Delivery" }
                dl.settings {
                    dt { "Delivery id" } dd { code.id { (d.id) } }
                    dt { "Reference id" } dd { code.id { (d.key.reference_id) } }
                    dt { "Transaction" } dd { (d.key.product) " " (d.key.kind.as_str()) }
                    dt { "API user" } dd { code.id { (d.api_user) } }
                    dt { "Request" } dd { code.id { (d.method) " " (d.url) } }
                    dt { "Created" } dd { (time(d.created_at)) }
                }
                h3 { "Body (as signed)" }
                pre { code { (d.body) } }
            }
            section.card aria-labelledby="attempts-title" {
                h2 #attempts-title { "Attempts" }
                (attempts_table(attempts))
            }
            p { a href={ (PREFIX) "/callbacks" } { "Back to the callbacks" } }
        },
    )
}

pub(super) fn callbacks_not_found(csrf: &str) -> Markup {
    layout(
        "Callback",
        Some((Page::Callbacks, csrf)),
        html! {
            h1 { "No such callback" }
            p { a href={ (PREFIX) "/callbacks" } { "Back to the callbacks" } }
        },
    )
}

/// A page that only says why a request was refused.
fn refusal(status: StatusCode, title: &str, message: &str) -> Response {
    let page = layout(
        title,
        None,
        html! {
            section.card.narrow {
                h1 { (title) }
                p.error role="alert" { (message) }
                p { a href={ (PREFIX) "/" } { "Back to the console" } }
            }
        },
    );
    (status, page).into_response()
}

/// A refused form (no or wrong CSRF token): nothing was changed.
pub(super) fn forbidden(message: &str) -> Response {
    refusal(StatusCode::FORBIDDEN, "Refused", message)
}

/// A form post that is not a form (a client other than the console's pages).
pub(super) fn bad_form() -> Response {
    refusal(StatusCode::BAD_REQUEST, "Bad request", "This request is not a form of the console: nothing was changed.")
}

/// The database does not answer.
pub(super) fn unavailable() -> Response {
    refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "The server's database does not answer right now. Try again in a moment.",
    )
}
