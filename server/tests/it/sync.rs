//! The relay binary built with the `connect` feature, syncing its directory from the local fake
//! of the Connect API through the real AWS SDK (credentials from the environment, as in AWS):
//! caller IDs served from Connect's data, failures that keep the last good directory, and a
//! restarted relay serving the stored directory while Connect is still failing.

use std::process::Stdio;
use std::time::Duration;

use connect_fake::{Behaviour, FakeConnect, INSTANCE_ID, Shape};
use protocol::CallerIds;
use tokio::process::{Child, Command};

use crate::support::{AUDIENCE, Issuer};

struct Binary {
    child: Child,
    base: String,
}

async fn start(issuer: &Issuer, fake: &FakeConnect, data: &std::path::Path) -> Binary {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir", data.to_str().unwrap()])
        .args(["--oidc-issuer", &issuer.url, "--oidc-audience", AUDIENCE])
        .args(["--connect-instance-id", INSTANCE_ID, "--connect-endpoint", &fake.url])
        .args(["--connect-region", "ap-northeast-1", "--connect-sync-interval-s", "1"])
        .args(["--connect-rate", "50", "--connect-burst", "10"])
        .env("AWS_ACCESS_KEY_ID", "AKIDFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the relay binary starts");
    let base = format!("http://127.0.0.1:{port}");
    wait_for(|| async { reqwest::get(format!("{base}/readyz")).await.is_ok_and(|r| r.status().is_success()) }).await;
    Binary { child, base }
}

async fn wait_for<F: std::future::Future<Output = bool>>(check: impl Fn() -> F) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out");
}

async fn text(url: String) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

async fn caller_ids(base: &str, token: &str) -> CallerIds {
    let response = reqwest::Client::new().get(format!("{base}/api/v1/caller-ids")).bearer_auth(token).send().await;
    response.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_relay_serves_connects_caller_ids_and_keeps_them_through_failures() {
    let issuer = Issuer::start().await;
    let fake = FakeConnect::start(Shape::small(), Behaviour { quota: Some((50.0, 10)), ..Behaviour::default() })
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut relay = start(&issuer, &fake, data.path()).await;
    let base = relay.base.clone();
    wait_for(|| async { text(format!("{base}/readyz")).await.contains("directory_age_s") }).await;

    // agent00001 is in routing profile rp-0001 (queues 3, 4, 5; queue 3 has no caller ID).
    let token = issuer.token("agent00001@example.com");
    let synced = caller_ids(&relay.base, &token).await;
    let numbers: Vec<_> = synced.caller_ids.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, ["+81351000001", "+81351000000"]);
    assert!(synced.synced_at.is_some());
    let metrics = text(format!("{base}/metrics")).await;
    assert!(metrics.contains("sidecar_directory_age_seconds"), "{metrics}");

    // Connect starts refusing: the failure is counted and the last good directory served.
    fake.set_behaviour(Behaviour { broken_operation: Some("SearchUsers"), ..Behaviour::default() });
    wait_for(|| async { !text(format!("{base}/metrics")).await.contains("sidecar_directory_sync_failures_total 0") })
        .await;
    assert_eq!(caller_ids(&relay.base, &token).await.caller_ids, synced.caller_ids);

    // A relay started while Connect is down serves the stored directory.
    relay.child.kill().await.unwrap();
    let relay = start(&issuer, &fake, data.path()).await;
    let stored = caller_ids(&relay.base, &token).await;
    assert_eq!(stored.caller_ids, synced.caller_ids);
    assert_eq!(stored.synced_at, synced.synced_at, "the age of what is served, not of the restart");
}
