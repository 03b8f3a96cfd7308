//! Limits: each breach gets a clear error frame (or, past the hard frame limit, a close code),
//! never a silent drop, and the connection survives what it can.

use std::time::Duration;

use protocol::{AgentState, ClientFrame, CloseCode, ErrorCode, ServerFrame, StateKind};

use crate::support::{Issuer, Relay, chat, error_code, now_ms, subscribe};

async fn still_alive(client: &mut loadgen::Client) {
    let pong = client.request(|id| ClientFrame::Ping { id }).await.unwrap();
    assert!(matches!(pong, ServerFrame::Pong { .. }), "{pong:?}");
}

#[tokio::test]
async fn oversized_text_and_frames_are_refused_clearly() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| {
        c.max_text_chars = 500;
        c.max_frame_bytes = 4096;
    })
    .await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;

    // The limit counts characters: 500 Japanese ones (1,500 bytes) pass, 501 do not.
    let fits = chat(&mut aiko, "ben@example.com", "fits", &"あ".repeat(500)).await;
    assert!(matches!(fits, ServerFrame::ChatAck { .. }), "{fits:?}");
    let refusal = chat(&mut aiko, "ben@example.com", "big", &"あ".repeat(501)).await;
    assert_eq!(error_code(&refusal), ErrorCode::TooLarge, "501 characters of text");
    assert!(matches!(refusal, ServerFrame::Error { id: Some(_), .. }));
    let ServerFrame::Error { error, .. } = &refusal else { panic!() };
    assert!(error.message.contains("500"), "{}", error.message);
    still_alive(&mut aiko).await;

    // A frame over the limit is refused by the request's id, so the sender knows which one.
    let frame = format!(
        r#"{{"type": "send_chat", "id": 77, "to": "ben@example.com", "client_id": "huge", "text": "{}"}}"#,
        "x".repeat(6000)
    );
    aiko.send_raw(frame).await.unwrap();
    let refusal = aiko.frame().await.unwrap();
    assert_eq!(error_code(&refusal), ErrorCode::TooLarge, "a frame over max_frame_bytes");
    assert!(matches!(refusal, ServerFrame::Error { id: Some(77), .. }), "{refusal:?}");
    still_alive(&mut aiko).await;

    aiko.send_raw("x".repeat(4096 * 4 + 1)).await.unwrap();
    assert_eq!(aiko.closed().await.unwrap().0, 1009, "past four times the limit the socket closes");
    let metrics = relay.metrics().await;
    assert!(metrics.contains("sidecar_oversized_frames_total 2"), "{metrics}");
    assert!(metrics.contains("sidecar_errors_total{code=\"too_large\"} 3"), "{metrics}");
    // Only the message within the limit was stored.
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let list = ben.request(|id| ClientFrame::Conversations { id }).await.unwrap();
    assert!(
        matches!(&list, ServerFrame::Conversations { conversations, .. } if conversations.len() == 1 && conversations[0].last_seq == 1),
        "{list:?}"
    );
}

#[tokio::test]
async fn a_flood_is_rate_limited_with_retryable_errors_then_closed() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.frames_per_second = 5).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    for id in 1..=20 {
        aiko.send(&ClientFrame::Ping { id }).await.unwrap();
    }
    let (mut pongs, mut limited) = (0, 0);
    for _ in 1..=20 {
        match aiko.frame().await.unwrap() {
            ServerFrame::Pong { .. } => pongs += 1,
            ServerFrame::Error { id: Some(_), error } => {
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert!(error.retryable);
                limited += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!((10..=12).contains(&pongs), "a burst of twice the rate passes: {pongs}");
    assert_eq!(pongs + limited, 20, "every frame is answered");
    tokio::time::sleep(Duration::from_millis(500)).await;
    still_alive(&mut aiko).await;

    // A client that ignores a burst's worth of refusals in a row is closed: back off, reconnect.
    for id in 100..=160 {
        if aiko.send(&ClientFrame::Ping { id }).await.is_err() {
            break;
        }
    }
    let (code, _) = aiko.closed().await.unwrap();
    assert_eq!(code, CloseCode::RateExceeded.code());
    assert!(protocol::error::should_reconnect(code));
    assert!(relay.metrics().await.lines().any(|l| l == "sidecar_rate_closes_total 1"));
    relay.login(&issuer.token("aiko@example.com")).await;
}

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_connection_stays() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    for bad in ["{", "[]", r#"{"type": "nope", "id": 1}"#, r#"{"type": "ping"}"#, "\u{0}"] {
        aiko.send_raw(bad.into()).await.unwrap();
        let reply = aiko.frame().await.unwrap();
        assert_eq!(error_code(&reply), ErrorCode::BadFrame, "{bad:?}");
    }
    aiko.send_binary(vec![0, 1, 2]).await.unwrap();
    assert_eq!(error_code(&aiko.frame().await.unwrap()), ErrorCode::BadFrame);
    let again =
        aiko.request(|id| ClientFrame::Hello { protocol: id as u32, token: None, ticket: None, client: None }).await;
    assert!(again.is_err() || error_code(&again.unwrap()) == ErrorCode::ProtocolViolation);
    still_alive(&mut aiko).await;
    assert!(relay.metrics().await.contains("sidecar_errors_total{code=\"bad_frame\"} 6"));
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_a_reconnect_code() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.idle_timeout_ms = 400).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    assert_eq!(aiko.closed().await.unwrap().0, CloseCode::IdleTimeout.code());
}

