//! Live updates (docs/console.md, "Live updates"): a page's `#live` region names an event stream
//! here; the stream says "change" when something the region shows changed on any instance
//! ([`crate::changes`]), and the console's script then loads the page again and swaps the region.
//! The stream carries no data, only that hint: the page itself is read with the session as ever.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::session;
use crate::changes::{Batch, Interest};
use crate::state::AppState;

/// At most one hint per stream this often: a busy server makes a page reload a few times a
/// second, not once per payment.
const MIN_GAP: Duration = Duration::from_millis(250);

/// How long a browser waits before reconnecting a broken stream.
const RETRY: Duration = Duration::from_secs(2);

/// What a stream follows: the query of [`super::pages::Live`]'s URL.
#[derive(Debug, Deserialize)]
pub(super) struct Follow {
    topic: String,
    reference: Option<String>,
    account: Option<String>,
    /// When the page was rendered (Unix ms): changes handed on since then are sent at once.
    since: Option<i64>,
}

impl Follow {
    fn interest(self) -> Option<Interest> {
        Some(match (self.topic.as_str(), self.reference, self.account) {
            ("counts", None, None) => Interest::Counts,
            ("transactions", None, None) => Interest::Transactions,
            ("callbacks", None, None) => Interest::Deliveries,
            ("transaction", Some(reference), None) => Interest::Transaction(reference.to_ascii_lowercase()),
            ("wallet", None, Some(account)) => Interest::Wallet(account),
            _ => return None,
        })
    }
}

/// `GET /_momo/console/events`: the stream of change hints for one live region. Without a
/// session, 204: an `EventSource` stops reconnecting on it.
pub(super) async fn events(
    State(state): State<AppState>,
    Query(follow): Query<Follow>,
    headers: HeaderMap,
) -> Response {
    let session = match session(&state, &headers).await {
        Ok(Some(session)) => session,
        Ok(None) => return StatusCode::NO_CONTENT.into_response(),
        Err(unavailable) => return unavailable,
    };
    let since = follow.since;
    let Some(interest) = follow.interest() else {
        return (StatusCode::BAD_REQUEST, "Unknown topic.").into_response();
    };
    let Some(open) = state.changes.open_stream() else {
        tracing::warn!(limit = crate::changes::MAX_STREAMS, "console: too many live pages open; one more was refused");
        return (StatusCode::SERVICE_UNAVAILABLE, "Too many live pages are open on this server.").into_response();
    };
    // Subscribed first, then checked: a change handed on in between is both missed and seen,
    // never neither.
    let batches = state.changes.subscribe();
    let missed = since.is_some_and(|since| state.changes.delivered_since(&interest, since));
    let watch = Watch {
        _open: open,
        _counting: (interest == Interest::Counts).then(|| crate::service::overview::watch(&state)),
        state: state.clone(),
        session: session.id_hash.clone(),
        batches,
        interest,
        stopping: Box::pin(state.changes.stopping()),
        // The stream ends with the session; a browser that reconnects then gets 204.
        expires: Box::pin(tokio::time::sleep(Duration::from_millis(
            u64::try_from(session.expires_at - state.clock.now_ms()).unwrap_or(0),
        ))),
        last: None,
        missed,
    };
    let hints = stream::unfold(watch, |mut watch| async move {
        watch.next().await.map(|()| (Ok::<_, Infallible>(Event::default().event("change").data("change")), watch))
    });
    let opening = stream::once(async { Ok(Event::default().retry(RETRY).comment("live")) });
    Sse::new(futures_util::StreamExt::chain(opening, hints))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

type Ending = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// One stream's watch over the change feed.
struct Watch {
    /// Counts this stream among the instance's open ones.
    _open: crate::changes::OpenStream,
    /// An overview's stream keeps its counts being taken ([`crate::service::overview`]).
    _counting: Option<crate::service::overview::Watching>,
    state: AppState,
    /// The session the stream is for (its keyed hash): a hint is sent only while it lasts.
    session: crate::store::SecretHash,
    batches: tokio::sync::broadcast::Receiver<Arc<Batch>>,
    interest: Interest,
    stopping: Ending,
    expires: std::pin::Pin<Box<tokio::time::Sleep>>,
    last: Option<Instant>,
    missed: bool,
}

impl Watch {
    /// Wait for the next change the region shows (`None`: the stream ends).
    async fn next(&mut self) -> Option<()> {
        if !std::mem::take(&mut self.missed) {
            loop {
                let wanted = tokio::select! {
                    received = self.batches.recv() => match received {
                        Ok(batch) => self.interest.wants(&batch),
                        // Fell behind: some batches were dropped, so look again.
                        Err(RecvError::Lagged(_)) => true,
                        Err(RecvError::Closed) => return None,
                    },
                    () = &mut self.stopping => return None,
                    () = &mut self.expires => return None,
                };
                if wanted {
                    break;
                }
            }
        }
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + MIN_GAP).await;
            // What arrived meanwhile is covered by this hint.
            while self.batches.try_recv().is_ok() {}
        }
        self.last = Some(Instant::now());
        // Signed out (on any instance) or expired since: the stream ends instead.
        match self.state.store.console_session(&self.session, self.state.clock.now_ms()).await {
            Ok(Some(_)) => Some(()),
            Ok(None) => None,
            // The database is out of reach: the page's reload will say so.
            Err(_) => Some(()),
        }
    }
}
