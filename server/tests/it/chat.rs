//! Chat: store, ack, deliver; resends; resume; history paging; unread counts and read markers;
//! only participants can read.

use std::time::Duration;

use protocol::{ClientFrame, Cursor, ErrorCode, ServerFrame};
use serde_json::json;

use crate::support::{Issuer, Relay, chat, error_code, expect_silence};

fn ack_seq(frame: &ServerFrame) -> (u64, bool) {
    match frame {
        ServerFrame::ChatAck { seq, duplicate, .. } => (*seq, *duplicate),
        other => panic!("expected chat_ack, got {other:?}"),
    }
}

async fn next_chat(client: &mut loadgen::Client) -> protocol::ChatMessage {
    loop {
        if let ServerFrame::Chat { message } = client.frame().await.unwrap() {
            return message;
        }
    }
}

#[tokio::test]
async fn a_message_is_acked_then_delivered_to_every_connection_of_both() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut aiko_tab2 = relay.login(&issuer.token("aiko@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;

    let ack = chat(&mut aiko, "ben@example.com", "m-1", "お疲れさまです <b>").await;
    assert_eq!(ack_seq(&ack), (1, false));
    let got = next_chat(&mut ben).await;
    assert_eq!((got.from.as_str(), got.to.as_str(), got.seq), ("aiko@example.com", "ben@example.com", 1));
    assert_eq!(got.text, "お疲れさまです <b>");
    assert_eq!(next_chat(&mut aiko_tab2).await, got, "the sender's other tab sees it too");
    expect_silence(&mut aiko, Duration::from_millis(200)).await;

    let reply = chat(&mut ben, "aiko@example.com", "m-1", "hi").await;
    assert_eq!(ack_seq(&reply), (2, false), "one sequence per conversation, both directions");
    assert_eq!(next_chat(&mut aiko).await.seq, 2);
}

#[tokio::test]
async fn resending_with_the_same_client_id_never_duplicates() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    assert_eq!(ack_seq(&chat(&mut aiko, "ben@example.com", "once", "hello").await), (1, false));
    next_chat(&mut ben).await;
    let again = chat(&mut aiko, "ben@example.com", "once", "hello").await;
    assert_eq!(ack_seq(&again), (1, true));
    expect_silence(&mut ben, Duration::from_millis(300)).await;
    let history = aiko
        .request(|id| ClientFrame::History { id, peer: "ben@example.com".into(), before: None, limit: None })
        .await
        .unwrap();
    let ServerFrame::History { messages, .. } = history else { panic!() };
    assert_eq!(messages.len(), 1);
    assert!(relay.metrics().await.contains("sidecar_chat_duplicates_total 1"));
}

#[tokio::test]
async fn a_reconnecting_client_resumes_from_its_last_sequence() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| c.max_page = 10).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    for i in 1..=3 {
        chat(&mut aiko, "ben@example.com", &format!("a{i}"), &format!("a{i}")).await;
    }
    for i in 1..=12 {
        chat(&mut aiko, "chen@example.com", &format!("c{i}"), &format!("c{i}")).await;
    }
    // Ben was offline; he saw nothing. Chen saw up to 4.
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let synced = ben
        .request(|id| ClientFrame::Sync { id, cursors: vec![Cursor { peer: "aiko@example.com".into(), seq: 0 }] })
        .await
        .unwrap();
    let ServerFrame::Synced { conversations, messages, more, .. } = synced else { panic!("{synced:?}") };
    assert_eq!(messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["a1", "a2", "a3"]);
    assert!(!more);
    assert_eq!((conversations.len(), conversations[0].unread), (1, 3));

    let mut chen = relay.login(&issuer.token("chen@example.com")).await;
    let mut cursor = 4;
    let mut received = Vec::new();
    loop {
        let synced = chen
            .request(|id| ClientFrame::Sync {
                id,
                cursors: vec![Cursor { peer: "aiko@example.com".into(), seq: cursor }],
            })
            .await
            .unwrap();
        let ServerFrame::Synced { messages, more, .. } = synced else { panic!() };
        assert!(messages.len() <= 10, "a sync page respects max_page");
        cursor = messages.last().map_or(cursor, |m| m.seq);
        received.extend(messages.into_iter().map(|m| m.seq));
        if !more {
            break;
        }
    }
    assert_eq!(received, (5..=12).collect::<Vec<_>>());
}

