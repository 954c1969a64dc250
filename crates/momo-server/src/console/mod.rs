//! The browser console under [`PREFIX`] (docs/console.md): server-rendered HTML (maud, compiled
//! into the binary: the markup is checked and escaped at compile time, and no template files
//! or Node build step are needed), one embedded stylesheet, no third-party origin.
//!
//! Security, as every page of it must have:
//! - Sign-in with the operator token, which becomes a session: a random id in a cookie that is
//!   `HttpOnly`, `SameSite=Strict`, scoped to the console's path, expiring (and `Secure` when the
//!   request came over TLS through a proxy), stored only as a keyed hash in the database so that
//!   every instance knows it and a sign-out ends it everywhere. Never a token in a URL or in
//!   the browser's storage.
//! - Every state-changing form carries a CSRF token: the session's, or for the sign-in form a
//!   short-lived one in a cookie of its own (double submit).
//! - Wrong tokens count against the client's address like the operator API's
//!   ([`crate::domain::throttle`]).
//! - Every response carries a Content-Security-Policy that allows only this origin's stylesheet
//!   and forbids scripts inline or from elsewhere, and is never cached.

mod callbacks;
mod faults;
mod handset;
mod keys;
mod live;
mod pages;
mod transactions;
mod users;

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use crate::state::AppState;
use crate::store::ConsoleSession;

/// Where the console lives.
pub(crate) const PREFIX: &str = "/_momo/console";

/// The session cookie.
const SESSION_COOKIE: &str = "momo_console";
/// The sign-in form's CSRF cookie.
const SIGN_IN_COOKIE: &str = "momo_console_sign_in";
/// How long a session lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a sign-in form stays valid.
const SIGN_IN_SECONDS: i64 = 30 * 60;

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, with their full paths (to be merged into the app).
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(|| async { Redirect::permanent(&format!("{PREFIX}/")) }))
        .route(&format!("{PREFIX}/"), get(overview))
        .route(&format!("{PREFIX}/sign-in"), get(sign_in_form).post(sign_in))
        .route(&format!("{PREFIX}/sign-out"), post(sign_out))
        .route(&format!("{PREFIX}/handset"), get(handset::show))
        .route(&format!("{PREFIX}/handset/prompts/{{product}}/{{kind}}/{{reference}}"), post(handset::decide))
        .route(&format!("{PREFIX}/keys"), get(list_page::<keys::Keys>).post(keys::add))
        .route(&format!("{PREFIX}/keys/{{id}}/regenerate"), post(keys::regenerate))
        .route(&format!("{PREFIX}/keys/{{id}}/revoke"), post(keys::revoke))
        .route(&format!("{PREFIX}/users"), get(list_page::<users::Users>).post(users::create))
        .route(&format!("{PREFIX}/users/{{id}}/key"), post(users::regenerate_key))
        .route(&format!("{PREFIX}/users/{{id}}/revoke"), get(users::confirm_revoke).post(users::revoke))
        .route(&format!("{PREFIX}/users/{{id}}/callback-secret"), post(users::callback_secret))
        .route(&format!("{PREFIX}/transactions"), get(transactions::list))
        .route(&format!("{PREFIX}/transactions/{{product}}/{{kind}}/{{reference}}"), get(transactions::detail))
        .route(
            &format!("{PREFIX}/transactions/{{product}}/{{kind}}/{{reference}}/approve"),
            post(transactions::approve),
        )
        .route(&format!("{PREFIX}/transactions/{{product}}/{{kind}}/{{reference}}/reject"), post(transactions::reject))
        .route(&format!("{PREFIX}/transactions/{{product}}/{{kind}}/{{reference}}/force"), post(transactions::force))
        .route(&format!("{PREFIX}/callbacks/{{id}}/redeliver"), post(transactions::redeliver))
        .route(&format!("{PREFIX}/callbacks"), get(callbacks::list))
        .route(&format!("{PREFIX}/callbacks/{{id}}"), get(callbacks::detail))
        .route(&format!("{PREFIX}/faults"), get(list_page::<faults::Rules>).post(faults::add))
        .route(&format!("{PREFIX}/faults/{{id}}/remove"), post(faults::remove))
        .route(&format!("{PREFIX}/faults/presets/sandbox-apiuser-500"), post(faults::preset_apiuser_500))
        .route(&format!("{PREFIX}/events"), get(live::events))
        .route(&format!("{PREFIX}/assets/console.css"), get(stylesheet))
        .route(&format!("{PREFIX}/assets/console.js"), get(script))
        .layer(from_fn(security_headers))
}

