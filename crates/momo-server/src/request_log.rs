//! The id every answer carries (`x-request-id`), and what is logged of each request: a line per
//! answered request if the access log is on (`--access-log`, docs/configuration.md), and a
//! warning for every 5xx answer whatever the setting.
//!
//! One layer in place of tower-http's `SetRequestId`, `TraceLayer` and `PropagateRequestId`.
//! Those made a span for every request, formatted its fields and wrote a line for its answer
//! (about a fifth of a status read's instructions at the default log level), stored the id in
//! the request's headers and in both extension maps, and drew a v4 UUID for each id. This one
//! makes the span only when the access log is on at a level the log filter lets through, and
//! keeps the id for the answer alone (docs/performance.md, "The per-request work").

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use axum::response::Response;
use tracing::Span;

use crate::config::AccessLog;
use crate::error::FailureCause;

const REQUEST_ID: HeaderName = HeaderName::from_static(momo_types::headers::REQUEST_ID);

/// Where request ids come from: a prefix drawn once per server, then a count.
///
/// An id only ties an answer to its lines in the log: nothing is looked up by it and it grants
/// nothing, so it need not be unguessable (it does tell a client roughly how many requests the
/// instance has answered since it started). The 64-bit random prefix keeps apart the ids of
/// instances and restarts whose logs are read together. A count costs an atomic add where a v4
/// UUID drew 122 random bits and wrote 36 characters.
#[derive(Debug)]
struct RequestIds {
    /// 16 hex digits and a hyphen.
    prefix: [u8; PREFIX_LENGTH],
    next: AtomicU64,
}

const PREFIX_LENGTH: usize = 17;

impl RequestIds {
    fn new() -> Self {
        let mut prefix = [0u8; PREFIX_LENGTH];
        prefix.copy_from_slice(format!("{:016x}-", rand::random::<u64>()).as_bytes());
        Self { prefix, next: AtomicU64::new(1) }
    }

    /// The next id: the prefix, then the count in decimal (written by hand: `write!` took twice
    /// as long as the rest of the request's id handling).
    fn next(&self) -> HeaderValue {
        let mut count = self.next.fetch_add(1, Ordering::Relaxed);
        let mut digits = [0u8; 20];
        let mut first = digits.len();
        loop {
            first -= 1;
            digits[first] = b'0' + (count % 10) as u8;
            count /= 10;
            if count == 0 {
                break;
            }
        }
        let mut id = [0u8; PREFIX_LENGTH + 20];
        id[..PREFIX_LENGTH].copy_from_slice(&self.prefix);
        let length = PREFIX_LENGTH + digits.len() - first;
        id[PREFIX_LENGTH..length].copy_from_slice(&digits[first..]);
        HeaderValue::from_bytes(&id[..length]).expect("hex digits, a hyphen and decimal digits make a header value")
    }
}

/// The layer: ids for the requests that bring none, and the access log at `access_log`.
#[derive(Debug, Clone)]
pub(crate) struct RequestLog {
    access_log: AccessLog,
    ids: Arc<RequestIds>,
}

impl RequestLog {
    pub(crate) fn new(access_log: AccessLog) -> Self {
        Self { access_log, ids: Arc::new(RequestIds::new()) }
    }
}

impl<S> tower::Layer<S> for RequestLog {
    type Service = Logged<S>;

    fn layer(&self, inner: S) -> Logged<S> {
        Logged { inner, log: self.clone() }
    }
}

/// The app, its requests given ids and logged.
#[derive(Debug, Clone)]
pub(crate) struct Logged<S> {
    inner: S,
    log: RequestLog,
}

impl<S, B> tower::Service<Request<B>> for Logged<S>
where
    S: tower::Service<Request<B>, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Answering<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // A client's own id is kept, as tower-http's layers kept it.
        let id = request.headers().get(REQUEST_ID).cloned().unwrap_or_else(|| self.log.ids.next());
        let span = request_span(self.log.access_log, &id, &request);
        let seen = Seen { id, method: request.method().clone(), uri: request.uri().clone(), started: Instant::now() };
        let inner = span.in_scope(|| self.inner.call(request));
        Answering { inner, span, access_log: self.log.access_log, seen: Some(seen) }
    }
}

/// The span of a request, if the access log is on at a level the log filter lets through: its
/// id, method and path. Never the query string, which may carry `subscription-key`, and never
/// headers, which carry keys and tokens.
fn request_span<B>(access_log: AccessLog, id: &HeaderValue, request: &Request<B>) -> Span {
    let id = id.to_str().unwrap_or("-");
    let (method, path) = (request.method(), request.uri().path());
    match access_log {
        AccessLog::Off => Span::none(),
        AccessLog::Debug => tracing::debug_span!("request", id = %id, method = %method, path = %path),
        AccessLog::Info => tracing::info_span!("request", id = %id, method = %method, path = %path),
    }
}

/// What the answer's log lines need of the request.
#[derive(Debug)]
struct Seen {
    id: HeaderValue,
    method: Method,
    uri: Uri,
    started: Instant,
}

/// A request's answer on its way.
#[derive(Debug)]
pub(crate) struct Answering<F> {
    inner: F,
    span: Span,
    access_log: AccessLog,
    /// Taken when the answer is ready.
    seen: Option<Seen>,
}

