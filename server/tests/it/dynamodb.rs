//! The relay on DynamoDB (the `dynamodb` feature) against moto's server on loopback: the crash
//! run, two relays appending to one conversation at once, the store pausing mid-load, and the
//! security suite with every table compared before and after.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use loadgen::Client;
use loadgen::process::RelayProcess;
use protocol::{ClientFrame, ErrorCode, ServerFrame};
use store_dynamodb::local::LocalServer;

/// Static credentials a local server accepts; the relay reads them from its environment as it
/// would in AWS (the default chain).
const ENV: &[(&str, &str)] =
    &[("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"), ("AWS_REGION", "us-east-1")];

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"))
}

fn local_server() -> LocalServer {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
    LocalServer::start(root).expect("the local DynamoDB server")
}

/// The relay arguments for DynamoDB tables under `prefix` on `server`.
fn dynamo_args<'a>(server: &'a LocalServer, prefix: &'a str) -> Vec<&'a str> {
    vec![
        "--store",
        "dynamodb",
        "--dynamodb-endpoint",
        &server.endpoint,
        "--dynamodb-table-prefix",
        prefix,
        "--dynamodb-create-tables",
        "--dev-issuer",
        "--frames-per-second",
        "100000",
        "--principal-requests-per-second",
        "100000",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill_exactly_once_on_dynamodb() {
    let server = local_server();
    let dir = tempfile::tempdir().unwrap();
    let args = ["--store", "dynamodb", "--dynamodb-endpoint", &server.endpoint, "--dynamodb-create-tables"];
    let report =
        loadgen::crash::run_on(binary(), dir.path(), &args, ENV, 4, Duration::from_millis(1500)).await.unwrap();
    assert!(report.acked_before_kill > 20, "the storm was too small to prove anything: {report:?}");
    assert_eq!((report.lost, report.duplicated, report.gaps), (0, 0, 0), "{report:?}");
    assert_eq!(report.in_history, report.acked_before_kill + report.resent, "every message once: {report:?}");
    // Nothing was written to the SQLite directory: the data is in DynamoDB.
    assert!(!dir.path().join("relay.sqlite3").exists());
    println!("{report:?}");
}

async fn login(relay: &RelayProcess, email: &str) -> Client {
    let http = reqwest::Client::new();
    let token = loadgen::tokens::dev_token(&http, &relay.base, email, email, &[]).await.unwrap();
    Client::login(&relay.url, &token).await.unwrap().0
}

/// Sends `ids` to `to`, each acknowledged before the next, and sent again after a retryable
/// refusal as the extension's outbox does; the sequence numbers acknowledged.
async fn send_all(mut client: Client, to: &str, ids: Vec<String>) -> BTreeMap<String, u64> {
    let mut acked = BTreeMap::new();
    for client_id in ids {
        for attempt in 0.. {
            let text = format!("text of {client_id}");
            let to = to.to_owned();
            let cid = client_id.clone();
            match client.request(|id| ClientFrame::SendChat { id, to, client_id: cid, text }).await.unwrap() {
                ServerFrame::ChatAck { seq, .. } => {
                    acked.insert(client_id.clone(), seq);
                    break;
                }
                ServerFrame::Error { error, .. } if error.retryable && attempt < 5 => {
                    eprintln!("{client_id}: {error:?}, sending again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_set_of_tables_number_one_conversation_without_gaps_or_doubles() {
    let server = local_server();
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = dynamo_args(&server, "race-");
    let one = RelayProcess::start_with_env(binary(), one_dir.path(), &args, ENV, None).await.unwrap();
    let two = RelayProcess::start_with_env(binary(), two_dir.path(), &args, ENV, None).await.unwrap();
    let (a, b) = ("race-a@example.com", "race-b@example.com");
    const EACH: usize = 60;
    // A writes through relay one, B through relay two, at once, to each other; then A's messages
    // are sent again through relay two (a resend after a reconnect to another node).
    let a_ids: Vec<String> = (0..EACH).map(|i| format!("a{i}")).collect();
    let b_ids: Vec<String> = (0..EACH).map(|i| format!("b{i}")).collect();
    let (from_a, from_b) = tokio::join!(
        send_all(login(&one, a).await, b, a_ids.clone()),
        send_all(login(&two, b).await, a, b_ids.clone())
    );
    let again = send_all(login(&two, a).await, b, a_ids.clone()).await;
    assert_eq!(again, from_a, "a resend through the other relay is answered with the stored numbers");

    let mut reader = login(&one, a).await;
    let history = loadgen::crash::read_all(&mut reader, b).await.unwrap();
    let mut seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=2 * EACH as u64).collect::<Vec<_>>(), "1..N, no gap, no number twice");
    let mut stored: Vec<&str> = history.iter().map(|m| m.client_id.as_str()).collect();
    stored.sort_unstable();
    let mut sent: Vec<&str> = a_ids.iter().chain(&b_ids).map(String::as_str).collect();
    sent.sort_unstable();
    assert_eq!(stored, sent, "every message stored once");
    let acked: Vec<u64> = from_a.values().chain(from_b.values()).copied().collect();
    assert_eq!(acked.len(), 2 * EACH);
    one.terminate().unwrap();
    two.terminate().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_stops_answering_fails_requests_cleanly_and_the_relay_recovers() {
    let server = local_server();
    let dir = tempfile::tempdir().unwrap();
    let relay =
        RelayProcess::start_with_env(binary(), dir.path(), &dynamo_args(&server, "pause-"), ENV, None).await.unwrap();
    let http = reqwest::Client::new();
    let ready =
        || async { http.get(format!("{}/readyz", relay.base)).send().await.map(|r| r.status().as_u16()).unwrap_or(0) };
    let (a, b) = ("pause-a@example.com", "pause-b@example.com");
    let mut client = login(&relay, a).await;
    let before = send_all(login(&relay, a).await, b, vec!["before".into()]).await;
    assert_eq!(ready().await, 200);

    // The server stops answering (SIGSTOP keeps its data): the send is refused as unavailable
    // within the store's time limits, and readiness says so.
    server.pause();
    let started = std::time::Instant::now();
    let refused = client
        .request(|id| ClientFrame::SendChat { id, to: b.into(), client_id: "during".into(), text: "during".into() })
        .await
        .unwrap();
    assert_eq!(support_code(&refused), Some(ErrorCode::Unavailable), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "answered in bounded time: {:?}", started.elapsed());
    assert_eq!(ready().await, 503);

    // It answers again: the relay recovers without a restart, and the refused message, sent
    // again, is stored once after the one before.
    server.resume();
    let mut status = 0;
    for _ in 0..100 {
        status = ready().await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again");
    let after = send_all(client, b, vec!["during".into()]).await;
    let mut reader = login(&relay, b).await;
    let history = loadgen::crash::read_all(&mut reader, a).await.unwrap();
    let ids: Vec<&str> = history.iter().rev().map(|m| m.client_id.as_str()).collect();
    assert_eq!(ids, ["before", "during"], "nothing stored twice, nothing acknowledged missing");
    assert_eq!((before["before"], after["during"]), (1, 2));
    relay.terminate().unwrap();
}

fn support_code(frame: &ServerFrame) -> Option<ErrorCode> {
    match frame {
        ServerFrame::Error { error, .. } => Some(error.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_is_refused_and_changes_no_dynamodb_item() {
    let server = local_server();
    let config = store_dynamodb::DynamoConfig { table_prefix: "attacks-".into(), ..Default::default() };
    let store = std::sync::Arc::new(store_dynamodb::DynamoStore::with_sdk(&server.sdk_config().await, &config));
    store.create_tables().await.unwrap();
    let issuer = crate::support::Issuer::start().await;
    let relay = crate::support::Relay::start_on(&issuer, store.clone(), crate::security::hardened).await;
    crate::security::every_attack_refused(&issuer, &relay, || {
        let store = store.clone();
        async move {
            let rows = store.dump().await.unwrap();
            rows.into_iter()
                .filter(|r| !(r.starts_with("presence:") && r.contains(loadgen::attacks::MALLORY)))
                .collect()
        }
    })
    .await;
}