/// `GET /`: browsers are sent to the console; API clients keep MoMo's 404.
pub(crate) async fn root(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.split(',').any(|kind| kind.trim().starts_with("text/html")));
    if wants_html {
        Redirect::to(&format!("{PREFIX}/")).into_response()
    } else {
        crate::error::ApiError::RouteNotFound.into_response()
    }
}

/// The request a page is rendered for, as its live region needs it ([`pages::live`]).
#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// When it arrived (Unix ms): the region follows the changes from then on.
    at_ms: i64,
    /// Whether it can be made again to load the page anew: a `GET`. A page that answers a form
    /// (a refused action, shown at the form's address) cannot, so it does not follow changes.
    reloadable: bool,
}

tokio::task_local! {
    static ARRIVAL: Arrival;
}

async fn security_headers(request: Request, next: Next) -> Response {
    let arrival = Arrival { at_ms: crate::changes::unix_ms(), reloadable: request.method() == axum::http::Method::GET };
    let mut response = ARRIVAL.scope(arrival, next.run(request)).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLESHEET)
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        SCRIPT,
    )
        .into_response()
}

/// A value of a request's cookie.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// A `Set-Cookie` value for the console: HttpOnly, SameSite=Strict, scoped to its path, and
/// Secure when the request reached the proxy in front of the server over TLS.
fn set_cookie(name: &str, value: &str, max_age: i64, headers: &HeaderMap) -> HeaderValue {
    let tls = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https");
    let secure = if tls { "; Secure" } else { "" };
    let cookie = format!("{name}={value}; Path={PREFIX}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The signed-in session of a request, if any.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<ConsoleSession>, Response> {
    let Some(id) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    state.store.console_session(&state.hasher.hash(id), state.clock.now_ms()).await.map_err(|e| {
        tracing::warn!(error = %e, "console: could not read a session");
        pages::unavailable()
    })
}

/// What the pages show of the server, never a secret.
pub(crate) struct ServerView {
    pub base: String,
    pub platform: &'static str,
    pub database: &'static str,
    pub scenario_profile: &'static str,
    pub reason_format: &'static str,
    pub pending_delay: std::time::Duration,
    pub token_ttl: std::time::Duration,
    pub sandbox_balance: &'static str,
}

impl ServerView {
    fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let settings = &state.settings;
        // The address the browser used, which is the one its user can reach.
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
            .map_or_else(|| settings.bind.to_string(), str::to_owned);
        ServerView {
            base: format!("http://{host}"),
            platform: settings.platform.as_str(),
            database: state.store.backend(),
            scenario_profile: settings.scenario_profile.as_str(),
            reason_format: settings.reason_format.as_str(),
            pending_delay: settings.pending_delay,
            token_ttl: settings.token_ttl,
            sandbox_balance: settings.sandbox_balance.as_str(),
        }
    }
}

/// The session a page needs; otherwise the response to send instead (to sign in).
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<ConsoleSession, Response> {
    match session(state, headers).await? {
        Some(session) => Ok(session),
        None => Err(Redirect::to(&format!("{PREFIX}/sign-in")).into_response()),
    }
}