#[tokio::test]
async fn history_pages_newest_first_within_the_limit() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |c| {
        c.max_page = 20;
        c.frames_per_second = 1000;
        c.principal_requests_per_second = 1000;
    })
    .await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    for i in 1..=45 {
        chat(&mut aiko, "ben@example.com", &format!("m{i}"), &format!("message {i}")).await;
    }
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let mut before = None;
    let mut pages = Vec::new();
    loop {
        let page = ben
            .request(|id| ClientFrame::History { id, peer: "aiko@example.com".into(), before, limit: Some(20) })
            .await
            .unwrap();
        let ServerFrame::History { messages, more, .. } = page else { panic!("{page:?}") };
        before = messages.last().map(|m| m.seq);
        pages.push(messages.iter().map(|m| m.seq).collect::<Vec<_>>());
        if !more {
            break;
        }
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0][0], 45);
    assert_eq!(pages.concat(), (1..=45).rev().collect::<Vec<_>>());
    let too_big = ben
        .request(|id| ClientFrame::History { id, peer: "aiko@example.com".into(), before: None, limit: Some(21) })
        .await
        .unwrap();
    assert_eq!(error_code(&too_big), ErrorCode::TooLarge);
    let ServerFrame::Error { error, .. } = too_big else { panic!() };
    assert!(error.message.contains("1 to 20"), "{}", error.message);
}

#[tokio::test]
async fn unread_counts_and_read_markers_follow_each_participant() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let mut ben_tab2 = relay.login(&issuer.token("ben@example.com")).await;
    for i in 1..=3 {
        chat(&mut aiko, "ben@example.com", &format!("m{i}"), "x").await;
    }
    chat(&mut ben, "aiko@example.com", "r1", "y").await;
    let list = ben.request(|id| ClientFrame::Conversations { id }).await.unwrap();
    let ServerFrame::Conversations { conversations, .. } = list else { panic!() };
    assert_eq!((conversations[0].unread, conversations[0].last_seq), (3, 4), "own messages are never unread");

    let ok = ben.request(|id| ClientFrame::MarkRead { id, peer: "aiko@example.com".into(), seq: 2 }).await.unwrap();
    assert!(matches!(ok, ServerFrame::Ok { .. }));
    loop {
        match ben_tab2.frame().await.unwrap() {
            ServerFrame::ReadMarker { peer, seq } => {
                assert_eq!((peer.as_str(), seq), ("aiko@example.com", 2));
                break;
            }
            ServerFrame::Chat { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let list = ben.request(|id| ClientFrame::Conversations { id }).await.unwrap();
    let ServerFrame::Conversations { conversations, .. } = list else { panic!() };
    assert_eq!((conversations[0].read_seq, conversations[0].unread), (2, 1));
    let theirs = aiko.request(|id| ClientFrame::Conversations { id }).await.unwrap();
    let ServerFrame::Conversations { conversations, .. } = theirs else { panic!() };
    assert_eq!((conversations[0].read_seq, conversations[0].unread), (0, 1), "aiko's marker is her own");
}

#[tokio::test]
async fn only_the_two_participants_can_read_and_nobody_sends_as_another() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut mallory = relay.login(&issuer.token("mallory@example.com")).await;
    chat(&mut aiko, "ben@example.com", "secret", "the secret").await;

    // Mallory can only name conversations she is in: with aiko, or with ben.
    for peer in ["aiko@example.com", "ben@example.com"] {
        let page = mallory
            .request(|id| ClientFrame::History { id, peer: peer.into(), before: None, limit: None })
            .await
            .unwrap();
        assert!(matches!(&page, ServerFrame::History { messages, .. } if messages.is_empty()), "{page:?}");
        let synced = mallory
            .request(|id| ClientFrame::Sync { id, cursors: vec![Cursor { peer: peer.into(), seq: 0 }] })
            .await
            .unwrap();
        assert!(
            matches!(&synced, ServerFrame::Synced { messages, conversations, .. } if messages.is_empty() && conversations.is_empty())
        );
    }
    // A frame naming a sender is not a frame the protocol knows.
    let forged = json!({"type": "send_chat", "id": 9, "to": "ben@example.com", "client_id": "f", "text": "hi", "from": "aiko@example.com"});
    mallory.send_raw(forged.to_string()).await.unwrap();
    assert_eq!(error_code(&mallory.frame().await.unwrap()), ErrorCode::BadFrame);
    // What she can send is always hers.
    chat(&mut mallory, "ben@example.com", "m", "hello").await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let page = ben
        .request(|id| ClientFrame::History { id, peer: "mallory@example.com".into(), before: None, limit: None })
        .await
        .unwrap();
    let ServerFrame::History { messages, .. } = page else { panic!() };
    assert_eq!(messages[0].from, "mallory@example.com");
    // Talking to oneself is refused.
    assert_eq!(error_code(&chat(&mut ben, "ben@example.com", "self", "me").await), ErrorCode::Invalid);
}
