//! The security suite's attacks: every way a client might try to get what is not theirs or to
//! break the relay, each run against a live relay and judged by what it got back.
//!
//! An attack is *refused* when the relay answered with the refusal the protocol promises (an
//! error frame with the right code, a close code, an HTTP status) and handed over nothing that
//! belongs to someone else. The suite also proves that the relay is still up and serving the
//! victims afterwards, and (with [`StoreSnapshot`]) that no stored data changed. The relay's
//! integration test (`server/tests/it/security.rs`) and `cargo xtask bench security` both run
//! this one catalogue.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::{
    AgentState, CallEvent, CallPhase, ClientFrame, CloseCode, Cursor, ErrorCode, PROTOCOL_VERSION, ServerFrame,
    StateKind, WsTicket,
};
use serde_json::{Value, json};
use server::auth::DevIssuer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use server::clock::now_ms;

use crate::{Client, Event};

/// The two people whose data the attacker goes after, and the attacker.
pub const AIKO: &str = "aiko@example.com";
pub const BEN: &str = "ben@example.com";
pub const MALLORY: &str = "mallory@example.com";
const SECRET: &str = "the quarterly numbers are 42";

/// A relay under attack and the issuer it trusts (whose key the suite can sign with, as the
/// real provider would for a legitimate user).
#[derive(Clone)]
pub struct Target {
    /// `ws://host:port/ws`
    pub ws: String,
    /// `http://host:port`
    pub base: String,
    /// The extension origin the relay allows.
    pub origin: String,
    pub issuer: Arc<DevIssuer>,
    pub issuer_url: String,
    pub audience: String,
    /// `--max-frame-bytes` and `--max-connections-per-principal` of the relay.
    pub max_frame_bytes: usize,
    pub max_connections: usize,
}

/// One attack's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub refused: bool,
    /// What the relay answered, for the report.
    pub detail: String,
}

impl Target {
    pub fn claims(&self, email: &str) -> Value {
        let now = now_ms() / 1000;
        json!({"iss": self.issuer_url, "aud": self.audience, "sub": email.bytes().map(|b| format!("{b:02x}")).collect::<String>(), "email": email,
               "name": email.split('@').next().unwrap_or(email), "groups": [],
               "iat": now, "nbf": now, "exp": now + 3600})
    }

    pub fn token(&self, email: &str) -> String {
        self.issuer.sign(&self.claims(email))
    }

    fn token_with(&self, email: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims(email);
        edit(&mut claims);
        self.issuer.sign(&claims)
    }

    pub async fn login(&self, email: &str) -> anyhow::Result<Client> {
        let mut client = Client::connect(&self.ws, Some(&self.origin)).await?;
        match client.hello(&self.token(email)).await? {
            ServerFrame::Welcome { .. } => Ok(client),
            other => bail!("{email} could not log in: {other:?}"),
        }
    }

    fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }
}

/// Gives the victims something worth stealing: a conversation between aiko and ben, read
/// markers, presence and a call in aiko's history.
pub async fn seed(t: &Target) -> anyhow::Result<()> {
    let mut aiko = t.login(AIKO).await?;
    let mut ben = t.login(BEN).await?;
    let ack = aiko
        .request(|id| ClientFrame::SendChat { id, to: BEN.into(), client_id: "seed-1".into(), text: SECRET.into() })
        .await?;
    if !matches!(ack, ServerFrame::ChatAck { .. }) {
        bail!("seeding chat: {ack:?}");
    }
    ben.request(|id| ClientFrame::MarkRead { id, peer: AIKO.into(), seq: 1 }).await?;
    let call = CallEvent {
        contact_id: "contact-aiko-1".into(),
        number: "+81312345678".into(),
        queue_arn: None,
        phase: CallPhase::Dialling,
        at: now_ms(),
    };
    let reported = aiko.request(|id| ClientFrame::ReportCall { id, call }).await?;
    if !matches!(reported, ServerFrame::Ok { .. }) {
        bail!("seeding a call: {reported:?}");
    }
    for client in [&mut aiko, &mut ben] {
        let state = AgentState { name: "Available".into(), kind: StateKind::Routable };
        client
            .request(|id| ClientFrame::SetPresence {
                id,
                state,
                since: now_ms() - 1000,
                contact: None,
                username: None,
                contact_id: None,
            })
            .await?;
    }
    aiko.close().await;
    ben.close().await;
    Ok(())
}