impl<F, E> Future for Answering<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut answered = {
            let _entered = this.span.enter();
            ready!(Pin::new(&mut this.inner).poll(cx))
        };
        if let (Ok(response), Some(seen)) = (&mut answered, this.seen.take()) {
            let _entered = this.span.enter();
            answer(response, seen, this.access_log);
        }
        Poll::Ready(answered)
    }
}

/// Give the answer its id, and log it.
fn answer(response: &mut Response, seen: Seen, access_log: AccessLog) {
    let latency = seen.started.elapsed();
    let status = response.status().as_u16();
    match access_log {
        AccessLog::Off => {}
        AccessLog::Debug => tracing::debug!(status, ?latency, "finished processing request"),
        AccessLog::Info => tracing::info!(status, ?latency, "finished processing request"),
    }
    let cause = response.extensions_mut().remove::<FailureCause>();
    if cause.is_some() || response.status().is_server_error() {
        // Named in full: the request's span is there only while the access log is on.
        let id = seen.id.to_str().unwrap_or("-");
        let (method, path) = (&seen.method, seen.uri.path());
        match cause {
            Some(FailureCause::Internal(error)) => {
                tracing::error!(%id, %method, %path, status, ?latency, %error, "request failed")
            }
            Some(FailureCause::Unavailable(error)) => {
                tracing::warn!(%id, %method, %path, status, ?latency, %error, "database unavailable")
            }
            None => tracing::warn!(%id, %method, %path, status, ?latency, "response failed"),
        }
    }
    // Every answer of the app carries the id: `net` tells the app's answers from hyper's own by it.
    response.headers_mut().entry(REQUEST_ID).or_insert(seen.id);
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::response::IntoResponse as _;
    use futures_util::FutureExt as _;
    use tower::{Layer as _, Service as _};

    use super::*;
    use crate::error::ApiError;

    /// What a layer of `access_log` logs, as JSON lines, while it answers one request with
    /// `answer`; and the id the answer carries.
    fn logged(access_log: AccessLog, answer: fn() -> Response) -> (Vec<serde_json::Value>, String) {
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt().json().with_max_level(tracing::Level::DEBUG);
        let subscriber = subscriber.with_writer(move || writer.clone()).finish();
        let response = tracing::subscriber::with_default(subscriber, || {
            let app = tower::service_fn(move |_: Request<()>| {
                std::future::ready(Ok::<_, std::convert::Infallible>(answer()))
            });
            let mut logged = RequestLog::new(access_log).layer(app);
            let request = Request::post("/collection/v1_0/requesttopay?subscription-key=secret").body(()).unwrap();
            logged.call(request).now_or_never().expect("answered at once").unwrap()
        });
        let id = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        (text.lines().map(|line| serde_json::from_str(line).unwrap()).collect(), id)
    }

    #[test]
    fn an_internal_failure_is_logged_once_with_its_cause_and_its_request_whatever_the_access_log() {
        fn failure() -> Response {
            ApiError::Internal(anyhow::anyhow!("disk full").context("could not store the request")).into_response()
        }
        for access_log in [AccessLog::Off, AccessLog::Debug, AccessLog::Info] {
            let (lines, id) = logged(access_log, failure);
            let failures: Vec<_> = lines.iter().filter(|line| line["level"] == "ERROR").collect();
            assert_eq!(failures.len(), 1, "{access_log}: {lines:?}");
            let fields = &failures[0]["fields"];
            assert_eq!(fields["message"], "request failed");
            assert_eq!(fields["error"], "could not store the request: disk full");
            assert_eq!((&fields["id"], &fields["method"]), (&id.as_str().into(), &"POST".into()));
            assert_eq!(fields["path"], "/collection/v1_0/requesttopay", "never the query string");
        }
    }

    #[test]
    fn the_access_log_writes_a_line_in_the_requests_span_at_its_level_and_none_when_off() {
        fn ok() -> Response {
            axum::http::StatusCode::OK.into_response()
        }
        for (access_log, level) in [(AccessLog::Debug, "DEBUG"), (AccessLog::Info, "INFO")] {
            let (lines, id) = logged(access_log, ok);
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(
                (&lines[0]["level"], &lines[0]["fields"]["message"]),
                (&level.into(), &"finished processing request".into())
            );
            let span = &lines[0]["span"];
            assert_eq!(
                (&span["name"], &span["id"], &span["path"]),
                (&"request".into(), &id.as_str().into(), &"/collection/v1_0/requesttopay".into())
            );
        }
        assert_eq!(logged(AccessLog::Off, ok).0, Vec::<serde_json::Value>::new());
    }

    #[test]
    fn request_ids_share_the_servers_prefix_and_never_repeat() {
        let ids = RequestIds::new();
        let prefix = std::str::from_utf8(&ids.prefix).unwrap().to_owned();
        assert!(prefix.len() == 17 && prefix.ends_with('-'), "{prefix}");
        assert!(prefix[..16].bytes().all(|b| b.is_ascii_hexdigit()), "{prefix}");
        assert_eq!(ids.next().to_str().unwrap(), format!("{prefix}1"));
        assert_eq!(ids.next().to_str().unwrap(), format!("{prefix}2"));
        ids.next.store(1_234_567_890, Ordering::Relaxed);
        assert_eq!(ids.next().to_str().unwrap(), format!("{prefix}1234567890"));
        ids.next.store(u64::MAX, Ordering::Relaxed);
        assert_eq!(ids.next().to_str().unwrap(), format!("{prefix}{}", u64::MAX));
        assert_ne!(RequestIds::new().prefix, ids.prefix, "another server draws another prefix");
    }
}
