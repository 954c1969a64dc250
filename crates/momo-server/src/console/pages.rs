//! The console's pages. Each is a function from what it shows to markup; maud escapes every
//! value it interpolates.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::{ServerView, PREFIX};

/// The frame of every page: semantic landmarks, the navigation (when signed in), one stylesheet.
fn layout(title: &str, signed_in: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · openmomo console" }
                link rel="stylesheet" href={ (PREFIX) "/assets/console.css" };
            }
            body {
                header.bar {
                    a.brand href={ (PREFIX) "/" } { "openmomo" }
                    @if let Some(csrf) = signed_in {
                        nav aria-label="Console" {
                            ul {
                                li { a href={ (PREFIX) "/" } aria-current="page" { "Overview" } }
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

pub(super) fn overview(server: &ServerView, csrf: &str) -> Markup {
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
        Some(csrf),
        html! {
            h1 { "Overview" }
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