/// Every attack, in order. None of them is expected to succeed.
pub async fn run_all(t: &Target) -> Vec<Outcome> {
    let mut out = Vec::new();
    for (name, token, code, close) in bad_tokens(t) {
        out.push(judge(name, hello_refused(t, &token, Some(&t.origin), code, close).await));
    }
    out.push(judge("valid token from a foreign origin", foreign_origin(t).await));
    out.push(judge("REST call from a foreign origin", rest_foreign_origin(t).await));
    out.push(judge("REST call without or with a forged bearer token", rest_bad_tokens(t).await));
    out.push(judge("hello without a token or ticket", hello_without_credentials(t).await));
    out.push(judge("replayed WebSocket ticket", replayed_ticket(t).await));
    out.push(judge("made-up WebSocket ticket", made_up_ticket(t).await));
    out.push(judge("chat sent as another principal", send_as_another(t).await));
    out.push(judge("presence published under another agent's name", presence_as_another(t).await));
    out.push(judge("reauth switching to another principal", reauth_as_another(t).await));
    out.push(judge("reading another pair's conversation", read_others_conversation(t).await));
    out.push(judge("marking another pair's conversation read", mark_others_read(t).await));
    out.push(judge("reading another agent's call history", read_others_calls(t).await));
    out.push(judge("supervisor data as an agent", supervisor_data(t).await));
    out.push(judge("oversized frame", oversized_frame(t).await));
    out.push(judge("oversized chat text", oversized_text(t).await));
    out.push(judge("history page over the limit", oversized_page(t).await));
    out.push(judge("malformed frames", malformed(t).await));
    out.push(judge("WebSocket rule breaking (unmasked frame)", unmasked_frame(t).await));
    out.push(judge("more connections than a principal may hold", too_many_connections(t).await));
    out.push(judge("message flood on one connection", flood(t).await));
    // The principal's allowance refills before the flood that spreads over connections.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    out.push(judge("message flood spread over several connections", spread_flood(t).await));
    // Last: it spends the principal's allowance of new connections.
    out.push(judge("reconnecting in a loop", reconnect_storm(t).await));
    out
}

fn judge(name: &'static str, result: anyhow::Result<String>) -> Outcome {
    match result {
        Ok(detail) => Outcome { name, refused: true, detail },
        Err(e) => Outcome { name, refused: false, detail: format!("{e:#}") },
    }
}

/// Tokens that must never open a connection, with the error and close codes they must get.
fn bad_tokens(t: &Target) -> Vec<(&'static str, String, ErrorCode, u16)> {
    let now = now_ms() / 1000;
    let good = t.token(MALLORY);
    let payload = good.split('.').nth(1).unwrap_or_default().to_owned();
    let mut claims: Value =
        URL_SAFE_NO_PAD.decode(&payload).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    claims["email"] = json!(AIKO);
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    if parts.len() == 3 {
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    }
    let tampered = parts.join(".");
    let header = |alg: &str| URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
    let stranger = DevIssuer::new(t.issuer_url.clone());
    let unauth = (ErrorCode::Unauthenticated, CloseCode::Unauthenticated.code());
    vec![
        (
            "expired token",
            t.token_with(MALLORY, |c| c["exp"] = json!(now - 120)),
            ErrorCode::TokenExpired,
            CloseCode::TokenExpired.code(),
        ),
        ("not-yet-valid token", t.token_with(MALLORY, |c| c["nbf"] = json!(now + 600)), unauth.0, unauth.1),
        ("wrong-issuer token", t.token_with(MALLORY, |c| c["iss"] = json!("https://evil.example")), unauth.0, unauth.1),
        ("wrong-audience token", t.token_with(MALLORY, |c| c["aud"] = json!("someone-else")), unauth.0, unauth.1),
        ("token signed with another key", stranger.sign(&t.claims(AIKO)), unauth.0, unauth.1),
        ("alg none token", format!("{}.{payload}.", header("none")), unauth.0, unauth.1),
        ("alg HS256 token (key confusion)", format!("{}.{payload}.c2ln", header("HS256")), unauth.0, unauth.1),
        ("tampered token (claims edited)", tampered, unauth.0, unauth.1),
        ("token without an identity claim", t.token_with(MALLORY, |c| c["email"] = json!(null)), unauth.0, unauth.1),
        ("garbage token", "not.a.token".into(), unauth.0, unauth.1),
    ]
}

