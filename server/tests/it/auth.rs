//! Authentication: every way a token can be wrong, Origin checks, the handshake, expiry and
//! reauth, key rotation at the issuer, and the development issuer.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use loadgen::Client;
use protocol::{ClientFrame, CloseCode, ErrorCode, ServerFrame};
use serde_json::json;
use server::auth::DevIssuer;
use server::clock::Clock;

use crate::support::{Issuer, Relay, error_code, now_ms};

/// Sends `hello` with `token`; returns the error code and the close code.
async fn refused(relay: &Relay, token: &str) -> (ErrorCode, u16) {
    let mut client = Client::connect(&relay.url, None).await.unwrap();
    let first = client.hello(token).await.unwrap();
    let (code, _) = client.closed().await.unwrap();
    (error_code(&first), code)
}

#[tokio::test]
async fn a_valid_token_names_the_principal_and_supervisors_are_recognised() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let (_, welcome) = Client::login(&relay.url, &issuer.token("aiko@example.com")).await.unwrap();
    let ServerFrame::Welcome { principal, display_name, supervisor, roster, limits, .. } = welcome else {
        panic!("{welcome:?}")
    };
    assert_eq!((principal.as_str(), display_name.as_str(), supervisor), ("aiko@example.com", "Aiko", false));
    assert_eq!(roster, "all");
    assert_eq!(limits.max_page, 100);
    let (_, welcome) = Client::login(&relay.url, &issuer.supervisor_token("sam@example.com")).await.unwrap();
    assert!(matches!(welcome, ServerFrame::Welcome { supervisor: true, .. }), "{welcome:?}");
}

#[tokio::test]
async fn bad_tokens_are_refused_with_a_reason_and_a_do_not_reconnect_code() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let now = now_ms() / 1000;
    let stranger = DevIssuer::new(issuer.url.clone());
    let good = issuer.token("aiko@example.com");
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
    payload["email"] = json!("boss@example.com");
    parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
    let tampered = parts.join(".");
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", good.split('.').nth(1).unwrap());
    let hs256_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let alg_hs256 = format!("{hs256_header}.{}.c2ln", good.split('.').nth(1).unwrap());

    let cases = [
        ("expired", issuer.token_with("a@x", |c| c["exp"] = json!(now - 120)), ErrorCode::TokenExpired, 4001),
        ("not yet valid", issuer.token_with("a@x", |c| c["nbf"] = json!(now + 600)), ErrorCode::Unauthenticated, 4100),
        (
            "issued in the future",
            issuer.token_with("a@x", |c| c["iat"] = json!(now + 300)),
            ErrorCode::Unauthenticated,
            4100,
        ),
        (
            "issued in the future, with a fraction",
            issuer.token_with("a@x", |c| c["iat"] = json!(now as f64 + 300.5)),
            ErrorCode::Unauthenticated,
            4100,
        ),
        (
            "wrong issuer",
            issuer.token_with("a@x", |c| c["iss"] = json!("https://evil.example")),
            ErrorCode::Unauthenticated,
            4100,
        ),
        (
            "wrong audience",
            issuer.token_with("a@x", |c| c["aud"] = json!("someone-else")),
            ErrorCode::Unauthenticated,
            4100,
        ),
        ("wrong key", stranger.sign(&issuer.claims("a@x")), ErrorCode::Unauthenticated, 4100),
        ("tampered", tampered, ErrorCode::Unauthenticated, 4100),
        ("alg none", alg_none, ErrorCode::Unauthenticated, 4100),
        ("alg HS256", alg_hs256, ErrorCode::Unauthenticated, 4100),
        ("no identity claim", issuer.token_with("a@x", |c| c["email"] = json!(null)), ErrorCode::Unauthenticated, 4100),
        ("no exp", issuer.token_with("a@x", |c| c["exp"] = json!(null)), ErrorCode::Unauthenticated, 4100),
        ("garbage", "not.a.token".to_owned(), ErrorCode::Unauthenticated, 4100),
        ("empty", String::new(), ErrorCode::Unauthenticated, 4100),
    ];
    for (name, token, code, close) in cases {
        assert_eq!(refused(&relay, &token).await, (code, close), "{name}");
    }
    let metrics = relay.metrics().await;
    assert!(metrics.contains("sidecar_auth_failures_total 14"), "{metrics}");
    assert!(metrics.contains("sidecar_connections 0"), "{metrics}");
}

#[tokio::test]
async fn the_relay_follows_key_rotation_at_the_issuer() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    relay.login(&issuer.token("aiko@example.com")).await;
    let old = issuer.token("aiko@example.com");
    issuer.dev.rotate(true);
    // A token signed with the new key names a key id the relay has not seen: it fetches the
    // JWKS again and accepts it.
    relay.login(&issuer.token("aiko@example.com")).await;
    // The retired key is gone from the issuer's JWKS and from the relay's cache.
    assert_eq!(refused(&relay, &old).await, (ErrorCode::Unauthenticated, 4100));
    let metrics = relay.metrics().await;
    assert!(metrics.contains("sidecar_jwks_fetches_total 2"), "{metrics}");
}

