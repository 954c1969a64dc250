//! Connections: idle and slow clients are closed by the timeouts, a cap bounds how many are
//! served at once (docs/reliability.md, "Connections"), and the requests hyper refuses before
//! any handler sees them get MoMo's JSON error body (docs/compatibility.md).
//!
//! The timeouts are short here so that each test runs in seconds; the bounds the tests wait for
//! are several times longer, so that only a connection the server never closes fails them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Longer than any timeout set in these tests, with room for a slow machine.
const BOUND: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp) -> TcpStream {
    let stream = TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Everything the server sends until it closes the connection. Fails if it is still open after
/// [`BOUND`].
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(BOUND, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return got,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open; it sent {:?}", String::from_utf8_lossy(&got)),
        }
    }
}

/// One response read from `stream` (head and `content-length` body), the connection left open.
async fn one_response(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before a whole response");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// Status and JSON body of a raw response.
fn parse(response: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no response: {text:?}"));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not a JSON body: {text:?}"));
    (status, body)
}

/// The number of open connections the server reports, asked on a connection of its own.
async fn reported_connections(app: &TestApp) -> u64 {
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(BOUND).build().unwrap();
    let health: Value = client.get(app.url("/_momo/health")).send().await.unwrap().json().await.unwrap();
    health["connections"].as_u64().unwrap()
}

/// Ask until the server reports `wanted` (or fewer with `at_most`) open connections.
async fn wait_for_connections(app: &TestApp, accept: impl Fn(u64) -> bool) -> u64 {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let n = reported_connections(app).await;
        if accept(n) {
            return n;
        }
        assert!(tokio::time::Instant::now() < deadline, "the server still reports {n} connections");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn idle_slow_and_stalled_connections_are_closed_and_requests_still_answered() {
    let app = spawn_with(|s| {
        s.header_read_timeout = Duration::from_millis(1500);
        s.body_read_timeout = Duration::from_millis(1000);
        s.keep_alive_timeout = Duration::from_millis(1000);
    })
    .await;
    const EACH: usize = 15;
    let mut held = tokio::task::JoinSet::new();

    // Connected, nothing sent.
    for _ in 0..EACH {
        let mut idle = connect(&app).await;
        held.spawn(async move { ("idle", until_closed(&mut idle).await) });
    }
    // One header byte every 200 ms: never quiet for the keep-alive timeout, so only the header
    // timeout can close it.
    for _ in 0..EACH {
        let mut slow = connect(&app).await;
        held.spawn(async move {
            let head = b"GET /_momo/health HTTP/1.1\r\nHost: openmomo\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            let deadline = tokio::time::Instant::now() + BOUND;
            for byte in head.iter().cycle() {
                tokio::select! {
                    read = slow.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return ("slow header", got),
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    },
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        let _ = slow.write_all(std::slice::from_ref(byte)).await;
                    }
                }
                assert!(tokio::time::Instant::now() < deadline, "the slow header was never cut off");
            }
            unreachable!()
        });
    }
    // A request whose body stops after its first byte.
    for _ in 0..EACH {
        let mut stalled = connect(&app).await;
        let head = format!(
            "POST /v1_0/apiuser HTTP/1.1\r\nHost: openmomo\r\nOcp-Apim-Subscription-Key: {COLLECTION_KEY}\r\n\
             X-Reference-Id: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            uuid::Uuid::new_v4()
        );
        stalled.write_all(head.as_bytes()).await.unwrap();
        held.spawn(async move { ("stalled body", until_closed(&mut stalled).await) });
    }
    // A kept-alive connection left idle after its first request.
    for _ in 0..EACH {
        let mut kept = connect(&app).await;
        kept.write_all(b"GET /_momo/health HTTP/1.1\r\nHost: openmomo\r\n\r\n").await.unwrap();
        let first = one_response(&mut kept).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        held.spawn(async move { ("idle keep-alive", until_closed(&mut kept).await) });
    }

    // While they are all held, an ordinary request is answered.
    let open = wait_for_connections(&app, |n| n > 4 * EACH as u64).await;
    assert!(open > 4 * EACH as u64, "the server counts the held connections ({open})");
    let (user, _) = app.sandbox_user().await;
    assert_eq!(app.admin(reqwest::Method::GET, &format!("/users/{user}"), None).await.status(), StatusCode::OK);

    // Each is closed by its timeout; the stalled bodies get MoMo's 400 first.
    let mut closed = std::collections::BTreeMap::new();
    while let Some(result) = held.join_next().await {
        let (kind, sent) = result.unwrap();
        if kind == "stalled body" {
            let (status, body) = parse(&sent);
            assert_eq!((status, body["code"].as_str()), (400, Some("VALIDATION_ERROR")), "{body}");
        } else {
            assert!(sent.is_empty(), "{kind}: {:?}", String::from_utf8_lossy(&sent));
        }
        *closed.entry(kind).or_insert(0) += 1;
    }
    assert_eq!(closed.values().sum::<usize>(), 4 * EACH, "{closed:?}");

    // What they held is given back: the server counts only the connection that asks (and
    // perhaps the test client's own, until it too is closed as idle).
    wait_for_connections(&app, |n| n == 1).await;
}