/// Connects (from `origin`) and says hello with `token`: it must get `code` and then `close`.
async fn hello_refused(
    t: &Target,
    token: &str,
    origin: Option<&str>,
    code: ErrorCode,
    close: u16,
) -> anyhow::Result<String> {
    let mut client = Client::connect(&t.ws, origin).await?;
    let first = client.hello(token).await?;
    refused_and_closed(&mut client, &first, code, close).await
}

/// `first` is an error with `code`, and the relay then closes with `close`.
async fn refused_and_closed(
    client: &mut Client,
    first: &ServerFrame,
    code: ErrorCode,
    close: u16,
) -> anyhow::Result<String> {
    expect_error(first, code)?;
    let (closed, _) = client.closed().await?;
    if closed != close {
        bail!("closed with {closed}, expected {close}");
    }
    Ok(format!("{} then close {closed}", code.as_str()))
}

fn expect_error(frame: &ServerFrame, code: ErrorCode) -> anyhow::Result<()> {
    match frame {
        ServerFrame::Error { error, .. } if error.code == code => Ok(()),
        other => bail!("expected error {}, got {other:?}", code.as_str()),
    }
}

async fn foreign_origin(t: &Target) -> anyhow::Result<String> {
    let mut client = Client::connect(&t.ws, Some("https://evil.example")).await?;
    // The relay speaks first: it refuses before any hello.
    let first = client.frame().await?;
    refused_and_closed(&mut client, &first, ErrorCode::Forbidden, CloseCode::ForbiddenOrigin.code()).await
}

async fn rest_foreign_origin(t: &Target) -> anyhow::Result<String> {
    let response = t
        .http()
        .get(format!("{}/api/v1/calls", t.base))
        .header("origin", "https://evil.example")
        .bearer_auth(t.token(MALLORY))
        .send()
        .await?;
    let status = response.status().as_u16();
    if status != 403 || response.headers().contains_key("access-control-allow-origin") {
        bail!("answered {status} with CORS headers {:?}", response.headers().get("access-control-allow-origin"));
    }
    Ok("403".into())
}

async fn rest_bad_tokens(t: &Target) -> anyhow::Result<String> {
    let url = format!("{}/api/v1/calls", t.base);
    let none = t.http().get(&url).send().await?.status().as_u16();
    let forged = DevIssuer::new(t.issuer_url.clone()).sign(&t.claims(AIKO));
    let wrong = t.http().get(&url).bearer_auth(forged).send().await?.status().as_u16();
    let ticket = t.http().post(format!("{}/api/v1/ws-ticket", t.base)).bearer_auth("x.y.z").send().await?;
    let ticket = ticket.status().as_u16();
    if (none, wrong, ticket) != (401, 401, 401) {
        bail!("answered {none}, {wrong} and {ticket}");
    }
    Ok("401 x3".into())
}

async fn hello_without_credentials(t: &Target) -> anyhow::Result<String> {
    let mut client = Client::connect(&t.ws, Some(&t.origin)).await?;
    let hello = json!({"type": "hello", "protocol": PROTOCOL_VERSION});
    client.send_raw(hello.to_string()).await?;
    let first = client.frame().await?;
    refused_and_closed(&mut client, &first, ErrorCode::ProtocolViolation, CloseCode::ProtocolViolation.code()).await
}

async fn ticket(t: &Target, email: &str) -> anyhow::Result<String> {
    let response = t
        .http()
        .post(format!("{}/api/v1/ws-ticket", t.base))
        .header("origin", &t.origin)
        .bearer_auth(t.token(email))
        .send()
        .await?
        .error_for_status()?;
    Ok(response.json::<WsTicket>().await?.ticket)
}

async fn hello_with_ticket(t: &Target, ticket: &str) -> anyhow::Result<(Client, ServerFrame)> {
    let mut client = Client::connect(&t.ws, Some(&t.origin)).await?;
    let hello =
        ClientFrame::Hello { protocol: PROTOCOL_VERSION, token: None, ticket: Some(ticket.into()), client: None };
    client.send(&hello).await?;
    let first = client.frame().await?;
    Ok((client, first))
}

