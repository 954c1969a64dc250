//! SIGKILL at bad moments: nothing acknowledged is lost (issue 3, acceptance 3 and 4).

#![expect(clippy::unwrap_used, reason = "a test fails loudly on the first surprise")]

#[expect(dead_code, reason = "the crash tests use only the server helpers")]
mod common;

use common::{Server, ADMIN, KEY};

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// A sandbox user on 127.0.0.1 with a token.
async fn token(client: &reqwest::Client, base: &str) -> String {
    let user = uuid::Uuid::new_v4().to_string();
    let r = client
        .post(format!("{base}/v1_0/apiuser"))
        .header("Ocp-Apim-Subscription-Key", KEY)
        .header("X-Reference-Id", &user)
        .json(&json!({"providerCallbackHost": "127.0.0.1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let key: Value = client
        .post(format!("{base}/v1_0/apiuser/{user}/apikey"))
        .header("Ocp-Apim-Subscription-Key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", key["apiKey"].as_str().unwrap()));
    let token: Value = client
        .post(format!("{base}/collection/token/"))
        .header("Ocp-Apim-Subscription-Key", KEY)
        .header("Authorization", format!("Basic {basic}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

async fn request_to_pay(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
    callback: Option<&str>,
) -> Option<u16> {
    let mut request = client
        .post(format!("{base}/collection/v1_0/requesttopay"))
        .header("Ocp-Apim-Subscription-Key", KEY)
        .bearer_auth(token)
        .header("X-Target-Environment", "sandbox")
        .header("X-Reference-Id", id)
        .json(
            &json!({"amount": "10", "currency": "EUR", "payer": {"partyIdType": "MSISDN", "partyId": "56733123453"}}),
        );
    if let Some(url) = callback {
        request = request.header("X-Callback-Url", url);
    }
    request.send().await.ok().map(|r| r.status().as_u16())
}

async fn status(client: &reqwest::Client, base: &str, token: &str, id: &str) -> (u16, Value) {
    let r = client
        .get(format!("{base}/collection/v1_0/requesttopay/{id}"))
        .header("Ocp-Apim-Subscription-Key", KEY)
        .bearer_auth(token)
        .header("X-Target-Environment", "sandbox")
        .send()
        .await
        .unwrap();
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_that_got_a_202_survives_sigkill_during_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut server = Server::start_in(dir.path(), &["--pending-delay", "0.2"]);
    let base = server.base.clone();
    let token = token(&client, &base).await;

    let accepted = Arc::new(Mutex::new(Vec::new()));
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..400 {
        let (client, base, token, accepted) = (client.clone(), base.clone(), token.clone(), accepted.clone());
        burst.spawn(async move {
            let id = uuid::Uuid::new_v4().to_string();
            if request_to_pay(&client, &base, &token, &id, None).await == Some(202) {
                accepted.lock().unwrap().push(id);
            }
        });
    }
    // Kill once part of the burst has been acknowledged.
    let deadline = Instant::now() + Duration::from_secs(20);
    while accepted.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "the burst made no progress");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    while burst.join_next().await.is_some() {}
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() >= 40);

    let server = Server::start_in(dir.path(), &["--pending-delay", "0.2"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for id in &accepted {
        let (code, body) = status(&client, &server.base, &token, id).await;
        assert_eq!(code, 200, "{id} got a 202 but is gone after the crash");
        assert_eq!(body["status"], "SUCCESSFUL", "{id}: {body}");
    }
    // The ledger balances: every account equals its postings and the total is zero.
    let accounts: Vec<Value> = client
        .get(format!("{}/_momo/admin/accounts", server.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total: f64 = accounts.iter().map(|a| a["balance"].as_str().unwrap().parse::<f64>().unwrap()).sum();
    assert!(total.abs() < 1e-9, "{accounts:?}");
    let collected: f64 = accounts
        .iter()
        .filter(|a| a["account"].as_str().unwrap().ends_with(":collection"))
        .map(|a| a["balance"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(collected >= 10.0 * accepted.len() as f64, "every acknowledged payment was booked");
}

/// An HTTP receiver on a thread, one request at a time: it accepts (200, recorded) the first
/// `accept_first` callbacks and then refuses (503) until `open` is set.
fn gated_receiver(accept_first: usize, open: Arc<std::sync::atomic::AtomicBool>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut reference = None;
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("x-momo-reference-id:") {
                    reference = Some(value.trim().to_owned());
                }
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let accept = open.load(std::sync::atomic::Ordering::SeqCst) || sink.lock().unwrap().len() < accept_first;
            if accept {
                let answered =
                    stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").is_ok();
                if let (Some(reference), true) = (reference, answered) {
                    sink.lock().unwrap().push(reference);
                }
            } else {
                let _ = stream
                    .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            }
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_due_when_the_server_is_killed_are_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let args = ["--pending-delay", "0", "--callback-timeout", "1"];
    let mut server = Server::start_in(dir.path(), &args);
    let token = token(&client, &server.base).await;
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (port, seen) = gated_receiver(5, open.clone());
    let callback = format!("http://127.0.0.1:{port}/cb");
    let mut ids = Vec::new();
    for _ in 0..30 {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(request_to_pay(&client, &server.base, &token, &id, Some(&callback)).await, Some(202));
        ids.push(id);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().unwrap().len() < 5 {
        assert!(Instant::now() < deadline, "no callback arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the others be tried and refused at least once, then kill in the middle of it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.kill();
    assert_eq!(seen.lock().unwrap().len(), 5, "only the first five were accepted before the crash");

    let _server = Server::start_in(dir.path(), &args);
    open.store(true, std::sync::atomic::Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut got = seen.lock().unwrap().clone();
        got.sort();
        got.dedup();
        if got.len() == ids.len() {
            ids.sort();
            assert_eq!(got, ids);
            break;
        }
        assert!(Instant::now() < deadline, "only {} of {} callbacks arrived after the restart", got.len(), ids.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