#[tokio::test]
async fn a_key_retired_at_the_issuer_stops_working_without_a_new_key_id_to_trigger_a_fetch() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.jwks_ttl_s = 2).await;
    let token = issuer.token("aiko@example.com");
    relay.login(&token).await;
    // The issuer retires the key; no token names the new one. The background refresh alone
    // must notice, within one TTL, and the remembered token must be verified again.
    issuer.dev.rotate(true);
    let started = std::time::Instant::now();
    loop {
        let mut client = Client::connect(&relay.url, None).await.unwrap();
        match client.hello(&token).await.unwrap() {
            ServerFrame::Welcome { .. } => {
                assert!(started.elapsed() < Duration::from_secs(4), "the retired key is still trusted");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            refusal => {
                assert_eq!(error_code(&refusal), ErrorCode::Unauthenticated);
                break;
            }
        }
    }
}

#[tokio::test]
async fn made_up_key_ids_do_not_make_the_relay_hammer_the_issuer() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    relay.login(&issuer.token("aiko@example.com")).await;
    for _ in 0..5 {
        let stranger = DevIssuer::new(issuer.url.clone());
        refused(&relay, &stranger.sign(&issuer.claims("a@x"))).await;
    }
    let metrics = relay.metrics().await;
    // The first fetch filled the cache; made-up key ids caused one more, not five.
    assert!(metrics.contains("sidecar_jwks_fetches_total 2"), "one refetch within the cooldown: {metrics}");
}

#[tokio::test]
async fn only_configured_origins_may_connect() {
    let issuer = Issuer::start().await;
    let allowed = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    let relay = Relay::start(&issuer, |c| c.allowed_origins = vec![allowed.into()]).await;
    let token = issuer.token("aiko@example.com");

    let mut foreign = Client::connect(&relay.url, Some("https://evil.example")).await.unwrap();
    assert_eq!(error_code(&foreign.frame().await.unwrap()), ErrorCode::Forbidden);
    assert_eq!(foreign.closed().await.unwrap().0, CloseCode::ForbiddenOrigin.code());

    let mut extension = Client::connect(&relay.url, Some(allowed)).await.unwrap();
    assert!(matches!(extension.hello(&token).await.unwrap(), ServerFrame::Welcome { .. }));
    let mut tool = Client::connect(&relay.url, None).await.unwrap();
    assert!(matches!(tool.hello(&token).await.unwrap(), ServerFrame::Welcome { .. }));
    assert!(relay.metrics().await.contains("sidecar_origin_refusals_total 1"));
}

#[tokio::test]
async fn the_handshake_must_be_a_timely_hello_in_our_protocol() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.hello_timeout_ms = 300).await;

    let mut silent = Client::connect(&relay.url, None).await.unwrap();
    assert_eq!(error_code(&silent.frame().await.unwrap()), ErrorCode::ProtocolViolation);
    assert_eq!(silent.closed().await.unwrap().0, CloseCode::ProtocolViolation.code());

    // WebSocket pings do not stretch the handshake's deadline.
    let mut stalling = Client::connect(&relay.url, None).await.unwrap();
    let started = std::time::Instant::now();
    let code = loop {
        stalling.send_ws_ping().await.ok();
        match tokio::time::timeout(Duration::from_millis(100), stalling.next()).await {
            Ok(Ok(loadgen::Event::Closed(code, _))) => break code,
            _ => assert!(started.elapsed() < Duration::from_secs(5), "never closed"),
        }
    };
    assert_eq!(code, CloseCode::ProtocolViolation.code());

    let mut pinger = Client::connect(&relay.url, None).await.unwrap();
    pinger.send(&ClientFrame::Ping { id: 1 }).await.unwrap();
    assert_eq!(error_code(&pinger.frame().await.unwrap()), ErrorCode::ProtocolViolation);
    assert_eq!(pinger.closed().await.unwrap().0, CloseCode::ProtocolViolation.code());

    let mut future = Client::connect(&relay.url, None).await.unwrap();
    let hello = json!({"type": "hello", "protocol": 99, "token": issuer.token("a@x")});
    future.send_raw(hello.to_string()).await.unwrap();
    assert_eq!(error_code(&future.frame().await.unwrap()), ErrorCode::UnsupportedProtocol);
    assert_eq!(future.closed().await.unwrap().0, CloseCode::UnsupportedProtocol.code());

    let mut garbage = Client::connect(&relay.url, None).await.unwrap();
    garbage.send_raw("{\"type\": \"hello\"".into()).await.unwrap();
    assert_eq!(error_code(&garbage.frame().await.unwrap()), ErrorCode::BadFrame);
    assert_eq!(garbage.closed().await.unwrap().0, CloseCode::ProtocolViolation.code());
}