async fn replayed_ticket(t: &Target) -> anyhow::Result<String> {
    let ticket = ticket(t, MALLORY).await?;
    let (first, welcome) = hello_with_ticket(t, &ticket).await?;
    if !matches!(&welcome, ServerFrame::Welcome { principal, .. } if principal == MALLORY) {
        bail!("the ticket's first use failed: {welcome:?}");
    }
    first.close().await;
    let (mut second, answer) = hello_with_ticket(t, &ticket).await?;
    let refused =
        refused_and_closed(&mut second, &answer, ErrorCode::Unauthenticated, CloseCode::Unauthenticated.code()).await?;
    Ok(format!("second use: {refused}"))
}

async fn made_up_ticket(t: &Target) -> anyhow::Result<String> {
    let (mut client, answer) = hello_with_ticket(t, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await?;
    refused_and_closed(&mut client, &answer, ErrorCode::Unauthenticated, CloseCode::Unauthenticated.code()).await
}

async fn send_as_another(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let forged = json!({"type": "send_chat", "id": 1, "to": BEN, "client_id": "forged-1",
                        "text": "from aiko, honestly", "from": AIKO});
    mallory.send_raw(forged.to_string()).await?;
    expect_error(&mallory.frame().await?, ErrorCode::BadFrame)?;
    alive(&mut mallory).await?;
    Ok("bad_frame (no sender field exists)".into())
}

async fn presence_as_another(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let state = AgentState { name: "Available".into(), kind: StateKind::Routable };
    let reply = mallory
        .request(|id| ClientFrame::SetPresence {
            id,
            state,
            since: now_ms(),
            contact: None,
            username: Some("aiko".into()),
            contact_id: None,
        })
        .await?;
    expect_error(&reply, ErrorCode::IdentityMismatch)?;
    Ok("identity_mismatch".into())
}

async fn reauth_as_another(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let token = t.token(AIKO);
    let reply = mallory.request(|id| ClientFrame::Reauth { id, token }).await?;
    refused_and_closed(&mut mallory, &reply, ErrorCode::Forbidden, CloseCode::Unauthenticated.code()).await
}

async fn read_others_conversation(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let mut seen = Vec::new();
    for peer in [AIKO, BEN] {
        let page =
            mallory.request(|id| ClientFrame::History { id, peer: peer.into(), before: None, limit: None }).await?;
        let synced =
            mallory.request(|id| ClientFrame::Sync { id, cursors: vec![Cursor { peer: peer.into(), seq: 0 }] }).await?;
        seen.push(format!("{page:?}{synced:?}"));
    }
    let listed = mallory.request(|id| ClientFrame::Conversations { id }).await?;
    seen.push(format!("{listed:?}"));
    if let Some(leak) = seen.iter().find(|s| s.contains(SECRET) || s.contains("seed-1")) {
        bail!("mallory read the aiko-ben conversation: {leak}");
    }
    Ok("nothing of aiko-ben returned".into())
}

async fn mark_others_read(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let reply = mallory.request(|id| ClientFrame::MarkRead { id, peer: AIKO.into(), seq: 99 }).await?;
    // Mallory can only ever name her own side of a pair: the store comparison after the attacks
    // is what proves that no marker moved.
    match reply {
        ServerFrame::Error { error, .. } => Ok(error.code.as_str().to_owned()),
        _ => Ok("answered for mallory's own (empty) pair; the store comparison checks it".into()),
    }
}

async fn read_others_calls(t: &Target) -> anyhow::Result<String> {
    let http = t.http();
    let mine: Value = http
        .get(format!("{}/api/v1/calls", t.base))
        .header("origin", &t.origin)
        .bearer_auth(t.token(MALLORY))
        .send()
        .await?
        .json()
        .await?;
    if mine.to_string().contains("contact-aiko-1") {
        bail!("mallory's history holds aiko's call: {mine}");
    }
    let named = http
        .get(format!("{}/api/v1/calls?principal={AIKO}", t.base))
        .header("origin", &t.origin)
        .bearer_auth(t.token(MALLORY))
        .send()
        .await?;
    let status = named.status().as_u16();
    if status != 400 {
        bail!("naming another agent answered {status}: {}", named.text().await?);
    }
    Ok("own history only; naming an agent is a 400".into())
}

async fn supervisor_data(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    for roster in ["*", "osaka"] {
        let reply = mallory
            .request(|id| ClientFrame::Subscribe { id, roster: Some(roster.into()), rosters: Vec::new() })
            .await?;
        expect_error(&reply, ErrorCode::Forbidden).with_context(|| format!("roster {roster:?}"))?;
    }
    // Her own roster beside another, in one subscription of several.
    let (own, _) = mallory.subscribe(None).await?;
    let several = vec![own, "osaka".to_owned()];
    let reply = mallory.request(|id| ClientFrame::Subscribe { id, roster: None, rosters: several }).await?;
    expect_error(&reply, ErrorCode::Forbidden).context("her roster and another")?;
    Ok("forbidden for every roster but her own".into())
}

async fn oversized_frame(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let text = "x".repeat(t.max_frame_bytes + 1);
    let frame = json!({"type": "send_chat", "id": 1, "to": BEN, "client_id": "big", "text": text});
    mallory.send_raw(frame.to_string()).await?;
    expect_error(&mallory.frame().await?, ErrorCode::TooLarge)?;
    alive(&mut mallory).await?;
    Ok("too_large, connection kept".into())
}

async fn oversized_text(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    // Within the frame limit, over the text limit.
    let text = "あ".repeat(t.max_frame_bytes / 4);
    let reply =
        mallory.request(|id| ClientFrame::SendChat { id, to: BEN.into(), client_id: "long".into(), text }).await?;
    expect_error(&reply, ErrorCode::TooLarge)?;
    Ok("too_large".into())
}

async fn oversized_page(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let reply = mallory
        .request(|id| ClientFrame::History { id, peer: BEN.into(), before: None, limit: Some(1_000_000) })
        .await?;
    expect_error(&reply, ErrorCode::TooLarge)?;
    Ok("too_large".into())
}

async fn malformed(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let cases = [
        "",
        "null",
        "{",
        r#"{"type": "launch_missiles", "id": 1}"#,
        r#"{"type": "ping", "id": -1}"#,
        r#"{"type": "send_chat", "id": 1, "to": 5, "client_id": "c", "text": "x"}"#,
        "\u{0}\u{1}\u{2}",
        r#"{"type": "hello", "protocol": 1, "token": "again"}"#,
    ];
    for case in cases {
        mallory.send_raw(case.into()).await?;
        match mallory.frame().await? {
            ServerFrame::Error { .. } => {}
            other => bail!("{case:?} was answered {other:?}"),
        }
    }
    mallory.send_binary(vec![0, 159, 146, 150]).await?;
    expect_error(&mallory.frame().await?, ErrorCode::BadFrame)?;
    alive(&mut mallory).await?;
    Ok(format!("{} error frames, connection kept", cases.len() + 1))
}

async fn unmasked_frame(t: &Target) -> anyhow::Result<String> {
    let url = t.ws.strip_prefix("ws://").context("ws url")?;
    let (host, _) = url.split_once('/').context("ws url")?;
    let mut tcp = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 {
            bail!("the relay closed during the upgrade");
        }
        head.push(byte[0]);
    }
    // A client frame without a mask breaks RFC 6455 §5.1.
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).await?;
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await.context("no close")??;
    let close = rest.windows(2).position(|w| w[0] == 0x88).and_then(|i| rest.get(i + 2..i + 4));
    match close {
        Some([a, b]) if u16::from_be_bytes([*a, *b]) == 1002 => Ok("close 1002".into()),
        other => bail!("expected close 1002, got {other:?} in {rest:?}"),
    }
}

