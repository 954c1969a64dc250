//! `spawn_app()`: the real server on port 0 with a fresh database, and a client for it.
//!
//! The database is of the engine the test target runs the suite on ([`crate::ENGINE`]): `it`
//! runs it on SQLite, `it_postgres` on PostgreSQL (a database of its own for each test).

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use momo_server::config::PinnedSubscriptionKey;
use momo_server::{Application, Clock, Settings};
use reqwest::{Method, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const COLLECTION_KEY: &str = "test-collection-key-000000000001";
pub const DISBURSEMENT_KEY: &str = "test-disbursement-key-0000000002";
pub const REMITTANCE_KEY: &str = "test-remittance-key-000000000003";
pub const ADMIN_TOKEN: &str = "test-operator-token-000000000000000000000000000000000000000000004";
pub const GUIDE_USER: &str = "c72025f5-5cd1-4630-99e4-8ba4722fad56";

pub const MISSING_KEY_BODY: &str = r#"{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API." }"#;
pub const INVALID_KEY_BODY: &str = r#"{ "statusCode": 401, "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription." }"#;
pub const NOT_FOUND_ROUTE_BODY: &str = r#"{ "statusCode": 404, "message": "Resource not found" }"#;
pub const ALREADY_EXISTS_BODY: &str =
    r#"{"code":"RESOURCE_ALREADY_EXIST","message":"Duplicated reference id. Creation of resource failed."}"#;
pub const NOT_FOUND_BODY: &str = r#"{"code":"RESOURCE_NOT_FOUND","message":"Requested resource was not found."}"#;
pub const LOGIN_FAILED_BODY: &str = r#"{"error":"login_failed"}"#;
pub const TARGET_ENV_BODY: &str =
    r#"{"code":"NOT_ALLOWED_TARGET_ENVIRONMENT","message":"Access to target environment is forbidden."}"#;
pub const UNAUTHORIZED_BODY: &str = r#"{"code":"UNAUTHORIZED","message":"Access token is missing, invalid or expired. Request a new one from /{product}/token/."}"#;

/// Settings for a test server in `data_dir` (port 0, pinned keys and operator token).
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let pinned = |s: &str| s.parse::<PinnedSubscriptionKey>().expect("valid pinned key");
    Settings {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_owned(),
        subscription_keys: vec![
            pinned(&format!("collection={COLLECTION_KEY}")),
            pinned(&format!("disbursement={DISBURSEMENT_KEY}")),
            pinned(&format!("remittance={REMITTANCE_KEY}")),
        ],
        admin_token: Some(SecretString::from(ADMIN_TOKEN)),
        cache_refresh_interval: std::time::Duration::from_millis(50),
        ..Settings::default()
    }
}

/// The database engine a test target runs its servers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine's name as the server shows it (`/_momo/health`, the console).
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A running test server.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Clock,
    pub data_dir: Arc<tempfile::TempDir>,
    /// The database it runs on (`sqlite://…` or `postgres://…`), to read it directly.
    pub database_url: String,
    server: Option<ServerThread>,
    /// On PostgreSQL, the test's own database, dropped after the server (fields drop in order).
    postgres: Option<PostgresDatabase>,
}

/// The thread a test server runs on, with a runtime of its own, so that stopping it ends every
/// task the server started (its workers, its pools' connections). Aborted on the test's runtime,
/// the server would leave its workers running, reconnecting to the database the test then drops;
/// and while `Drop` waits for that drop, the test's runtime could not run them (PostgreSQL's
/// `DROP DATABASE` then waited a minute for a connection stuck half-way through its login).
struct ServerThread {
    /// Stop gracefully: no new connections, the requests in flight answered.
    graceful: oneshot::Sender<()>,
    /// Stop now, whatever is in flight.
    now: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Drop for TestApp {
    /// A server still running when its test ends stops here, before its database goes.
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.now.send(());
            let _ = server.thread.join();
        }
    }
}

/// The server on a fresh database of the target's engine, in a fresh directory.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// The server with adjusted settings.
pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let postgres = fresh_database().await;
    let mut settings = test_settings(dir.path());
    settings.database_url = postgres.as_ref().map(PostgresDatabase::setting);
    adjust(&mut settings);
    let mut app = start(settings, dir, Clock::manual()).await;
    app.postgres = postgres;
    app
}

/// A fresh database of the target's engine for one test server: `None` on SQLite, whose
/// database is the default file in the server's (fresh) data directory.
pub async fn fresh_database() -> Option<PostgresDatabase> {
    match crate::ENGINE {
        Engine::Sqlite => None,
        Engine::Postgres => Some(PostgresDatabase::create().await),
    }
}

