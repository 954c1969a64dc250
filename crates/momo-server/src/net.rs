//! Serving connections: openmomo's own accept loop around hyper's HTTP/1.1 connections, for what
//! `axum::serve` does not do (docs/reliability.md, "Connections"):
//!
//! - timeouts, so that idle and slow clients cannot hold connections (and their memory and file
//!   descriptors) for as long as they like: a request head must be complete within
//!   `header_read_timeout` of the server starting to wait for it (hyper's own timer); a request
//!   body may not stall longer than `body_read_timeout` (tower-http's body timeout, in
//!   [`crate::startup::app`]); a connection on which nothing was received or sent for
//!   `keep_alive_timeout` is closed unless a request is in progress (`Activity`);
//! - a cap on open connections, below the process's file-descriptor limit with a reserve for the
//!   database and callbacks (`connection_cap`). Past the cap a connection is not accepted: it
//!   waits in the listen backlog until a slot frees. Accepting it only to close it would take the
//!   very descriptor the cap is there to keep, and would turn a burst into errors where waiting
//!   (bounded by the timeouts above) answers every request;
//! - MoMo's JSON error body on hyper's own answers to requests it cannot parse (`Conn`);
//! - TCP_NODELAY on every connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::Service as _;

/// Descriptors kept for everything but client connections: the database (PostgreSQL's pool of
/// 16, SQLite's six connections with their database and WAL files), callbacks in flight, the
/// listener, standard streams and the runtime's own.
pub(crate) const DESCRIPTOR_RESERVE: u64 = 128 + crate::config::CALLBACKS_IN_FLIGHT as u64;

/// How long a connection whose request hyper refused may take to finish sending it, so that
/// closing it does not reset the connection before the client has read the answer.
const LINGER: Duration = Duration::from_secs(2);

/// The timeouts and the cap, as in force.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub header_read: Duration,
    pub keep_alive: Duration,
    pub max_connections: usize,
}

/// The number of connections open now (reported by `GET /_momo/health`).
#[derive(Debug, Default)]
pub struct ConnectionCount(AtomicUsize);

impl ConnectionCount {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// Raise the soft limit on open files to the hard limit, and return the soft limit in force
/// (`None` if it cannot be read).
pub(crate) fn raise_descriptor_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-file limit");
            None
        }
    }
}

/// The most connections served at once: the setting, but never so many that the descriptors
/// kept for the database and callbacks ([`DESCRIPTOR_RESERVE`]) could run out.
pub(crate) fn connection_cap(setting: usize, descriptor_limit: Option<u64>) -> usize {
    let room = descriptor_limit.map_or(u64::MAX, |limit| limit.saturating_sub(DESCRIPTOR_RESERVE).max(1));
    setting.min(usize::try_from(room).unwrap_or(usize::MAX)).max(1)
}

/// Serve `app` on `listener` until `shutdown` completes, then finish the requests in flight.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    count: Arc<ConnectionCount>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read).keep_alive(true);
    // Connections watch `stop` to begin a graceful shutdown; each holds a `done` receiver, so
    // `done_tx.closed()` completes when the last one has finished.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: past the cap, connections wait in the backlog, unaccepted.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted: the
                    // listener is fine; try again shortly.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let open = Open::new(slot, count.clone());
        let connection = connection(stream, remote, app.clone(), http.clone(), limits, stop_rx.clone());
        let done = done_rx.clone();
        tokio::spawn(async move {
            connection.await;
            drop((open, done));
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(done_rx);
    done_tx.closed().await;
}

/// A connection's slot and its place in the count, given back when it ends.
struct Open {
    _slot: OwnedSemaphorePermit,
    count: Arc<ConnectionCount>,
}

impl Open {
    fn new(slot: OwnedSemaphorePermit, count: Arc<ConnectionCount>) -> Self {
        count.0.fetch_add(1, Ordering::Relaxed);
        Self { _slot: slot, count }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.count.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serve one connection until it ends, is idle too long, or the server stops.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    app: Router,
    http: hyper::server::conn::http1::Builder,
    limits: Limits,
    mut stop: watch::Receiver<()>,
) {
    // No Nagle: a response written in two pieces would otherwise wait for the client's delayed
    // ACK (up to 40 ms) before its second piece goes out.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Conn::new(stream, activity.clone()));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let mut request = request.map(axum::body::Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        app.clone().call(request)
    });
    let mut conn = std::pin::pin!(http.serve_connection(io, service));
    let mut idle = std::pin::pin!(tokio::time::sleep(limits.keep_alive));
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = &mut idle, if !closing => {
                let quiet = activity.quiet_for();
                if quiet >= limits.keep_alive {
                    // Closes it now if no request is in progress (nothing read of a next one);
                    // otherwise after the response in progress.
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                } else {
                    idle.as_mut().reset(tokio::time::Instant::now() + limits.keep_alive.saturating_sub(quiet));
                }
            }
        }
    }
}