async fn flood(t: &Target) -> anyhow::Result<String> {
    let mut mallory = t.login(MALLORY).await?;
    let frames = 400;
    for id in 0..frames {
        mallory.send(&ClientFrame::Ping { id: 10_000 + id }).await?;
    }
    let mut limited = 0;
    let mut answered = 0;
    while answered < frames {
        match mallory.next().await? {
            Event::Frame(ServerFrame::Error { error, .. }) if error.code == ErrorCode::RateLimited => {
                limited += 1;
                answered += 1;
            }
            Event::Frame(ServerFrame::Pong { .. }) => answered += 1,
            Event::Frame(_) => {}
            Event::Closed(code, _) => {
                // Sending on through a burst's worth of refusals closes the connection.
                if limited == 0 || code != CloseCode::RateExceeded.code() {
                    bail!("closed {code} after {answered} answers, {limited} rate_limited");
                }
                return Ok(format!("{limited} rate_limited, then close {code}"));
            }
        }
    }
    bail!("{frames} frames at once: {limited} rate_limited, and the connection was not closed")
}

/// Connect, hello, close, again: beyond the principal's allowance of new connections a hello is
/// refused with `rate_limited` and close 4004.
async fn reconnect_storm(t: &Target) -> anyhow::Result<String> {
    for n in 1..=200 {
        let mut client = Client::connect(&t.ws, Some(&t.origin)).await?;
        match client.hello(&t.token(MALLORY)).await? {
            ServerFrame::Welcome { .. } => client.close().await,
            refusal => {
                let refused =
                    refused_and_closed(&mut client, &refusal, ErrorCode::RateLimited, CloseCode::RateExceeded.code())
                        .await?;
                return Ok(format!("connection {n}: {refused}"));
            }
        }
    }
    bail!("200 connections in a row were all welcomed")
}

