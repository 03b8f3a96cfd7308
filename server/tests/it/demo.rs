//! The demo's pieces together: the relay's development issuer and directory, a simulated
//! colleague who changes state and answers chat, and a person signed in as `you`.

use protocol::{ClientFrame, DirectoryFile, DirectoryUser, ServerFrame};

use crate::support::{Issuer, Relay};

/// A relay on the demo's directory with its development issuer, and one of the directory's users.
async fn demo_relay(user: &str) -> (Issuer, Relay, DirectoryUser) {
    let issuer = Issuer::start().await;
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/directory.json");
    let relay = Relay::start(&issuer, |c| {
        c.dev_issuer = true;
        c.directory_file = Some(directory.into());
    })
    .await;
    let file: DirectoryFile = serde_json::from_str(&std::fs::read_to_string(directory).unwrap()).unwrap();
    let user = file.users.iter().find(|u| u.id == user).unwrap().clone();
    (issuer, relay, user)
}

#[tokio::test]
async fn a_simulated_colleague_shows_up_and_answers_chat() {
    let (_issuer, relay, kenji) = demo_relay("kenji.tanaka@example.com").await;
    let http = reqwest::Client::new();
    let token = loadgen::tokens::dev_token(&http, &relay.base, "you@example.com", "You", &[]).await.unwrap();
    let mut you = relay.login(&token).await;
    let (_, roster) = you.subscribe(None).await.unwrap();
    assert_eq!(roster.len(), 11, "everyone in the demo directory is listed");
    assert!(roster.iter().all(|p| !p.online));
    let (base, url) = (relay.base.clone(), relay.url.clone());
    let habits = loadgen::colleagues::Habits::default();
    tokio::spawn(async move { loadgen::colleagues::run(&base, &url, kenji, 1, habits).await });
    let kenji_now = crate::support::next_presence_of(&mut you, "kenji.tanaka@example.com").await;
    assert_eq!(kenji_now.display_name, "田中 健二");
    assert!(kenji_now.online);

    let ack = crate::support::chat(&mut you, "kenji.tanaka@example.com", "q1", "お疲れさまです、今いいですか？").await;
    assert!(matches!(ack, ServerFrame::ChatAck { seq: 1, .. }), "{ack:?}");
    let reply = loop {
        if let ServerFrame::Chat { message } = you.frame().await.unwrap() {
            break message;
        }
    };
    assert_eq!(reply.from, "kenji.tanaka@example.com");
    assert!(reply.text.contains("了解"), "{}", reply.text);
    let list = you.request(|id| ClientFrame::Conversations { id }).await.unwrap();
    let ServerFrame::Conversations { conversations, .. } = list else { panic!() };
    assert_eq!((conversations[0].read_seq, conversations[0].unread), (0, 1), "kenji's reply is unread");
}

#[tokio::test]
async fn a_simulated_colleague_asks_a_supervisor_for_help() {
    let (_issuer, relay, hiro) = demo_relay("hiro.ito@example.com").await;
    let http = reqwest::Client::new();
    let token =
        loadgen::tokens::dev_token(&http, &relay.base, "sam@example.com", "Sam", &["supervisors"]).await.unwrap();
    let mut sam = relay.login(&token).await;
    sam.subscribe(Some("*")).await.unwrap();
    let (base, url) = (relay.base.clone(), relay.url.clone());
    let habits = loadgen::colleagues::Habits { asks_help: Some(std::time::Duration::ZERO), ..Default::default() };
    tokio::spawn(async move { loadgen::colleagues::run(&base, &url, hiro, 1, habits).await });
    let request = loop {
        if let ServerFrame::Help { request } = sam.frame().await.unwrap() {
            break request;
        }
    };
    assert_eq!((request.agent.as_str(), request.reason.as_str()), ("hiro.ito@example.com", "complaint"));
    assert!(!request.note.is_empty());
    let taken = sam.request(|id| ClientFrame::TakeHelp { id, request: request.id }).await.unwrap();
    assert!(matches!(taken, ServerFrame::HelpAck { duplicate: false, .. }), "{taken:?}");
}