/// The session a form needs, with its CSRF token; then a new token for the session, so that the
/// same form sent again (a reload of the page it led to) is refused instead of repeating what it
/// did. Returns the session with its new token.
async fn signed_in_form(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<ConsoleSession, Response> {
    let mut session = signed_in(state, headers).await?;
    if !same(&session.csrf_token, csrf) {
        return Err(pages::forbidden(
            "This form was sent already, or did not come from your console session: nothing was changed. \
             Go back to the page and load it again.",
        ));
    }
    session.csrf_token = random_token();
    state.store.set_console_csrf(&session.id_hash, &session.csrf_token).await.map_err(|e| {
        tracing::warn!(error = %e, "console: could not renew a session's CSRF token");
        pages::unavailable()
    })?;
    Ok(session)
}

/// What a console form carries to be accepted.
trait ConsoleForm {
    fn csrf(&self) -> &str;
}

/// A posted form and its session, its CSRF token checked and renewed ([`signed_in_form`]); or
/// the page to answer instead (not a form, no session, a spent or foreign token).
async fn posted<T: ConsoleForm>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
) -> Result<(ConsoleSession, T), Response> {
    let Ok(Form(form)) = form else { return Err(pages::bad_form()) };
    let session = signed_in_form(state, headers, form.csrf()).await?;
    Ok((session, form))
}

/// Answer a posted form with `action`, given the session (with its renewed token) and the form;
/// a form that is refused ([`posted`]) gets its own answer and `action` does not run.
async fn on_form<T, A, F>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<T>, FormRejection>,
    action: A,
) -> Response
where
    T: ConsoleForm,
    A: FnOnce(ConsoleSession, T) -> F,
    F: std::future::Future<Output = Response>,
{
    match posted(state, headers, form).await {
        Ok((session, form)) => action(session, form).await,
        Err(response) => response,
    }
}

/// A page that lists something (keys, users, fault rules) and whose actions, when refused,
/// answer with the list again and what was wrong above it.
trait ListPage {
    type Item;
    /// Where the list is, below [`PREFIX`] (`"/keys"`).
    const PATH: &'static str;
    /// How a failure is logged ("a subscription key operation").
    const WHAT: &'static str;
    /// What a refusal says when the item does not exist.
    const NOT_FOUND: &'static str;
    /// What a refusal says when the item exists already.
    const ALREADY_EXISTS: &'static str = "That exists already.";

    async fn load(state: &AppState) -> crate::error::ApiResult<Vec<Self::Item>>;
    fn render(items: &[Self::Item], csrf: &str, error: Option<&str>) -> maud::Markup;
}

/// `GET` of a list page.
async fn list_page<P: ListPage>(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match signed_in(&state, &headers).await {
        Ok(session) => listed::<P>(&state, &session.csrf_token, None, StatusCode::OK).await,
        Err(response) => response,
    }
}

async fn listed<P: ListPage>(state: &AppState, csrf: &str, error: Option<&str>, status: StatusCode) -> Response {
    match P::load(state).await {
        Ok(items) => (status, P::render(&items, csrf, error)).into_response(),
        Err(e) => failure(e, P::WHAT),
    }
}

/// A button of a list page (a form that carries only its CSRF token): `action` runs once the
/// form is accepted, and what it returns is answered with `shown` (given the session's renewed
/// CSRF token); a refusal answers with the list again and why ([`refused`]).
async fn list_action<P: ListPage, T>(
    state: &AppState,
    headers: &HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
    action: impl std::future::Future<Output = crate::error::ApiResult<T>>,
    shown: impl FnOnce(T, &str) -> Response,
) -> Response {
    on_form(state, headers, form, async |session, _| match action.await {
        Ok(done) => shown(done, &session.csrf_token),
        Err(e) => refused::<P>(state, &session.csrf_token, e).await,
    })
    .await
}

/// After an action whose result needs no page of its own: the list again.
fn back_to_list<P: ListPage, T>(_: T, _: &str) -> Response {
    Redirect::to(&format!("{PREFIX}{}", P::PATH)).into_response()
}

/// An action of a list page was refused: the list again, with why, for the refusals a person can
/// act on; a generic page (and the full error in the log) for the others.
async fn refused<P: ListPage>(state: &AppState, csrf: &str, error: crate::error::ApiError) -> Response {
    use crate::error::ApiError;
    let message = match &error {
        ApiError::BadRequest(message) | ApiError::OperatorConflict(message) => message.clone(),
        ApiError::ResourceAlreadyExist => P::ALREADY_EXISTS.to_owned(),
        ApiError::ResourceNotFound => P::NOT_FOUND.to_owned(),
        _ => return failure(error, P::WHAT),
    };
    listed::<P>(state, csrf, Some(&message), StatusCode::BAD_REQUEST).await
}

