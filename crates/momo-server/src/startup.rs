//! Building and running the server.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use axum::Router;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::bootstrap::{self, Created};
use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::domain::credentials::SecretHasher;
use crate::state::{AppState, ServerKeys};
use crate::{admin, api, data_dir, gateway, metrics, net, probes, store};

/// A server that is bound and ready to run.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Connections served at once: the setting, lowered to fit the open-file limit.
    max_connections: usize,
    created: Created,
    database: String,
    /// How console changes reach the other instances sharing a PostgreSQL database.
    relay: Option<(crate::changes::postgres::PgAnnouncer, crate::changes::postgres::PgChangeListener)>,
}

impl Application {
    /// Open the database, run migrations and first-start set-up, and bind the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// [`Application::build`] with a clock tests can move.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        // The data directory holds the default database and the default key file: made private
        // once, before either is created.
        if settings.database_url.is_none() || settings.credential_hash_key_file.is_none() {
            data_dir::prepare(&settings.data_dir)?;
        }
        let (url, database) = database_url(&settings)?;
        let key_file =
            settings.credential_hash_key_file.clone().unwrap_or_else(|| settings.data_dir.join("credential-hash.key"));
        let hasher = SecretHasher::new(&data_dir::credential_hash_key(&key_file)?);
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
        let store = store::open_observed(&url, metrics.commits()).await?;
        let prepared = bootstrap::run(store.as_ref(), &settings, &hasher, &key_file, clock.now_ms()).await?;
        let created = prepared.created;
        let descriptors = net::raise_descriptor_limit();
        let max_connections = net::connection_cap(settings.max_connections, descriptors);
        if max_connections < settings.max_connections {
            tracing::warn!(
                max_connections,
                open_file_limit = descriptors,
                "serving fewer connections at once than asked, to keep file descriptors for the database"
            );
        }
        let listener = TcpListener::bind(settings.bind)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let targets = std::sync::Arc::new(crate::domain::targets::TargetPolicy {
            // Loopback receivers are the local-development case: only for a server that is itself
            // reachable on loopback alone.
            allow_loopback: crate::domain::targets::classify(listener.local_addr()?.ip())
                == crate::domain::targets::AddressClass::Loopback,
            allow_private: settings.callback_allow_private,
            allow: settings.callback_allow.clone(),
        });
        let http = crate::callbacks::http_client(targets.clone(), settings.callback_timeout)?;
        let keys = ServerKeys { tokens: prepared.tokens, hasher, callback_root: prepared.callback_root };
        let relay = match store.backend() {
            "postgres" => Some(crate::changes::postgres::relay(&url).await?),
            _ => None,
        };
        let changes = std::sync::Arc::new(crate::changes::ChangeFeed::new(relay.is_some()));
        let state = AppState::new(settings, store, keys, clock, http, targets, changes, metrics);
        state.cache.refresh(state.store.as_ref()).await?;
        state.faults.refresh(state.store.as_ref()).await?;
        state.readiness.prepared();
        Ok(Self { listener, state, max_connections, created, database, relay })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| self.state.settings.bind)
    }

    /// The credentials this start created, to show once.
    pub fn created(&self) -> &Created {
        &self.created
    }

    /// Where the data lives, without any password (`sqlite: .momo/momo.db`).
    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve until `shutdown` completes, then finish the requests in flight.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let changes = self.state.changes.clone();
        let workers = [
            tokio::spawn(refresh_credentials(self.state.clone())),
            tokio::spawn(settle_transactions(self.state.clone())),
            tokio::spawn(crate::callbacks::run(self.state.clone())),
            tokio::spawn(crate::service::overview::run(self.state.clone())),
            match self.relay {
                Some((announcer, listener)) => {
                    tokio::spawn(crate::changes::run_shared(changes.clone(), announcer, listener))
                }
                None => tokio::spawn(crate::changes::run(changes.clone())),
            },
        ];
        // The console's event streams never end by themselves: they end when the server stops,
        // so that they do not hold its graceful shutdown.
        let shutdown = async move {
            shutdown.await;
            changes.stop();
        };
        let limits = net::Limits {
            header_read: self.state.settings.header_read_timeout,
            keep_alive: self.state.settings.keep_alive_timeout,
            max_connections: self.max_connections,
        };
        let connections = self.state.connections.clone();
        net::serve(self.listener, app(self.state), limits, connections, shutdown).await;
        for worker in workers {
            worker.abort();
        }
        Ok(())
    }
}

