//! The security suite: every attack of `loadgen::attacks` against one relay. Each must be
//! refused, the relay must stay up and keep serving the people attacked, no stored row may
//! change, and every refusal must be counted in `/metrics`. On SQLite here, and on DynamoDB in
//! `dynamodb.rs` (every item of every table compared).

use std::future::Future;

use loadgen::attacks::{self, AIKO, StoreSnapshot, Target};
use protocol::ErrorCode;
use server::Config;

use crate::support::{AUDIENCE, Issuer, Relay};

const ORIGIN: &str = "chrome-extension://goibjmhfiabeppgigcbjfjgoghionflh";

/// The relay settings the attacks run against.
pub fn hardened(c: &mut Config) {
    c.allowed_origins = vec![ORIGIN.into()];
    c.presence_grace_ms = 200;
    // The attacks connect as one principal many times in a few seconds.
    c.principal_connects_per_second = 5;
}

#[tokio::test]
async fn every_attack_is_refused_and_changes_nothing_stored() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, hardened).await;
    let data = relay.data.clone();
    every_attack_refused(&issuer, &relay, || {
        let data = data.clone();
        async move { StoreSnapshot::read(&data).unwrap().0 }
    })
    .await;
}

/// Runs every attack against `relay` and checks the outcome; `snapshot` reads every stored row
/// (leaving out the attacker's own presence: connecting does change it).
pub async fn every_attack_refused<F, S>(issuer: &Issuer, relay: &Relay, snapshot: S)
where
    S: Fn() -> F,
    F: Future<Output = Vec<String>>,
{
    let target = Target {
        ws: relay.url.clone(),
        base: relay.base.clone(),
        origin: ORIGIN.into(),
        issuer: issuer.dev.clone(),
        issuer_url: issuer.url.clone(),
        audience: AUDIENCE.into(),
        max_frame_bytes: 16 * 1024,
        max_connections: 8,
    };
    attacks::seed(&target).await.unwrap();
    // The victims' presence turns Offline after the grace period and is stored: let it settle.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let before = snapshot().await;
    assert!(before.iter().any(|row| row.contains("the quarterly numbers")), "seeded: {before:?}");

    let outcomes = attacks::run_all(&target).await;
    for o in &outcomes {
        eprintln!("{} {}: {}", if o.refused { "refused" } else { "NOT REFUSED" }, o.name, o.detail);
    }
    let failed: Vec<String> =
        outcomes.iter().filter(|o| !o.refused).map(|o| format!("{}: {}", o.name, o.detail)).collect();
    assert!(failed.is_empty(), "attacks that were not refused:\n{}", failed.join("\n"));
    assert!(outcomes.len() >= 30, "{} attacks", outcomes.len());

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(snapshot().await, before, "stored data changed");
    // Still up, and the people attacked are served as before.
    let mut aiko = target.login(AIKO).await.unwrap();
    let pong = aiko.request(|id| protocol::ClientFrame::Ping { id }).await.unwrap();
    assert!(matches!(pong, protocol::ServerFrame::Pong { .. }));

    let metrics = relay.metrics().await;
    let count = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} missing from\n{metrics}"))
    };
    assert!(count("sidecar_auth_failures_total ") >= 12, "{metrics}");
    assert!(count("sidecar_ticket_refusals_total ") >= 2, "{metrics}");
    assert!(count("sidecar_origin_refusals_total ") >= 2, "{metrics}");
    assert!(count("sidecar_oversized_frames_total ") >= 1, "{metrics}");
    assert!(count("sidecar_connections_replaced_total ") >= 1, "{metrics}");
    assert!(count("sidecar_rate_closes_total ") >= 2, "the flood and the reconnect storm: {metrics}");
    for code in [
        ErrorCode::Unauthenticated,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::IdentityMismatch,
        ErrorCode::BadFrame,
        ErrorCode::TooLarge,
        ErrorCode::RateLimited,
        ErrorCode::ProtocolViolation,
    ] {
        let line = format!("sidecar_errors_total{{code=\"{}\"}} ", code.as_str());
        assert!(count(&line) >= 1, "{line} not counted:\n{metrics}");
    }
}
