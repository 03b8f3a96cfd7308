//! Presence: snapshots then changes, one agent across connections, the grace period,
//! last-writer-wins, scoped rosters and supervisors. The tests run on two runtime workers, so
//! presence goes through the relay's two fan-out lanes.

use std::time::Duration;

use protocol::{Channel, ClientFrame, ContactState, ContactSummary, ErrorCode, ServerFrame, StateKind};
use serde_json::json;
use server::clock::Clock;
use server::config::RosterBy;

use crate::support::{Issuer, Relay, error_code, expect_silence, next_presence_of, now_ms, set_state, subscribe};

fn roster_agents(frame: &ServerFrame) -> Vec<protocol::Presence> {
    match frame {
        ServerFrame::Roster { agents, .. } => agents.clone(),
        other => panic!("expected a roster, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_a_snapshot_then_every_change() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let since = now_ms() - 60_000;
    set_state(&mut aiko, "Available", StateKind::Routable, since).await;

    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let snapshot = roster_agents(&subscribe(&mut ben, None).await);
    let seen = snapshot.iter().find(|p| p.principal == "aiko@example.com").expect("aiko in the snapshot");
    assert_eq!((seen.state.name.as_str(), seen.since, seen.online), ("Available", since, true));

    let later = now_ms();
    let reply = aiko
        .request(|id| ClientFrame::SetPresence {
            id,
            state: protocol::AgentState { name: "Busy".into(), kind: StateKind::System },
            since: later,
            contact: Some(ContactSummary { channel: Channel::Voice, state: ContactState::Connected, since: later }),
            username: Some("aiko".into()),
            contact_id: None,
        })
        .await
        .unwrap();
    assert!(matches!(reply, ServerFrame::Ok { .. }));
    let change = next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((change.state.name.as_str(), change.state.kind, change.since), ("Busy", StateKind::System, later));
    assert_eq!(change.username.as_deref(), Some("aiko"));
    assert_eq!(change.contact.map(|c| (c.channel, c.state)), Some((Channel::Voice, ContactState::Connected)));
    assert_eq!(change.display_name, "Aiko");

    set_state(&mut aiko, "管理業務中", StateKind::NotRoutable, later + 1000).await;
    let custom = next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!(custom.state.name, "管理業務中");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_are_one_agent_and_a_quick_reconnect_does_not_flap() {
    let issuer = Issuer::start().await;
    let clock = Clock::manual(now_ms());
    let relay = Relay::start_clocked(&issuer, &clock, |c| c.presence_grace_ms = 500).await;
    let token = issuer.token("aiko@example.com");
    let mut tab1 = relay.login(&token).await;
    let mut tab2 = relay.login(&token).await;
    let since = now_ms() - 1000;
    set_state(&mut tab1, "Available", StateKind::Routable, since).await;
    // The second tab reports the same CCP state: nothing changes.
    set_state(&mut tab2, "Available", StateKind::Routable, since).await;

    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let snapshot = roster_agents(&subscribe(&mut ben, None).await);
    assert_eq!(snapshot.iter().filter(|p| p.principal == "aiko@example.com").count(), 1);

    tab1.close().await;
    tab2.close().await;
    // Back within the grace period: no Offline is ever shown, however long the relay's clock
    // then runs on.
    clock.advance(400);
    let mut tab3 = relay.login(&token).await;
    set_state(&mut tab3, "Available", StateKind::Routable, since).await;
    clock.advance(1200);
    expect_silence(&mut ben, Duration::from_millis(300)).await;

    tab3.close().await;
    // Once the relay has let the tab go (only Ben is left), the grace period runs.
    while !relay.metrics().await.contains("\nsidecar_connections 1\n") {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    expect_silence(&mut ben, Duration::from_millis(100)).await;
    clock.advance(500);
    let offline = next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((offline.state.kind, offline.online), (StateKind::Offline, false));
    assert_eq!(offline.state.name, "Offline");
    assert!(offline.since >= since, "offline since the last connection closed");
    assert!(offline.contact.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_stale_update_never_overwrites_a_newer_one() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    subscribe(&mut ben, None).await;
    let t = now_ms() - 10_000;
    set_state(&mut aiko, "Lunch", StateKind::NotRoutable, t + 5000).await;
    assert_eq!(next_presence_of(&mut ben, "aiko@example.com").await.state.name, "Lunch");
    // An older state arriving late (another tab, a slow network) is ignored.
    set_state(&mut aiko, "Available", StateKind::Routable, t).await;
    expect_silence(&mut ben, Duration::from_millis(300)).await;
    let snapshot = roster_agents(&subscribe(&mut ben, None).await);
    let aiko_now = snapshot.iter().find(|p| p.principal == "aiko@example.com").unwrap();
    assert_eq!(aiko_now.state.name, "Lunch");
    assert!(relay.metrics().await.contains("sidecar_presence_stale_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_reports_are_validated() {
    let issuer = Issuer::start().await;
    let relay = Relay::start(&issuer, |_| {}).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let cases = [
        json!({"type": "set_presence", "id": 1, "state": {"name": " ", "kind": "routable"}, "since": now_ms()}),
        json!({"type": "set_presence", "id": 2, "state": {"name": "x".repeat(200), "kind": "routable"}, "since": now_ms()}),
        json!({"type": "set_presence", "id": 3, "state": {"name": "Available", "kind": "routable"}, "since": now_ms() + 3_600_000}),
        json!({"type": "set_presence", "id": 4, "state": {"name": "Available", "kind": "routable"}, "since": 0}),
    ];
    for case in cases {
        aiko.send_raw(case.to_string()).await.unwrap();
        let reply = aiko.frame().await.unwrap();
        assert_eq!(error_code(&reply), ErrorCode::Invalid, "{case}");
        assert!(matches!(reply, ServerFrame::Error { id: Some(_), .. }), "the error echoes the id");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rosters_are_scoped_and_supervisors_see_everyone() {
    let issuer = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.json");
    std::fs::write(
        &directory,
        json!({"users": [
            {"id": "aiko@example.com", "display_name": "佐藤 愛子", "team": "tokyo"},
            {"id": "ben@example.com", "display_name": "Ben", "team": "tokyo"},
            {"id": "chen@example.com", "display_name": "Chen", "team": "osaka"},
            {"id": "sam@example.com", "display_name": "Sam", "team": "osaka"}
        ]})
        .to_string(),
    )
    .unwrap();
    let relay = Relay::start(&issuer, |c| {
        c.roster_by = RosterBy::Team;
        c.directory_file = Some(directory);
    })
    .await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let mut chen = relay.login(&issuer.token("chen@example.com")).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    let mut sam = relay.login(&issuer.supervisor_token("sam@example.com")).await;

    let tokyo = roster_agents(&subscribe(&mut ben, None).await);
    let names: Vec<_> = tokyo.iter().map(|p| p.display_name.as_str()).collect();
    assert_eq!(names, ["Ben", "佐藤 愛子"], "own team only, from the directory, offline until reported");
    assert!(tokyo.iter().all(|p| p.roster == "tokyo" && !p.online));
    assert_eq!(error_code(&subscribe(&mut ben, Some("osaka")).await), ErrorCode::Forbidden);
    assert_eq!(error_code(&subscribe(&mut ben, Some("*")).await), ErrorCode::Forbidden);
    let everyone = roster_agents(&subscribe(&mut sam, Some("*")).await);
    assert_eq!(everyone.len(), 4);

    let t = now_ms();
    set_state(&mut chen, "Available", StateKind::Routable, t).await;
    set_state(&mut aiko, "Available", StateKind::Routable, t).await;
    // Ben (tokyo) hears about Aiko and never about Chen (osaka).
    assert_eq!(next_presence_of(&mut ben, "aiko@example.com").await.state.name, "Available");
    expect_silence(&mut ben, Duration::from_millis(300)).await;
    // The supervisor hears both.
    next_presence_of(&mut sam, "chen@example.com").await;
    next_presence_of(&mut sam, "aiko@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_roster_arrives_in_small_frames() {
    let issuer = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("directory.toml");
    let users: String = (0..40)
        .map(|i| format!("[[users]]\nid = \"agent{i:02}@example.com\"\ndisplay_name = \"Agent {i:02}\"\n"))
        .collect();
    std::fs::write(&directory, users).unwrap();
    let relay = Relay::start(&issuer, |c| c.directory_file = Some(directory)).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    ben.send(&ClientFrame::Subscribe { id: 7, roster: None, rosters: Vec::new() }).await.unwrap();
    let mut frames = Vec::new();
    loop {
        let frame = ben.frame().await.unwrap();
        let ServerFrame::Roster { id, agents, complete, .. } = frame else { panic!("{frame:?}") };
        assert_eq!(id, 7);
        assert!(serde_json::to_string(&agents).unwrap().len() < 4096, "each frame stays small");
        frames.push(agents.len());
        if complete {
            break;
        }
    }
    assert_eq!(frames.iter().sum::<usize>(), 41, "forty from the directory and ben");
    assert!(frames.len() >= 4, "{frames:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_follows_the_ccp_not_the_socket() {
    let issuer = Issuer::start().await;
    let clock = Clock::manual(now_ms());
    let relay = Relay::start_clocked(&issuer, &clock, |c| c.presence_grace_ms = 300).await;
    let mut aiko = relay.login(&issuer.token("aiko@example.com")).await;
    let since = now_ms() - 1000;
    set_state(&mut aiko, "Available", StateKind::Routable, since).await;
    let mut ben = relay.login(&issuer.token("ben@example.com")).await;
    subscribe(&mut ben, None).await;

    // Her last CCP tab closed; the worker keeps its socket (and pings) for chat.
    let reply = aiko.request(|id| ClientFrame::ClearPresence { id }).await.unwrap();
    assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    clock.advance(300);
    let gone = next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((gone.state.name.as_str(), gone.online), ("Offline", false));
    let pong = aiko.request(|id| ClientFrame::Ping { id }).await.unwrap();
    assert!(matches!(pong, ServerFrame::Pong { .. }), "the connection itself stays");

    // A CCP on another device reports a start before the one the relay held: it is taken.
    set_state(&mut aiko, "Available", StateKind::Routable, since - 500).await;
    let back = next_presence_of(&mut ben, "aiko@example.com").await;
    assert_eq!((back.state.name.as_str(), back.since, back.online), ("Available", since - 500, true));
}