#[tokio::test]
async fn past_the_connection_cap_a_new_connection_waits_until_one_closes() {
    let app = spawn_with(|s| {
        s.max_connections = 2;
        s.keep_alive_timeout = Duration::from_secs(60);
        s.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let first = connect(&app).await;
    let _second = connect(&app).await;
    let client = reqwest::Client::builder().timeout(BOUND).build().unwrap();
    let mut waiting = std::pin::pin!(client.get(app.url("/_momo/health")).send());
    // Not served while both slots are taken: the server does not even accept it. (A generous
    // wait: if the cap were not enforced, the answer would come in milliseconds.)
    tokio::select! {
        response = &mut waiting => panic!("served past the cap: {response:?}"),
        () = tokio::time::sleep(Duration::from_millis(700)) => {}
    }
    drop(first);
    let response = waiting.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["connections"], 2, "the one still held and this one");
}

/// Send `request` raw and return the status and JSON body of the answer.
async fn raw(app: &TestApp, request: &[u8]) -> (u16, Value) {
    let mut stream = connect(app).await;
    // The server may answer (and stop reading) before the whole request is sent.
    let _ = stream.write_all(request).await;
    parse(&until_closed(&mut stream).await)
}

#[tokio::test]
async fn requests_hyper_cannot_parse_get_momo_json_errors() {
    let app = spawn_app().await;
    let key = format!("Ocp-Apim-Subscription-Key: {COLLECTION_KEY}\r\n");
    let many_headers: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_path = format!("/v1_0/apiuser/{}", "a".repeat(70 * 1024));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "a Content-Length that is not a number",
            format!("POST /v1_0/apiuser HTTP/1.1\r\nHost: openmomo\r\n{key}Content-Length: abc\r\n\r\n{{}}").into_bytes(),
            400,
        ),
        (
            "two different Content-Lengths",
            format!("POST /v1_0/apiuser HTTP/1.1\r\nHost: openmomo\r\n{key}Content-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}")
                .into_bytes(),
            400,
        ),
        ("a raw space in the path", format!("GET /v1_0/api user HTTP/1.1\r\nHost: openmomo\r\n{key}\r\n").into_bytes(), 400),
        (
            "a raw 0xFF byte in the path",
            [&b"GET /v1_0/apiuser/\xff HTTP/1.1\r\nHost: openmomo\r\n"[..], key.as_bytes(), b"\r\n"].concat(),
            400,
        ),
        ("2,000 headers", format!("GET /_momo/health HTTP/1.1\r\nHost: openmomo\r\n{many_headers}\r\n").into_bytes(), 431),
        ("a 70 KB path", format!("GET {long_path} HTTP/1.1\r\nHost: openmomo\r\n{key}\r\n").into_bytes(), 414),
    ];
    for (case, request, status) in cases {
        let (got, body) = raw(&app, &request).await;
        assert_eq!(got, status, "{case}: {body}");
        assert_eq!(body["code"], "VALIDATION_ERROR", "{case}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}: {body}");
    }
    // The server is unharmed.
    assert_eq!(app.client.get(app.url("/_momo/health")).send().await.unwrap().status(), StatusCode::OK);
}
