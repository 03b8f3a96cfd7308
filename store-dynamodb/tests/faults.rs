//! Throttling and server errors, between the store and a real DynamoDB-compatible server: a
//! proxy on loopback answers the first attempts with DynamoDB's throttling error (or a 500) and
//! forwards the rest. The SDK's retries carry a request through; a server that keeps refusing
//! is `Unavailable` within the store's time limit, and nothing is stored twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use store_core::{NewMessage, Store, StoreError};
use store_dynamodb::local::LocalServer;
use store_dynamodb::{DynamoConfig, DynamoStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// What the proxy answers instead of forwarding.
#[derive(Clone, Copy)]
enum Refusal {
    Throttled,
    ServerError,
}

struct Proxy {
    endpoint: String,
    /// Requests seen, refused or forwarded.
    seen: Arc<AtomicUsize>,
    /// Requests still to refuse (`usize::MAX`: all).
    refuse: Arc<AtomicUsize>,
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body), or `None` at the end.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut byte = [0_u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buffer.push(byte[0]);
    }
    let head = String::from_utf8(buffer).ok()?;
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
        .collect();
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((path, headers, body))
}

async fn write_response(stream: &mut TcpStream, status: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await
}

impl Proxy {
    async fn start(upstream: String, refusal: Refusal, refuse: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (seen, left) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(refuse)));
        let (counted, to_refuse) = (seen.clone(), left.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let (http, upstream, counted, to_refuse) =
                    (http.clone(), upstream.clone(), counted.clone(), to_refuse.clone());
                tokio::spawn(async move {
                    while let Some((path, headers, body)) = read_request(&mut stream).await {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let refused =
                            to_refuse.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
                        let written = match (refused, refusal) {
                            (true, Refusal::Throttled) => {
                                let body = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#;
                                write_response(&mut stream, "400 Bad Request", body).await
                            }
                            (true, Refusal::ServerError) => {
                                let body =
                                    br#"{"__type":"com.amazon.coral.service#InternalFailure","message":"try again"}"#;
                                write_response(&mut stream, "500 Internal Server Error", body).await
                            }
                            (false, _) => {
                                let mut request = http.post(format!("{upstream}{path}")).body(body);
                                for (name, value) in
                                    headers.iter().filter(|(k, _)| k != "host" && k != "content-length")
                                {
                                    request = request.header(name, value);
                                }
                                let answer = request.send().await.unwrap();
                                let status = answer.status();
                                let bytes = answer.bytes().await.unwrap();
                                write_response(
                                    &mut stream,
                                    &format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
                                    &bytes,
                                )
                                .await
                            }
                        };
                        if written.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { endpoint, seen, refuse: left }
    }
}

async fn store_behind(proxy: &Proxy, server: &LocalServer, prefix: &str) -> DynamoStore {
    // The tables are made directly on the server, then the store talks through the proxy.
    let config = DynamoConfig { table_prefix: prefix.into(), ..DynamoConfig::default() };
    DynamoStore::with_sdk(&server.sdk_config().await, &config).create_tables().await.unwrap();
    let through = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "local"),
        ))
        .endpoint_url(&proxy.endpoint)
        .build();
    DynamoStore::with_sdk(&through, &config)
}

fn message(client_id: &str) -> NewMessage {
    NewMessage { from: "a@x".into(), to: "b@x".into(), client_id: client_id.into(), text: "hi".into(), sent_at: 1 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_server_errors_are_retried_with_backoff_and_stored_once() {
    let server = LocalServer::start(&root()).expect("the local DynamoDB server");
    for (refusal, prefix) in [(Refusal::Throttled, "throttled-"), (Refusal::ServerError, "errors-")] {
        let proxy = Proxy::start(server.endpoint.clone(), refusal, 0).await;
        let store = store_behind(&proxy, &server, prefix).await;
        // Two refusals of the next request: the SDK's third attempt stores the message.
        proxy.refuse.store(2, Ordering::SeqCst);
        let before = proxy.seen.load(Ordering::SeqCst);
        let appended = store.append_message(message("m1")).await.expect("stored after retries");
        assert_eq!(appended.message.seq, 1);
        assert!(proxy.seen.load(Ordering::SeqCst) - before >= 3, "retried");
        let again = store.append_message(message("m1")).await.unwrap();
        assert!(again.duplicate, "a resend of the retried message is the stored one");
        assert_eq!(store.messages_after("a@x", "b@x", 0, 10).await.unwrap().len(), 1, "stored once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_throttling_is_unavailable_in_bounded_time_and_nothing_is_stored() {
    let server = LocalServer::start(&root()).expect("the local DynamoDB server");
    let proxy = Proxy::start(server.endpoint.clone(), Refusal::Throttled, 0).await;
    let store = store_behind(&proxy, &server, "refusing-").await;
    proxy.refuse.store(usize::MAX, Ordering::SeqCst);
    let before = proxy.seen.load(Ordering::SeqCst);
    let started = Instant::now();
    let refused = store.append_message(message("lost?")).await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded: {:?}", started.elapsed());
    let attempts = proxy.seen.load(Ordering::SeqCst) - before;
    assert!((2..=4).contains(&attempts), "retried within the SDK's 4 attempts and 5 s: {attempts}");
    proxy.refuse.store(0, Ordering::SeqCst);
    assert!(
        store.messages_after("a@x", "b@x", 0, 10).await.unwrap().is_empty(),
        "nothing acknowledged, nothing stored"
    );
}