#[tokio::test]
async fn an_expiring_token_closes_the_connection_unless_renewed() {
    let issuer = Issuer::start().await;
    let clock = Clock::manual(now_ms());
    let relay = Relay::start_clocked(&issuer, &clock, |_| {}).await;
    // Expired 27 s ago: still inside the relay's 30 s clock-skew leeway, so it is accepted and
    // the connection lasts 3 s more, by the relay's clock.
    let short = |email: &str| issuer.token_with(email, |c| c["exp"] = json!(now_ms() / 1000 - 27));

    let mut lapsing = relay.login(&short("aiko@example.com")).await;
    let mut renewing = relay.login(&short("ben@example.com")).await;
    let fresh = issuer.token("ben@example.com");
    let ok = renewing.request(|id| ClientFrame::Reauth { id, token: fresh }).await.unwrap();
    assert!(matches!(ok, ServerFrame::Ok { .. }), "{ok:?}");

    let started = std::time::Instant::now();
    clock.advance(4_000);
    assert_eq!(error_code(&lapsing.frame().await.unwrap()), ErrorCode::TokenExpired);
    assert_eq!(lapsing.closed().await.unwrap().0, CloseCode::TokenExpired.code());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(1), "the expiry follows the relay's clock, not a real 3 s");

    let pong = renewing.request(|id| ClientFrame::Ping { id }).await.unwrap();
    assert!(matches!(pong, ServerFrame::Pong { .. }), "still open after the first token expired");

    let other = issuer.token("mallory@example.com");
    let refusal = renewing.request(|id| ClientFrame::Reauth { id, token: other }).await.unwrap();
    assert_eq!(error_code(&refusal), ErrorCode::Forbidden, "reauth cannot switch principal");
    assert_eq!(renewing.closed().await.unwrap().0, CloseCode::Unauthenticated.code());
}

#[tokio::test]
async fn the_development_issuer_is_served_only_when_enabled() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.dev_issuer = true).await;
    let http = reqwest::Client::new();
    let token =
        loadgen::tokens::dev_token(&http, &relay.base, "demo@example.com", "デモ", &["supervisors"]).await.unwrap();
    let (_, welcome) = Client::login(&relay.url, &token).await.unwrap();
    assert!(
        matches!(&welcome, ServerFrame::Welcome { display_name, supervisor: true, .. } if display_name == "デモ"),
        "{welcome:?}"
    );
    let discovery: serde_json::Value = http
        .get(format!("{}/dev/oidc/.well-known/openid-configuration", relay.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], format!("{}/dev/oidc", relay.base));

    for bad in [json!({"name": "no email"}), json!({"email": ""})] {
        let response = http.post(format!("{}/dev/oidc/token", relay.base)).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        let body: protocol::ErrorBody = response.json().await.unwrap();
        assert_eq!(body.code, ErrorCode::Invalid, "{bad}");
    }

    let plain = Relay::start(&issuer, |_| {}).await;
    let status =
        http.post(format!("{}/dev/oidc/token", plain.base)).json(&json!({"email": "x"})).send().await.unwrap().status();
    assert_eq!(status, 404);
    // A relay without the dev issuer refuses tokens from another relay's dev issuer.
    assert_eq!(refused(&plain, &token).await, (ErrorCode::Unauthenticated, 4100));
}

/// An issuer with an RSA key (RS256), made with the openssl command line, serving discovery and
/// its JWKS like any provider.
async fn rsa_issuer() -> (String, jsonwebtoken::EncodingKey, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("rsa.pem");
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&pem)
        .status()
        .expect("openssl is installed");
    assert!(status.success());
    let modulus =
        std::process::Command::new("openssl").args(["rsa", "-noout", "-modulus", "-in"]).arg(&pem).output().unwrap();
    let hex = String::from_utf8(modulus.stdout).unwrap().trim().trim_start_matches("Modulus=").to_owned();
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "rsa-1",
                     "n": URL_SAFE_NO_PAD.encode(&bytes), "e": "AQAB"});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": url, "jwks_uri": format!("{url}/keys")});
    let router = axum::Router::new()
        .route("/.well-known/openid-configuration", axum::routing::get(move || async move { axum::Json(discovery) }))
        .route("/keys", axum::routing::get(move || async move { axum::Json(json!({"keys": [jwk]})) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&std::fs::read(&pem).unwrap()).unwrap();
    (url, key, dir)
}

#[tokio::test]
async fn rs256_tokens_from_an_rsa_issuer_are_accepted() {
    let issuer = Issuer::start().await;
    let (url, key, _dir) = rsa_issuer().await;
    let relay = Relay::start(&issuer, |c| c.oidc_issuer = Some(url.clone())).await;
    let now = now_ms() / 1000;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("rsa-1".into());
    let claims = json!({"iss": url, "aud": crate::support::AUDIENCE, "email": "rsa@example.com", "exp": now + 600});
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let (_, welcome) = Client::login(&relay.url, &token).await.unwrap();
    assert!(
        matches!(&welcome, ServerFrame::Welcome { principal, .. } if principal == "rsa@example.com"),
        "{welcome:?}"
    );
    // The same claims signed with ES256 under the RSA key's id are refused (algorithm mismatch).
    let mut es = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    es.kid = Some("rsa-1".into());
    let forged = issuer.dev.sign(&claims);
    let forged =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(serde_json::to_vec(&es).unwrap()), forged.split_once('.').unwrap().1);
    assert_eq!(refused(&relay, &forged).await, (ErrorCode::Unauthenticated, 4100));
}
