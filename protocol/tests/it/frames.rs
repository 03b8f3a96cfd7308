//! Every variant against its exact JSON, both ways, and inputs a relay must refuse.

use protocol::{ClientFrame, CloseCode, ServerFrame, decode_client, decode_server};
use serde_json::{Value, json};

fn presence() -> Value {
    json!({"principal": "aiko@example.com", "username": "aiko", "display_name": "佐藤 愛子",
           "roster": "tokyo", "state": {"name": "管理業務中", "kind": "not_routable"},
           "since": 1_764_000_000_000_i64,
           "contact": {"channel": "voice", "state": "connected", "since": 1_764_000_100_000_i64},
           "online": true})
}

fn message() -> Value {
    json!({"from": "aiko@example.com", "to": "ben@example.com", "seq": 7, "client_id": "c-1",
           "text": "<b>hi</b> 🙂", "sent_at": 1_764_000_000_000_i64})
}

fn help_request() -> Value {
    json!({"id": 12, "agent": "aiko@example.com", "display_name": "佐藤 愛子", "roster": "tokyo",
           "reason": "complaint", "note": "お客様が上長を希望", "asked_at": 1_764_000_000_000_i64,
           "status": "taken", "taken_by": "taro@example.com", "taken_by_name": "Taro",
           "taken_at": 1_764_000_030_000_i64})
}

fn client_cases() -> Vec<Value> {
    vec![
        json!({"type": "hello", "protocol": 1, "token": "eyJ..", "client": "ccp-sidecar/0.1"}),
        json!({"type": "hello", "protocol": 1, "token": "eyJ.."}),
        json!({"type": "hello", "protocol": 1, "ticket": "Qm9vbQ"}),
        json!({"type": "reauth", "id": 1, "token": "eyJ.."}),
        json!({"type": "ping", "id": 2}),
        json!({"type": "subscribe", "id": 3}),
        json!({"type": "subscribe", "id": 3, "roster": "*"}),
        json!({"type": "subscribe", "id": 3, "rosters": ["tokyo", "osaka"]}),
        json!({"type": "set_presence", "id": 4, "state": {"name": "Available", "kind": "routable"},
               "since": 5, "username": "aiko"}),
        json!({"type": "set_presence", "id": 4, "state": {"name": "Busy", "kind": "system"},
               "since": 5, "contact": {"channel": "chat", "state": "after_contact_work", "since": 6}}),
        json!({"type": "clear_presence", "id": 4}),
        json!({"type": "send_chat", "id": 5, "to": "ben@example.com", "client_id": "c-1", "text": "こんにちは"}),
        json!({"type": "conversations", "id": 6}),
        json!({"type": "sync", "id": 7, "cursors": [{"peer": "ben@example.com", "seq": 3}]}),
        json!({"type": "history", "id": 8, "peer": "ben@example.com", "before": 40, "limit": 20}),
        json!({"type": "history", "id": 8, "peer": "ben@example.com"}),
        json!({"type": "mark_read", "id": 9, "peer": "ben@example.com", "seq": 7}),
        json!({"type": "report_call", "id": 10, "call": {"contact_id": "c-1", "number": "+81312345678",
               "queue_arn": "arn:q", "phase": "dialling", "at": 5}}),
        json!({"type": "report_call", "id": 10, "call": {"contact_id": "c-1", "number": "+81312345678",
               "phase": "failed", "at": 5}}),
        json!({"type": "ask_help", "id": 11, "reason": "escalation", "note": "上長対応の依頼"}),
        json!({"type": "ask_help", "id": 11, "reason": "other", "note": ""}),
        json!({"type": "cancel_help", "id": 12, "request": 3}),
        json!({"type": "take_help", "id": 13, "request": 3}),
        json!({"type": "close_help", "id": 14, "request": 3}),
        json!({"type": "help_requests", "id": 15, "since": 1_764_000_000_000_i64}),
        json!({"type": "help_requests", "id": 15}),
    ]
}

fn server_cases() -> Vec<Value> {
    vec![
        json!({"type": "welcome", "protocol": 1, "principal": "aiko@example.com",
               "display_name": "佐藤 愛子", "supervisor": false, "roster": "tokyo",
               "expires_at": 1_764_003_600_000_i64,
               "limits": {"max_frame_bytes": 16384, "max_text_chars": 2000, "max_text_bytes": 2000, "frames_per_second": 20,
                          "max_page": 100, "heartbeat_ms": 20000}}),
        json!({"type": "ok", "id": 1}),
        json!({"type": "pong", "id": 2}),
        json!({"type": "roster", "id": 3, "roster": "tokyo", "agents": [presence()], "complete": true}),
        json!({"type": "presence", "presence": presence()}),
        json!({"type": "chat_ack", "id": 5, "client_id": "c-1", "peer": "ben@example.com", "seq": 7,
               "sent_at": 1_764_000_000_000_i64, "duplicate": false}),
        json!({"type": "chat", "message": message()}),
        json!({"type": "conversations", "id": 6, "conversations": [
            {"peer": "ben@example.com", "last_seq": 7, "read_seq": 5, "unread": 2, "last": message()}]}),
        json!({"type": "synced", "id": 7, "conversations": [], "messages": [message()], "more": false}),
        json!({"type": "history", "id": 8, "peer": "ben@example.com", "messages": [message()], "more": true}),
        json!({"type": "read_marker", "peer": "ben@example.com", "seq": 7}),
        json!({"type": "help_ack", "id": 11, "request": help_request(), "supervisors": 2, "duplicate": false}),
        json!({"type": "help", "request": help_request()}),
        json!({"type": "help_requests", "id": 15, "requests": [help_request()], "stats": [
            {"roster": "tokyo", "asked": 3, "taken": 2, "cancelled": 1, "median_wait_ms": 30_000, "longest_wait_ms": 45_000},
            {"roster": "osaka", "asked": 1, "taken": 0, "cancelled": 0}]}),
        json!({"type": "error", "id": 5, "error": {"code": "rate_limited", "message": "slow down", "retryable": true}}),
        json!({"type": "error", "error": {"code": "bad_frame", "message": "expected value", "retryable": false}}),
    ]
}

