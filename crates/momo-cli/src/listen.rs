//! `momo callbacks listen`: a local receiver for MoMo callbacks (PUT and POST on any path) that
//! checks openmomo's signature when given the secret, prints each callback, and can forward it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use clap::Args;
use serde_json::json;

use crate::output::Failure;

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// Address to listen on (0.0.0.0 to accept callbacks from other machines).
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Forward each callback (same method, body and headers) to this URL.
    #[arg(long)]
    forward_to: Option<String>,
    /// The API user's callback signing secret (`momo admin users callback-secret USER`): check
    /// X-Momo-Signature.
    #[arg(long, env = "MOMO_CALLBACK_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Stop after this many callbacks.
    #[arg(long)]
    count: Option<u64>,
}

struct Listener {
    args: ListenArgs,
    json: bool,
    http: reqwest::Client,
    seen: AtomicU64,
    done: tokio::sync::Notify,
}

pub async fn run(args: ListenArgs, json: bool) -> Result<(), Failure> {
    let address = SocketAddr::new(args.host, args.port);
    let socket = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| Failure::new(3, format!("cannot listen on {address}: {e}"), "choose another --port"))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::new(3, e.to_string(), ""))?;
    let state = Arc::new(Listener { args, json, http, seen: AtomicU64::new(0), done: tokio::sync::Notify::new() });
    if !json {
        eprintln!("Listening for callbacks on http://{address}/ (PUT and POST, any path). Ctrl-C to stop.");
    }
    let app = axum::Router::new().fallback(receive).with_state(state.clone());
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = state.done.notified() => {},
        }
    };
    axum::serve(socket, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Failure::new(3, format!("the listener stopped: {e}"), ""))
}

async fn receive(
    State(state): State<Arc<Listener>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if method != Method::PUT && method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let signature = match (&state.args.secret, header("x-momo-signature")) {
        (None, _) => "not checked",
        (Some(_), None) => "missing",
        (Some(secret), Some(value)) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
                .unwrap_or(0);
            match momo_client::callbacks::verify_signature(secret, &value, &body, now, 300) {
                Ok(()) => "valid",
                Err(_) => "INVALID",
            }
        }
    };
    let parsed = momo_client::callbacks::parse(&body).ok();
    let forwarded = match &state.args.forward_to {
        Some(url) => Some(forward(&state, &method, url, &headers, &body).await),
        None => None,
    };
    let reference = header("x-momo-reference-id").unwrap_or_else(|| "-".into());
    if state.json {
        let line = json!({
            "method": method.as_str(),
            "path": uri.path(),
            "referenceId": reference,
            "deliveryId": header("x-momo-delivery-id"),
            "signature": signature,
            "body": serde_json::from_slice::<serde_json::Value>(&body).unwrap_or(serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())),
            "forwarded": forwarded,
        });
        println!("{line}");
    } else {
        let summary = match &parsed {
            Some(state) => {
                let reason = state.reason.as_ref().map(|r| format!(" ({})", r.code())).unwrap_or_default();
                format!("{}{reason}", state.status)
            }
            None => format!("{} bytes, not a MoMo status body", body.len()),
        };
        let forwarded = forwarded.map(|f| format!("  forwarded: {f}")).unwrap_or_default();
        println!("{method} {}  reference {reference}  {summary}  signature: {signature}{forwarded}", uri.path());
        println!("  {}", String::from_utf8_lossy(&body));
    }
    let seen = state.seen.fetch_add(1, Ordering::SeqCst) + 1;
    if state.args.count.is_some_and(|n| seen >= n) {
        state.done.notify_one();
    }
    StatusCode::OK
}

async fn forward(state: &Listener, method: &Method, url: &str, headers: &HeaderMap, body: &Bytes) -> String {
    let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap_or(reqwest::Method::PUT);
    let mut request = state.http.request(method, url).body(body.to_vec());
    for name in ["content-type", "x-momo-signature", "x-momo-reference-id", "x-momo-delivery-id"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => response.status().as_u16().to_string(),
        Err(e) => format!("failed ({})", if e.is_connect() { "could not connect" } else { "error" }),
    }
}