/// When a connection last received or sent anything.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds from `start`.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { start: Instant::now(), last: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        self.start.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

/// A client connection as hyper sees it: records activity, and gives hyper's automatic answers
/// to unparsable requests (400, 414, 431 with an empty body) MoMo's JSON error body.
///
/// hyper has no hook for those answers: it writes them itself, before any service sees a
/// request, and closes the connection. They are recognised as they are written: a response head
/// alone, with one of those statuses, `content-length: 0`, and without the `x-request-id` that
/// every response of the application carries. Checking costs a comparison of the first bytes of
/// each write. After such an answer the connection lingers (discarding what the client still
/// sends, for at most [`LINGER`]) so that closing it does not reset it before the client reads.
struct Conn<S> {
    inner: S,
    activity: Arc<Activity>,
    /// Our answer in place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
    /// Set once an answer was replaced: the deadline of the lingering close.
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Conn<S> {
    fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity, replacement: None, linger: None }
    }
}

impl<S: AsyncWrite + Unpin> Conn<S> {
    /// Write what is left of the replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written == bytes.len() {
                self.replacement = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// If `head` is hyper's own answer to an unparsable request, take it in place of writing it.
    fn replaced(&mut self, head: &[u8]) -> bool {
        let Some(answer) = momo_rejection(head) else { return false };
        self.replacement = Some((answer, 0));
        self.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        true
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        if buf.filled().len() > before {
            this.activity.touch();
        }
        Poll::Ready(read)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        this.activity.touch();
        if this.replaced(buf) {
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        this.activity.touch();
        if let [head, rest @ ..] = bufs {
            if rest.iter().all(|b| b.is_empty()) && this.replaced(head) {
                return Poll::Ready(Ok(head.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
        // Lingering close: read and drop what the client still sends until it closes its side
        // or the time is up.
        if let Some(deadline) = &mut this.linger {
            let mut scratch = [0u8; 4096];
            loop {
                if deadline.as_mut().poll(cx).is_ready() {
                    break;
                }
                let mut buf = ReadBuf::new(&mut scratch);
                match ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf)) {
                    Ok(()) if !buf.filled().is_empty() => continue,
                    _ => break,
                }
            }
            this.linger = None;
        }
        Poll::Ready(Ok(()))
    }
}

/// MoMo's answer in place of `head` if `head` is hyper's own answer to a request it could not
/// parse; `None` for everything else (every response of the application among it).
fn momo_rejection(head: &[u8]) -> Option<Vec<u8>> {
    let status = head.strip_prefix(b"HTTP/1.1 ")?;
    let message = match status.get(..4)? {
        b"400 " => {
            "The request is not valid HTTP/1.1: check the request line (a path with spaces or bytes \
             that are not URL-encoded), the header syntax and Content-Length."
        }
        b"414 " => "The request path is longer than the 65534 bytes this server accepts.",
        b"431 " => "The request has more headers (at most 100) or larger ones than this server accepts.",
        _ => return None,
    };
    let head = std::str::from_utf8(head).ok()?.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut headers = Vec::new();
    let mut empty = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("x-request-id") {
            return None;
        }
        if name.eq_ignore_ascii_case("content-length") {
            empty = value.trim() == "0";
        } else {
            headers.push(line);
        }
    }
    if !empty {
        return None;
    }
    let body =
        serde_json::to_string(&momo_types::ErrorReason::new(momo_types::ErrorCode::ValidationError, message)).ok()?;
    let mut answer = format!("{status_line}\r\n");
    for line in headers {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    Some(answer.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_keeps_descriptors_in_reserve() {
        assert_eq!(connection_cap(10_000, Some(1024)), 1024 - DESCRIPTOR_RESERVE as usize);
        assert_eq!(connection_cap(100, Some(1024)), 100);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(10_000, None), 10_000);
        assert_eq!(connection_cap(10_000, Some(10)), 1, "never zero");
    }

    #[test]
    fn only_hypers_empty_rejections_are_replaced() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 12:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(momo_rejection(hyper).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ndate: Mon, 30 Nov 2026 12:00:00 GMT"));
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        assert!(head.contains("\r\ncontent-type: application/json"));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "VALIDATION_ERROR");

        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: 1\r\ncontent-length: 0\r\n\r\n";
        assert!(momo_rejection(ours).is_none(), "the application's own answers are left alone");
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert!(momo_rejection(with_body).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(momo_rejection(ok).is_none());
        assert!(momo_rejection(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n").is_none(), "not a whole head");
    }
}