/// The database URL and a printable description of it; a SQLite file is made private (the data
/// directory is prepared by the caller).
fn database_url(settings: &Settings) -> anyhow::Result<(String, String)> {
    if let Some(url) = &settings.database_url {
        let url = url.expose_secret().to_owned();
        let shown = match url::Url::parse(&url) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("****"));
                parsed.to_string()
            }
            _ => url.clone(),
        };
        if let Some(path) = sqlite_file(&url) {
            data_dir::protect_database(&path)?;
        }
        return Ok((url, shown));
    }
    let path = settings.data_dir.join("momo.db");
    data_dir::protect_database(&path)?;
    Ok((format!("sqlite://{}", path.display()), format!("sqlite: {}", path.display())))
}

/// The file a `sqlite:` URL names (`None` for an in-memory database or another engine).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

/// Watch for credential and fault-rule changes made by other instances.
async fn refresh_credentials(state: AppState) {
    let interval = state.settings.cache_refresh_interval.max(Duration::from_millis(10));
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = state.cache.refresh(state.store.as_ref()).await {
            tracing::warn!(error = %e, "could not check for credential changes");
        }
        if let Err(e) = state.faults.refresh(state.store.as_ref()).await {
            tracing::warn!(error = %e, "could not check for fault-rule changes");
        }
    }
}

/// Make due transactions final.
async fn settle_transactions(state: AppState) {
    loop {
        match crate::settle::settle_due(&state).await {
            // A full batch: go again at once.
            Ok(n) if n >= crate::settle::BATCH as usize => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "settlement failed; will retry"),
        }
        tokio::time::sleep(state.settings.worker_interval).await;
    }
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    // Layers run outside in: the subscription-key check first, then fault injection.
    let momo = api::router()
        .route_layer(from_fn_with_state(state.clone(), gateway::inject_faults))
        .route_layer(from_fn_with_state(state.clone(), gateway::subscription_key));
    let operator = admin::router().method_not_allowed_fallback(gateway::not_found);
    let limit = state.settings.max_body_bytes;
    let body_read_timeout = state.settings.body_read_timeout;
    Router::new()
        .merge(momo)
        .nest(admin::PREFIX, operator)
        .merge(crate::console::router())
        .route("/", get(crate::console::root))
        .merge(probes::router())
        .route("/_momo/openapi.json", get(openapi_document))
        .fallback(gateway::not_found)
        .method_not_allowed_fallback(gateway::not_found)
        .with_state(state.clone())
        // Each `Router::layer` wraps every route in a boxed service of its own, cloned and called
        // through its box on every request: the app's layers are one call, in one builder.
        .layer(
            ServiceBuilder::new()
                // Every response the app writes carries `x-request-id`: `net` relies on it to tell
                // hyper's own empty rejections (which it gives a JSON body) from the app's answers.
                .layer(crate::request_log::RequestLog::new(state.settings.access_log))
                // A body that stalls fails its read (a 400 in MoMo's shape from the extractor),
                // and the connection closes with the answer.
                .layer(RequestBodyTimeoutLayer::new(body_read_timeout))
                .layer(DefaultBodyLimit::max(limit))
                // Outside the gateway's checks (route layers), so that a request they refuse is
                // counted under its operation; inside the layers above, so that it times what the
                // router does.
                .layer(metrics::ObserveRequests(state.metrics.clone())),
        )
}

/// `GET /_momo/openapi.json` (no key or token, like health): the MoMo API's OpenAPI document
/// (docs/openapi.md).
async fn openapi_document() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], momo_types::openapi::momo_api_json())
}