/// Start a server with these settings; `dir` is kept alive with it.
pub async fn start(settings: Settings, dir: Arc<tempfile::TempDir>, clock: Clock) -> TestApp {
    use secrecy::ExposeSecret as _;
    let database_url = match &settings.database_url {
        Some(url) => url.expose_secret().to_owned(),
        None => format!("sqlite://{}", settings.data_dir.join("momo.db").display()),
    };
    let (built, address) = oneshot::channel::<anyhow::Result<SocketAddr>>();
    let (graceful, graceful_stop) = oneshot::channel::<()>();
    let (now, stop_now) = oneshot::channel::<()>();
    let server_clock = clock.clone();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let app = match Application::build_with_clock(settings, server_clock).await {
                Ok(app) => app,
                Err(e) => {
                    let _ = built.send(Err(e));
                    return;
                }
            };
            let _ = built.send(Ok(app.local_addr()));
            let run = app.run_until_stopped(async {
                let _ = graceful_stop.await;
            });
            tokio::select! {
                ran = run => ran.expect("server runs"),
                _ = stop_now => {}
            }
        });
        // Dropping the runtime here ends every task the server spawned.
    });
    let address = address.await.expect("the server thread answers").expect("server builds");
    TestApp {
        base: format!("http://{address}"),
        client: reqwest::Client::new(),
        clock,
        data_dir: dir,
        database_url,
        server: Some(ServerThread { graceful, now, thread }),
        postgres: None,
    }
}