/// An action that failed for a reason the operator cannot fix from the page: logged in full,
/// a generic page for the browser.
fn failure(error: crate::error::ApiError, action: &str) -> Response {
    tracing::warn!(error = %error, action, "console: an action failed");
    pages::unavailable()
}

async fn overview(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match signed_in(&state, &headers).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let counts = crate::service::overview::current(&state);
    pages::overview(&ServerView::of(&state, &headers), counts.as_deref(), &session.csrf_token).into_response()
}

/// The sign-in form, with a fresh CSRF token in a cookie of its own and in the form.
async fn sign_in_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session(&state, &headers).await {
        return Redirect::to(&format!("{PREFIX}/")).into_response();
    }
    sign_in_page(StatusCode::OK, None, &headers)
}

fn sign_in_page(status: StatusCode, error: Option<&str>, headers: &HeaderMap) -> Response {
    let csrf = random_token();
    let mut response = (status, pages::sign_in(&csrf, error)).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, &csrf, SIGN_IN_SECONDS, headers));
    response
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: String,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInForm { .. }")
    }
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return pages::bad_form() };
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(expected, &form.csrf) {
        return pages::forbidden("The sign-in form expired or did not come from this console. Load it again.");
    }
    let address: IpAddr = peer.ip();
    let attempt = match state.operator_failures.admit(address, &state.clock).await {
        Ok(attempt) => attempt,
        Err(wait) => {
            let message = format!("Too many wrong tokens from your address. Try again in {} s.", wait.as_secs().max(1));
            return sign_in_page(StatusCode::TOO_MANY_REQUESTS, Some(&message), &headers);
        }
    };
    let token = form.token.trim();
    let valid =
        !token.is_empty() && state.store.operator_token_exists(&state.hasher.hash(token)).await.unwrap_or(false);
    if !valid {
        if !token.is_empty() && attempt.failed(state.clock.now_ms()) {
            tracing::warn!(client = %address, "console: wrong operator tokens; this address is refused for a while");
        }
        return sign_in_page(StatusCode::UNAUTHORIZED, Some("That is not an operator token of this server."), &headers);
    }
    drop(attempt);
    let id = random_token();
    let now = state.clock.now_ms();
    let session = ConsoleSession {
        id_hash: state.hasher.hash(&id),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + SESSION_SECONDS * 1000,
    };
    if let Err(e) = state.store.insert_console_session(&session).await {
        tracing::warn!(error = %e, "console: could not start a session");
        return pages::unavailable();
    }
    tracing::info!(client = %address, "console: operator signed in");
    let mut response = Redirect::to(&format!("{PREFIX}/")).into_response();
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &id, SESSION_SECONDS, &headers));
    cookies.append(header::SET_COOKIE, set_cookie(SIGN_IN_COOKIE, "", 0, &headers));
    response
}

/// A form that carries nothing but its CSRF token (an action button).
#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

impl ConsoleForm for CsrfForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// End the session everywhere; only with the session's CSRF token.
async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else { return pages::bad_form() };
    let session = match session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return Redirect::to(&format!("{PREFIX}/sign-in")).into_response(),
        Err(unavailable) => return unavailable,
    };
    if !same(&session.csrf_token, &form.csrf) {
        return pages::forbidden("This form did not come from your console session. Reload the page.");
    }
    if let Err(e) = state.store.delete_console_session(&session.id_hash).await {
        tracing::warn!(error = %e, "console: could not end a session");
        return pages::unavailable();
    }
    let mut response = Redirect::to(&format!("{PREFIX}/sign-in")).into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", 0, &headers));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; momo_console=abc; momo_console_sign_in=x"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SIGN_IN_COOKIE), Some("x"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn console_cookies_are_http_only_same_site_strict_and_secure_behind_tls() {
        let plain = set_cookie(SESSION_COOKIE, "v", 60, &HeaderMap::new());
        let plain = plain.to_str().unwrap();
        assert!(
            plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && plain.contains("Path=/_momo/console")
        );
        assert!(!plain.contains("Secure"));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(set_cookie(SESSION_COOKIE, "v", 60, &proxied).to_str().unwrap().ends_with("; Secure"));
    }
}