/// Each connection stays within its own burst; together they exceed the principal's.
async fn spread_flood(t: &Target) -> anyhow::Result<String> {
    let connections = 4;
    let per_connection = 30;
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(t.login(MALLORY).await?);
    }
    for client in &mut clients {
        for id in 0..per_connection {
            client.send(&ClientFrame::Ping { id: 20_000 + id }).await?;
        }
    }
    let mut limited = 0;
    for client in &mut clients {
        for _ in 0..per_connection {
            match client.frame().await? {
                ServerFrame::Error { error, .. } if error.code == ErrorCode::RateLimited => limited += 1,
                ServerFrame::Pong { .. } => {}
                other => bail!("unexpected {other:?}"),
            }
        }
    }
    if limited == 0 {
        bail!("{} frames over {connections} connections were all served", connections * per_connection);
    }
    Ok(format!("{limited} of {} rate_limited by the principal's quota", connections * per_connection))
}

async fn too_many_connections(t: &Target) -> anyhow::Result<String> {
    let mut clients = Vec::new();
    for _ in 0..=t.max_connections {
        clients.push(t.login(MALLORY).await?);
    }
    let (code, _) = clients[0].closed().await?;
    if code != CloseCode::Replaced.code() {
        bail!("the oldest closed with {code}");
    }
    alive(clients.last_mut().context("no client")?).await?;
    Ok(format!("oldest closed {code}"))
}

/// The connection still answers.
async fn alive(client: &mut Client) -> anyhow::Result<()> {
    match client.request(|id| ClientFrame::Ping { id }).await? {
        ServerFrame::Pong { .. } => Ok(()),
        other => bail!("expected pong, got {other:?}"),
    }
}

/// Every table of a relay's SQLite store, row by row, to compare before and after an attack.
/// The attacker's own presence row is left out: connecting does change one's own presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSnapshot(pub Vec<String>);

impl StoreSnapshot {
    pub fn read(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("relay.sqlite3");
        let db = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", path.display()))?;
        let tables: Vec<String> = db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut rows = Vec::new();
        for table in tables {
            let mut statement = db.prepare(&format!("SELECT * FROM \"{table}\""))?;
            let columns = statement.column_count();
            let mut cursor = statement.query([])?;
            while let Some(row) = cursor.next()? {
                let values: Vec<String> = (0..columns)
                    .map(|i| match row.get::<_, rusqlite::types::Value>(i) {
                        Ok(rusqlite::types::Value::Text(text)) => text,
                        Ok(value) => format!("{value:?}"),
                        Err(e) => format!("<{e}>"),
                    })
                    .collect();
                let line = format!("{table}: {}", values.join(" | "));
                if table == "presence" && line.contains(MALLORY) {
                    continue;
                }
                rows.push(line);
            }
        }
        rows.sort();
        Ok(Self(rows))
    }
}
