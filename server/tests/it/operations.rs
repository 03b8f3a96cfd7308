//! Operations: health, readiness, metrics, graceful shutdown, durability across a restart,
//! and configuration through the real binary.

use protocol::{ClientFrame, CloseCode, ServerFrame, StateKind};

use crate::support::{Issuer, Relay, chat, now_ms, set_state, subscribe};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", relay.base));
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().text().await.unwrap(), "ready\n");
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    chat(&mut aiko, "ben@example.com", "1", "hi").await;
    let metrics = relay.metrics().await;
    for line in [
        "sidecar_connections 1",
        "sidecar_connections_total 1",
        "sidecar_chat_messages_total 1",
        "sidecar_chat_ack_seconds_count 1",
        "# TYPE sidecar_request_seconds histogram",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test]
async fn shutdown_tells_clients_to_reconnect() {
    let issuer = Issuer::start().await;
    let mut relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    relay.stop().await;
    for client in [&mut aiko, &mut ben] {
        let (code, _) = client.closed().await.unwrap();
        assert_eq!(code, CloseCode::Restarting.code());
        assert!(protocol::error::should_reconnect(code));
    }
}

#[tokio::test]
async fn messages_and_presence_survive_a_restart() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let since = now_ms() - 5000;
    set_state(&mut aiko, "休憩", StateKind::NotRoutable, since).await;
    for i in 1..=5 {
        chat(&mut aiko, "ben@example.com", &format!("m{i}"), &format!("メッセージ {i}")).await;
    }
    drop(aiko);
    let relay = relay.restart(&issuer, |_| {}).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let messages = history(&mut ben, "aiko@example.com").await;
    assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 4, 3, 2, 1]);
    assert_eq!(messages[4].text, "メッセージ 1");
    let roster = subscribe(&mut ben, None).await;
    let ServerFrame::Roster { agents, .. } = roster else { panic!() };
    let aiko_seen = agents.iter().find(|p| p.principal == "aiko@example.com").expect("aiko known after restart");
    // A restart shows her in her last state, not Offline, while she has time to reconnect.
    assert_eq!((aiko_seen.state.name.as_str(), aiko_seen.since, aiko_seen.online), ("休憩", since, true));
    // Aiko comes back and reports the same state (nothing to tell anyone), then a new one: the
    // first push Ben sees is the new state, so no Offline came between.
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    set_state(&mut aiko, "休憩", StateKind::NotRoutable, since).await;
    set_state(&mut aiko, "Available", StateKind::Routable, now_ms()).await;
    let back = crate::support::next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((back.state.name.as_str(), back.online), ("Available", true));
}

#[tokio::test]
async fn after_a_restart_whoever_does_not_come_back_goes_offline_after_the_grace_period() {
    let issuer = Issuer::start().await;
    let clock = server::clock::Clock::manual(now_ms());
    let relay = Relay::start_clocked(&issuer, &clock, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    set_state(&mut aiko, "Available", StateKind::Routable, now_ms() - 1000).await;
    drop(aiko);
    let relay = relay.restart(&issuer, |c| c.presence_grace_ms = 300).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let roster = subscribe(&mut ben, None).await;
    let ServerFrame::Roster { agents, .. } = roster else { panic!() };
    assert!(agents.iter().any(|p| p.principal == "aiko@example.com" && p.online), "{agents:?}");
    clock.advance(300);
    let gone = crate::support::next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((gone.state.name.as_str(), gone.online), ("Offline", false));
}

#[tokio::test]
async fn messages_past_the_retention_period_are_deleted() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    for i in 1..=3 {
        chat(&mut aiko, "ben@example.com", &format!("m{i}"), &format!("m{i}")).await;
    }
    drop(aiko);
    // Two days later, with a retention of one day: the job runs at start.
    let store = server::store::SqliteStore::open(&relay.data).unwrap();
    let old = server::store::NewMessage {
        from: "ben@example.com".into(),
        to: "aiko@example.com".into(),
        client_id: "old".into(),
        text: "from the day before yesterday".into(),
        sent_at: now_ms() - 2 * 86_400_000,
    };
    server::store::Store::append_message(&store, old).await.unwrap();
    drop(store);
    let relay = relay.restart(&issuer, |c| c.retention_days = 1).await;
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = relay.metrics().await;
        if metrics.contains("sidecar_expired_messages_total 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(metrics.contains("sidecar_expired_messages_total 1"), "{metrics}");
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let messages = history(&mut ben, "aiko@example.com").await;
    assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), [3, 2, 1], "the recent ones stay");
}

/// The newest page of the conversation with `peer`.
async fn history(client: &mut loadgen::Client, peer: &str) -> Vec<protocol::ChatMessage> {
    let page =
        client.request(|id| ClientFrame::History { id, peer: peer.into(), before: None, limit: None }).await.unwrap();
    let ServerFrame::History { messages, .. } = page else { panic!("{page:?}") };
    messages
}

fn relay_binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"))
}

#[test]
fn help_documents_every_setting_with_its_environment_variable() {
    let out = relay_binary().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for setting in [
        "--listen",
        "--data-dir",
        "--oidc-issuer",
        "--allowed-origins",
        "--dev-issuer",
        "--roster-by",
        "--max-text-chars",
    ] {
        assert!(help.contains(setting), "{setting} missing from --help");
    }
    assert!(help.contains("SIDECAR_LISTEN"));
}

#[test]
fn environment_and_file_settings_are_applied_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = relay_binary().env("SIDECAR_MAX_PAGE", "0").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-page"), "the environment variable was read");

    let file = dir.path().join("relay.toml");
    std::fs::write(&file, "listen = \"0.0.0.0:0\"\ndev_issuer = true\n").unwrap();
    let out = relay_binary().arg("--config").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("non-loopback"), "file settings are validated together");
}

#[tokio::test]
async fn the_extension_package_and_its_update_manifest_are_served_from_the_extension_dir() {
    let issuer = Issuer::start().await;
    let packages = tempfile::tempdir().unwrap();
    std::fs::write(packages.path().join("updates.xml"), "<gupdate/>").unwrap();
    std::fs::write(packages.path().join("ccp-sidecar-1.2.0.crx"), b"Cr24\x03").unwrap();
    std::fs::write(packages.path().join("key.pem"), "secret").unwrap();
    let dir = packages.path().to_path_buf();
    let relay = Relay::start(&issuer, move |c| c.extension_dir = Some(dir)).await;
    let get = |path: &str| reqwest::get(format!("{}{path}", relay.base));

    let xml = get("/extension/updates.xml").await.unwrap();
    assert_eq!(xml.status(), 200);
    assert_eq!(xml.headers()["content-type"], "application/xml; charset=utf-8");
    assert_eq!(xml.headers()["cache-control"], "no-cache", "every update check reads it again");
    assert_eq!(xml.text().await.unwrap(), "<gupdate/>");
    let crx = get("/extension/ccp-sidecar-1.2.0.crx").await.unwrap();
    assert_eq!(crx.headers()["content-type"], "application/x-chrome-extension");
    assert_eq!(crx.bytes().await.unwrap().as_ref(), b"Cr24\x03");
    for path in ["/extension/key.pem", "/extension/..%2fupdates.xml", "/extension/missing.crx", "/extension/"] {
        assert_eq!(get(path).await.unwrap().status(), 404, "{path}");
    }

    // Without --extension-dir there is nothing under /extension/.
    let plain = Relay::start(&issuer, |_| {}).await;
    assert_eq!(reqwest::get(format!("{}/extension/updates.xml", plain.base)).await.unwrap().status(), 404);
}
