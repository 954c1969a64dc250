//! The baseline: plain hyper answering the statuses and body sizes openmomo answers, doing no
//! work, so that a ratio to it says what openmomo's own work costs on this machine. It runs in its
//! own process (`momo-bench baseline`, started by the run) so that its memory and CPU are its own.

use clap::Args;
use http_body_util::Full;
use hyper::body::Bytes;
use tokio::net::TcpListener;

use crate::output::Failure;

#[derive(Debug, Args)]
pub(crate) struct BaselineArgs {
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: std::net::SocketAddr,
    /// Size of the body of a GET (a status body).
    #[arg(long)]
    status_bytes: usize,
    /// Size of the body of a token answer.
    #[arg(long)]
    token_bytes: usize,
}

/// Listen, say where on stdout's first line (the run reads it), and answer until killed.
pub(crate) async fn run(args: BaselineArgs) -> Result<(), Failure> {
    let listener = TcpListener::bind(args.bind).await.map_err(|e| Failure::new(3, e.to_string(), ""))?;
    let address = listener.local_addr().map_err(|e| Failure::new(3, e.to_string(), ""))?;
    println!("baseline on http://{address}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    serve(listener, args.status_bytes, args.token_bytes).await
}

/// GET: 200 with `status_bytes`; POST to a path ending in `/token/`: 200 with `token_bytes`;
/// any other request: 202 and no body.
async fn serve(listener: TcpListener, status_bytes: usize, token_bytes: usize) -> Result<(), Failure> {
    let status_body = status_body(status_bytes);
    let token_body = Bytes::from(vec![b'x'; token_bytes]);
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let (status_body, token_body) = (status_body.clone(), token_body.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (status, body) = match (request.method(), request.uri().path().ends_with("/token/")) {
                    (&hyper::Method::GET, _) => (200, status_body.clone()),
                    (&hyper::Method::POST, true) => (200, token_body.clone()),
                    _ => (202, Bytes::new()),
                };
                async move {
                    // Read the body as a server must, then answer.
                    let _ = http_body_util::BodyExt::collect(request.into_body()).await;
                    hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(body))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A status body of `size` bytes that begins with SUCCESSFUL: the end-to-end scenario counts a
/// poll whose answer lacks the word as an error, as it would against openmomo.
fn status_body(size: usize) -> Bytes {
    let mut body = b"SUCCESSFUL".to_vec();
    body.resize(size, b'x');
    Bytes::from(body)
}

/// A baseline in this process, for tests: its base URL.
#[cfg(test)]
pub(crate) async fn spawn(status_bytes: usize, token_bytes: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base = format!("http://{}", listener.local_addr().expect("a bound address"));
    tokio::spawn(serve(listener, status_bytes, token_bytes));
    base
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn answers_the_statuses_and_body_sizes_it_was_given() {
        let base = super::spawn(123, 45).await;
        let http = reqwest::Client::new();

        let status = http.get(format!("{base}/collection/v1_0/requesttopay/x")).send().await.unwrap();
        assert_eq!(status.status(), 200);
        assert_eq!(status.headers()["content-type"], "application/json");
        let status_body = status.bytes().await.unwrap();
        assert_eq!(status_body.len(), 123);
        assert!(status_body.starts_with(b"SUCCESSFUL"), "the end-to-end poll's check passes");

        let token = http.post(format!("{base}/collection/token/")).send().await.unwrap();
        assert_eq!(token.status(), 200);
        assert_eq!(token.bytes().await.unwrap().len(), 45);

        let write = http.post(format!("{base}/collection/v1_0/requesttopay")).body("{}").send().await.unwrap();
        assert_eq!(write.status(), 202);
        assert!(write.bytes().await.unwrap().is_empty());
    }
}