#[test]
fn every_client_frame_round_trips() {
    let mut kinds = std::collections::BTreeSet::new();
    for case in client_cases() {
        let frame = decode_client(&case.to_string()).unwrap_or_else(|e| panic!("{case}: {e}"));
        kinds.insert(frame.kind());
        assert_eq!(serde_json::to_value(&frame).unwrap(), case, "re-encoding {case}");
    }
    assert_eq!(kinds.len(), 17, "a client variant has no case: {kinds:?}");
}

#[test]
fn every_server_frame_round_trips() {
    let mut kinds = std::collections::BTreeSet::new();
    for case in server_cases() {
        let frame = decode_server(&case.to_string()).unwrap_or_else(|e| panic!("{case}: {e}"));
        kinds.insert(case["type"].as_str().unwrap().to_owned());
        assert!(matches!(frame, ServerFrame::Welcome { .. }) == (case["type"] == "welcome"));
        let encoded: Value = serde_json::from_str(&frame.encode()).unwrap();
        assert_eq!(encoded, case, "re-encoding {case}");
    }
    assert_eq!(kinds.len(), 15, "a server variant has no case");
}

#[test]
fn malformed_client_frames_are_refused_with_a_reason() {
    let cases = [
        "",
        "null",
        "[]",
        "{}",
        r#"{"type": "launch_missiles", "id": 1}"#,
        r#"{"type": "ping"}"#,
        r#"{"type": "ping", "id": -1}"#,
        r#"{"type": "ping", "id": "1"}"#,
        r#"{"type": "ping", "id": 1, "extra": true}"#,
        r#"{"type": "send_chat", "id": 1, "to": "b", "client_id": "c", "text": 5}"#,
        r#"{"type": "send_chat", "id": 1, "to": "b", "client_id": "c", "text": "x", "from": "mallory"}"#,
        r#"{"type": "set_presence", "id": 1, "state": {"name": "x", "kind": "sleeping"}, "since": 1}"#,
        r#"{"type": "hello", "protocol": 1, "token": 5}"#,
        r#"{"type": "hello", "protocol": 1, "token": "t", "from": "mallory"}"#,
        r#"{"type": "ask_help", "id": 1, "reason": "other", "agent": "ben@example.com"}"#,
        r#"{"type": "ask_help", "id": 1, "note": "no reason"}"#,
        r#"{"type": "take_help", "id": 1, "request": -3}"#,
        r#"{"type": "subscribe", "id": 1, "rosters": "tokyo"}"#,
        "{\"type\": \"ping\", \"id\": 1",
        "\u{0}\u{1}\u{2}",
    ];
    for case in cases {
        let err = decode_client(case).expect_err(case);
        assert!(!err.0.is_empty(), "{case:?} gave an empty reason");
    }
}

#[test]
fn ids_are_echoed_by_every_request() {
    for case in client_cases() {
        let frame: ClientFrame = serde_json::from_value(case.clone()).unwrap();
        assert_eq!(frame.id(), case.get("id").and_then(Value::as_u64), "{case}");
    }
}

#[test]
fn close_codes_split_into_reconnect_and_stop() {
    for code in CloseCode::ALL {
        assert_eq!(CloseCode::from_code(code.code()), Some(code));
        assert_eq!(code.reconnect(), (4000..4100).contains(&code.code()), "{code:?}");
        assert!(code.reason().len() <= 123, "a close reason must fit a close frame");
    }
    assert!(protocol::error::should_reconnect(1006));
    assert!(protocol::error::should_reconnect(1001));
    assert!(!protocol::error::should_reconnect(1000));
    assert!(!protocol::error::should_reconnect(CloseCode::Unauthenticated.code()));
}

#[test]
fn server_frames_never_fail_to_encode() {
    for case in server_cases() {
        let frame: ServerFrame = serde_json::from_value(case).unwrap();
        assert!(frame.encode().starts_with('{'));
    }
}

#[test]
fn welcomes_of_relays_before_and_after_the_character_limit_both_decode() {
    let limits = |extra: Value| {
        let mut l = json!({"max_frame_bytes": 16384, "frames_per_second": 20, "max_page": 100, "heartbeat_ms": 20000});
        l.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let welcome = json!({"type": "welcome", "protocol": 1, "principal": "a@x", "display_name": "A",
                             "supervisor": false, "roster": "r", "expires_at": 1, "limits": l});
        match decode_server(&welcome.to_string()).unwrap() {
            ServerFrame::Welcome { limits, .. } => limits,
            other => panic!("{other:?}"),
        }
    };
    // An older relay announced bytes only: its number is the best limit there is.
    assert_eq!(limits(json!({"max_text_bytes": 4000})).text_limit(), Some(4000));
    // A newer relay announces characters, and the old name too for older clients.
    assert_eq!(limits(json!({"max_text_chars": 2000, "max_text_bytes": 2000})).text_limit(), Some(2000));
    assert_eq!(limits(json!({})).text_limit(), None, "neither: no limit known, the relay decides");
}