impl TestApp {
    /// Stop gracefully and wait until the server is gone.
    pub async fn stop(mut self) {
        if let Some(ServerThread { graceful, now, thread }) = self.server.take() {
            let _ = graceful.send(());
            // Joined off the test's runtime, which may serve the server's last callbacks meanwhile.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            // Only now: dropped before, it would have stopped the server at once.
            drop(now);
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn create_api_user(&self, id: &str, host: &str) -> Response {
        self.client
            .post(self.url("/v1_0/apiuser"))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .header("X-Reference-Id", id)
            .json(&serde_json::json!({ "providerCallbackHost": host }))
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /v1_0/apiuser/{id}` with the collection key.
    pub async fn api_user(&self, id: &str) -> Response {
        self.client
            .get(self.url(&format!("/v1_0/apiuser/{id}")))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn create_api_key(&self, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/v1_0/apiuser/{id}/apikey")))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .send()
            .await
            .expect("request sent")
    }

    /// A sandbox user with a key: `(api user, api key)`.
    pub async fn sandbox_user(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(self.create_api_user(&id, "webhook.site").await.status(), StatusCode::CREATED);
        let key = self.create_api_key(&id).await;
        assert_eq!(key.status(), StatusCode::CREATED);
        let key: Value = key.json().await.expect("json");
        (id, key["apiKey"].as_str().expect("apiKey").to_owned())
    }

    pub async fn token(&self, product: &str, user: &str, key: &str) -> Response {
        self.client
            .post(self.url(&format!("/{product}/token/")))
            .header("Ocp-Apim-Subscription-Key", key_for(product))
            .header("Authorization", basic(user, key))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn access_token(&self, product: &str, user: &str, key: &str) -> String {
        let response = self.token(product, user, key).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    pub async fn balance(&self, product: &str, token: &str, env: &str) -> Response {
        self.client
            .get(self.url(&format!("/{product}/v1_0/account/balance")))
            .header("Ocp-Apim-Subscription-Key", key_for(product))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Target-Environment", env)
            .send()
            .await
            .expect("request sent")
    }

    /// A call to the operator API with the test operator token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request =
            self.client.request(method, self.url(&format!("/_momo/admin{path}"))).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request sent")
    }
}

pub fn key_for(product: &str) -> &'static str {
    match product {
        "disbursement" => DISBURSEMENT_KEY,
        "remittance" => REMITTANCE_KEY,
        _ => COLLECTION_KEY,
    }
}

pub fn basic(user: &str, key: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{key}")))
}

/// Status and body text of a response.
pub async fn status_and_body(response: Response) -> (StatusCode, String) {
    let status = response.status();
    (status, response.text().await.expect("body"))
}

/// Assert a response's status and exact body.
pub async fn assert_answer(response: Response, status: u16, body: &str) {
    let (got_status, got_body) = status_and_body(response).await;
    assert_eq!((got_status.as_u16(), got_body.as_str()), (status, body));
}

/// Marks a test that runs in the SQLite target `it` only: one of SQLite's own behaviour, or one
/// that brings its own PostgreSQL database (and would only repeat itself in `it_postgres`). In
/// `it_postgres` it is `true`, says `why`, and the test returns at once, as a skipped test does.
pub fn skip_on_postgres(why: &str) -> bool {
    let skip = crate::ENGINE == Engine::Postgres;
    if skip {
        eprintln!("skipped on PostgreSQL: {why}");
    }
    skip
}

/// The PostgreSQL server for tests, from `MOMO_TEST_POSTGRES_URL`. In CI (`CI=true`) its absence
/// is a failure, so the PostgreSQL tests cannot silently stop running; elsewhere they are skipped.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("MOMO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "MOMO_TEST_POSTGRES_URL must be set in CI: the PostgreSQL tests have to run"
            );
            eprintln!("skipped: set MOMO_TEST_POSTGRES_URL to run the PostgreSQL tests");
            None
        }
    }
}

/// A fresh, empty PostgreSQL database for a test that chooses its engine itself; returns its URL.
pub async fn fresh_postgres_database() -> Option<String> {
    let admin = postgres_admin_url()?;
    Some(create_postgres_database(&admin).await.1)
}

/// Create a database named `momo_test_…` (the pattern `.ci/run` clears leftovers by) on the
/// server of `admin`: its name and URL.
async fn create_postgres_database(admin: &str) -> (String, String) {
    use sqlx::Connection as _;
    let name = format!("momo_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect to MOMO_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
    let mut url = url::Url::parse(admin).expect("MOMO_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    (name, url.to_string())
}

/// A PostgreSQL database made for one test, dropped when the test is done with it: the suite
/// makes one per test, too many to leave behind on a developer's server.
#[derive(Debug)]
pub struct PostgresDatabase {
    admin: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// A fresh database on `MOMO_TEST_POSTGRES_URL`'s server. Without that variable the
    /// PostgreSQL target has nothing to run on: outside CI it ends at once, as skipped (the
    /// PostgreSQL-only tests' rule); in CI its absence fails the test.
    async fn create() -> PostgresDatabase {
        let Some(admin) = postgres_admin_url() else { skip_the_postgres_target() };
        let (name, url) = create_postgres_database(&admin).await;
        PostgresDatabase { admin, name, url }
    }

    /// The database as `Settings::database_url`.
    pub fn setting(&self) -> SecretString {
        SecretString::from(self.url.clone())
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        use sqlx::Connection as _;
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Dropping runs inside the test's runtime, which cannot wait for another future: a
        // thread and a runtime of its own. FORCE: a connection the test itself left open (a
        // store it opened to read the database directly) does not keep the database.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            // Not a failure of the test: `.ci/run` drops leftovers before the next run.
            eprintln!("could not drop the test database {}: {dropped:?}", self.name);
        }
    }
}

/// The PostgreSQL target without a server to run on, outside CI: every one of its tests would
/// skip, so the whole target stops here, successfully, and says why. (libtest has no "skipped";
/// this prints past its capture of test output.)
fn skip_the_postgres_target() -> ! {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "it_postgres skipped: set MOMO_TEST_POSTGRES_URL to run the server's tests on PostgreSQL"
    );
    std::process::exit(0)
}

/// A sandbox user with a token, ready for payments: `(user, token)`. The user's callback host
/// is 127.0.0.1, where test receivers listen.
pub async fn payer_ready(app: &TestApp) -> (String, String) {
    let user = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.create_api_user(&user, "127.0.0.1").await.status(), StatusCode::CREATED);
    let key: Value = app.create_api_key(&user).await.json().await.unwrap();
    let token = app.access_token("collection", &user, key["apiKey"].as_str().unwrap()).await;
    (user, token)
}

impl TestApp {
    /// POST a payment: `path` below the product (e.g. `/v1_0/requesttopay`).
    #[expect(clippy::too_many_arguments, reason = "one argument per header of MoMo's create requests")]
    pub async fn create(
        &self,
        product: &str,
        path: &str,
        token: &str,
        env: &str,
        reference: &str,
        callback: Option<&str>,
        body: &Value,
    ) -> Response {
        let mut request = self
            .client
            .post(self.url(&format!("/{product}{path}")))
            .header("Ocp-Apim-Subscription-Key", key_for(product))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Target-Environment", env)
            .header("X-Reference-Id", reference)
            .json(body);
        if let Some(url) = callback {
            request = request.header("X-Callback-Url", url);
        }
        request.send().await.unwrap()
    }

    /// GET a status: `path` below the product (e.g. `/v1_0/requesttopay/{id}`).
    pub async fn get(&self, product: &str, path: &str, token: &str, env: &str) -> Response {
        self.client
            .get(self.url(&format!("/{product}{path}")))
            .header("Ocp-Apim-Subscription-Key", key_for(product))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-Target-Environment", env)
            .send()
            .await
            .unwrap()
    }

    /// The status body of a transaction as a string, after moving the clock past the delay.
    pub async fn final_status(&self, product: &str, path: &str, token: &str, env: &str) -> String {
        self.clock.advance(std::time::Duration::from_secs(31));
        let response = self.get(product, path, token, env).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }
}

/// A sandbox request to pay of `amount` from a payer that approves, made final; its status body.
pub async fn settled_request_to_pay(app: &TestApp, token: &str, amount: &str) -> String {
    let id = new_id();
    let body = rtp_body("56733123453", amount);
    let accepted = app.create("collection", "/v1_0/requesttopay", token, "sandbox", &id, None, &body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    app.final_status("collection", &format!("/v1_0/requesttopay/{id}"), token, "sandbox").await
}

pub fn rtp_body(msisdn: &str, amount: &str) -> Value {
    serde_json::json!({
        "amount": amount,
        "currency": "EUR",
        "externalId": "ext-1",
        "payer": {"partyIdType": "MSISDN", "partyId": msisdn},
        "payerMessage": "MoMo Debit API",
        "payeeNote": "MoMo Debit API"
    })
}

pub fn transfer_body(msisdn: &str, amount: &str, currency: &str) -> Value {
    serde_json::json!({
        "amount": amount,
        "currency": currency,
        "externalId": "ext-2",
        "payee": {"partyIdType": "MSISDN", "partyId": msisdn},
        "payerMessage": "MoMo Transfer API",
        "payeeNote": "MoMo Transfer API"
    })
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One callback as a receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// A local callback receiver on 127.0.0.1 that answers `status` and records what it gets.
pub struct Receiver {
    pub port: u16,
    pub received: Arc<std::sync::Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(status: u16) -> Receiver {
        Self::start_on(0, status).await
    }

    pub async fn start_on(port: u16, status: u16) -> Receiver {
        use axum::extract::Request;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Arc<std::sync::Mutex<Vec<Received>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().fallback(move |request: Request| {
            let sink = sink.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let mut headers = reqwest::header::HeaderMap::new();
                for (name, value) in &parts.headers {
                    if let (Ok(n), Ok(v)) = (
                        reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
                        reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
                    ) {
                        headers.insert(n, v);
                    }
                }
                sink.lock().unwrap().push(Received {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    headers,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { port, received, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Wait until `n` callbacks have arrived (or fail after 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(std::time::Instant::now() < deadline, "only {} of {n} callbacks arrived", got.len());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The deliveries, once `done` holds for them (the server records an attempt only after the
/// receiver answered, so what a receiver saw may be ahead of the server's log for a moment).
pub async fn deliveries_when(app: &TestApp, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let deliveries: Vec<Value> = app.admin(Method::GET, "/deliveries", None).await.json().await.unwrap();
        if done(&deliveries) {
            return deliveries;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries never reached the expected state: {deliveries:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// A sandbox GET with the collection key and this token.
    pub async fn get_with_token(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Ocp-Apim-Subscription-Key", COLLECTION_KEY)
            .bearer_auth(token)
            .header("X-Target-Environment", "sandbox")
            .send()
            .await
            .unwrap()
    }
}

/// A status or callback body with its `financialTransactionId` (ten digits, checked) replaced
/// by `<fti>`, so that the rest can be compared byte for byte.
pub fn mask_fti(body: &str) -> String {
    const KEY: &str = r#""financialTransactionId":""#;
    let Some(start) = body.find(KEY).map(|at| at + KEY.len()) else { return body.to_owned() };
    let len = body[start..].find('"').expect("closing quote");
    let fti = &body[start..start + len];
    assert!(fti.len() == 10 && fti.bytes().all(|b| b.is_ascii_digit()), "financialTransactionId {fti:?}");
    format!("{}<fti>{}", &body[..start], &body[start + len..])
}

/// A user the operator created in a production-like environment, with a collection token:
/// `(user, token)`.
pub async fn operator_user(app: &TestApp, environment: &str) -> (String, String) {
    let created: Value = app
        .admin(Method::POST, "/users", Some(json!({"environment": environment, "providerCallbackHost": "127.0.0.1"})))
        .await
        .json()
        .await
        .unwrap();
    let (user, key) = (created["apiUser"].as_str().unwrap().to_owned(), created["apiKey"].as_str().unwrap().to_owned());
    let token = app.access_token("collection", &user, &key).await;
    (user, token)
}

/// Settings for one of several instances sharing the PostgreSQL database at `url`.
pub fn shared_postgres_settings(dir: &std::path::Path, url: &str) -> Settings {
    let mut settings = test_settings(dir);
    settings.database_url = Some(SecretString::from(url.to_owned()));
    settings
}
