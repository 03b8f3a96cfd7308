//! `--allowed-networks` and `--trusted-proxies`: clients outside the allowed networks get 403 on
//! `/ws` and `/api` (counted in `/metrics`); behind a trusted proxy the client is read from
//! `X-Forwarded-For`, and the header is worthless to anyone else.

use reqwest::StatusCode;

use crate::support::{Issuer, Relay};

async fn status(relay: &Relay, path: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut request = reqwest::Client::new().get(format!("{}{path}", relay.base));
    if let Some(xff) = forwarded_for {
        request = request.header("x-forwarded-for", xff);
    }
    request.send().await.unwrap().status()
}

#[tokio::test]
async fn clients_outside_the_allowed_networks_are_refused() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.allowed_networks = vec!["10.0.0.0/8".into()]).await;
    // The test client is 127.0.0.1, not in 10.0.0.0/8; a forged header does not help.
    assert_eq!(status(&relay, "/api/v1/caller-ids", None).await, StatusCode::FORBIDDEN);
    assert_eq!(status(&relay, "/api/v1/caller-ids", Some("10.1.2.3")).await, StatusCode::FORBIDDEN);
    let login = loadgen::client::Client::login(&relay.url, &issuer.token("aiko@example.com")).await;
    assert!(login.is_err(), "the WebSocket handshake is refused too");
    assert_eq!(status(&relay, "/healthz", None).await, StatusCode::OK, "health checks stay open");
    let metrics = relay.metrics().await;
    assert!(metrics.contains("sidecar_network_refusals_total 3"), "{metrics}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_decides() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| {
        c.allowed_networks = vec!["10.0.0.0/8".into()];
        c.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    // Allowed through: no token yet, so the API itself answers 401.
    assert_eq!(status(&relay, "/api/v1/caller-ids", Some("10.1.2.3")).await, StatusCode::UNAUTHORIZED);
    // The nearest untrusted hop is the client, whatever the leftmost entry claims.
    assert_eq!(status(&relay, "/api/v1/caller-ids", Some("10.1.2.3, 192.0.2.9")).await, StatusCode::FORBIDDEN);
    // No header: the proxy itself is the client, and it is not in the allowed networks.
    assert_eq!(status(&relay, "/api/v1/caller-ids", None).await, StatusCode::FORBIDDEN);
}

#[test]
fn bad_networks_stop_the_relay_from_starting() {
    let error = server::Config::load_from(["r", "--allowed-networks", "10.0.0.0/8,office"]).unwrap_err();
    assert!(error.to_string().contains("--allowed-networks"), "{error}");
}