#[tokio::test]
async fn too_many_connections_for_one_principal_close_the_oldest() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.max_connections_per_principal = 2).await;
    let token = issuer.token("aiko@example.com");
    let mut first = relay.login(&token).await;
    let _second = relay.login(&token).await;
    let mut third = relay.login(&token).await;
    assert_eq!(first.closed().await.unwrap().0, CloseCode::Replaced.code());
    still_alive(&mut third).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_not_buffered_forever() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| {
        c.send_queue = 8;
        c.frames_per_second = 100_000;
        c.principal_requests_per_second = 100_000;
    })
    .await;
    let mut sleeper = relay.login(&issuer.token("sleeper@example.com")).await;
    subscribe(&mut sleeper, None).await;
    let mut chatty = relay.login(&issuer.token("chatty@example.com")).await;
    let start = now_ms() - 1_000_000;
    let long_name = "状態".repeat(60);
    // Far more presence changes than the sleeper's socket buffers and queue can hold.
    let mut id = 0;
    while !relay.metrics().await.contains("sidecar_slow_consumers_total 1") {
        for _ in 0..500 {
            id += 1;
            chatty
                .send(&ClientFrame::SetPresence {
                    id,
                    state: AgentState { name: long_name.clone(), kind: StateKind::NotRoutable },
                    since: start + i64::try_from(id).unwrap(),
                    contact: None,
                    username: None,
                    contact_id: None,
                })
                .await
                .unwrap();
        }
        chatty.reply(id).await.unwrap();
        assert!(id < 400_000, "the sleeper was never disconnected");
    }
    assert_eq!(sleeper.closed().await.unwrap().0, CloseCode::SlowConsumer.code());
    assert!(protocol::error::should_reconnect(CloseCode::SlowConsumer.code()));
    still_alive(&mut chatty).await;
}

/// A raw TCP client that performs the upgrade itself, to send what no WebSocket library would.
async fn raw_upgrade(relay: &Relay) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(relay.base.trim_start_matches("http://")).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // RFC 6455's own example key and accept value.
    assert!(head.to_ascii_lowercase().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="), "{head}");
    tcp
}

/// Reads server frames until a close frame and returns its code.
async fn raw_close_code(tcp: &mut tokio::net::TcpStream) -> u16 {
    use tokio::io::AsyncReadExt as _;
    loop {
        let mut header = [0; 2];
        tcp.read_exact(&mut header).await.unwrap();
        let len = match header[1] & 0x7f {
            126 => usize::from(tcp.read_u16().await.unwrap()),
            127 => usize::try_from(tcp.read_u64().await.unwrap()).unwrap(),
            n => usize::from(n),
        };
        let mut payload = vec![0; len];
        tcp.read_exact(&mut payload).await.unwrap();
        if header[0] & 0x0f == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

#[tokio::test]
async fn frames_that_break_the_websocket_rules_close_with_the_rfc_codes() {
    use tokio::io::AsyncWriteExt as _;
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut unmasked = raw_upgrade(&relay).await;
    unmasked.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    assert_eq!(raw_close_code(&mut unmasked).await, 1002);

    let mut not_utf8 = raw_upgrade(&relay).await;
    not_utf8.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xff, 0xfe]).await.unwrap();
    assert_eq!(raw_close_code(&mut not_utf8).await, 1007);

    let mut huge = raw_upgrade(&relay).await;
    huge.write_all(&[0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]).await.unwrap();
    assert_eq!(raw_close_code(&mut huge).await, 1009, "refused from the header, before any payload");

    let http = reqwest::Client::new();
    let plain = http.get(format!("{}/ws", relay.base)).send().await.unwrap();
    assert_eq!(plain.status(), 400);
    let body: protocol::ErrorBody = plain.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::Invalid);
    let old = http
        .get(format!("{}/ws", relay.base))
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "8")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 426);
    assert_eq!(old.headers()["sec-websocket-version"], "13");
}
