//! Help requests: asked, delivered to the supervisors watching the roster, taken once, closed or
//! cancelled for everyone; durable across a restart; the day's figures; and subscriptions of
//! several rosters, which only supervisors may hold. Time goes by the relay's manual clock.

use std::time::Duration;

use loadgen::Client;
use protocol::{ClientFrame, ErrorCode, HelpRequest, HelpStats, HelpStatus, ServerFrame, StateKind};
use serde_json::json;
use server::clock::Clock;
use server::config::RosterBy;

use crate::support::{Issuer, Relay, error_code, expect_silence, next_presence_of, now_ms, set_state};

const SUPERVISORS: [&str; 3] = ["sam", "taro", "hana"];

/// A relay whose directory puts aiko and ben in `tokyo`, chen in `osaka`, dan in `nagoya`, and the
/// supervisors sam, taro and hana in `floor`; rosters by team; time by a manual clock.
struct Floor {
    issuer: Issuer,
    relay: Relay,
    clock: Clock,
    _dir: tempfile::TempDir,
    directory: std::path::PathBuf,
}

impl Floor {
    async fn start() -> Self {
        let issuer = Issuer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let directory = dir.path().join("directory.json");
        let user = |id: &str, name: &str, team: &str| json!({"id": format!("{id}@example.com"), "display_name": name, "team": team});
        let users = vec![
            user("aiko", "佐藤 愛子", "tokyo"),
            user("ben", "Ben", "tokyo"),
            user("chen", "Chen", "osaka"),
            user("dan", "Dan", "nagoya"),
            user("sam", "Sam", "floor"),
            user("taro", "Taro", "floor"),
            user("hana", "Hana", "floor"),
        ];
        std::fs::write(&directory, json!({ "users": users }).to_string()).unwrap();
        let clock = Clock::manual(now_ms());
        let edit = configure(directory.clone());
        let relay = Relay::start_clocked(&issuer, &clock, edit).await;
        Self { issuer, relay, clock, _dir: dir, directory }
    }

    async fn restart(self) -> Self {
        let Self { issuer, relay, clock, _dir, directory } = self;
        let relay = relay.restart(&issuer, configure(directory.clone())).await;
        Self { issuer, relay, clock, _dir, directory }
    }

    /// `name`'s connection, as a supervisor for the floor's supervisors.
    async fn login(&self, name: &str) -> Client {
        let email = format!("{name}@example.com");
        let token =
            if SUPERVISORS.contains(&name) { self.issuer.supervisor_token(&email) } else { self.issuer.token(&email) };
        self.relay.login(&token).await
    }

    /// `name`, connected and subscribed to `rosters` (their own when empty).
    async fn watching(&self, name: &str, rosters: &[&str]) -> Client {
        let mut client = self.login(name).await;
        let frames = subscribe(&mut client, rosters).await;
        assert!(matches!(frames.last(), Some(ServerFrame::Roster { complete: true, .. })), "{frames:?}");
        client
    }
}

fn configure(directory: std::path::PathBuf) -> impl FnOnce(&mut server::Config) {
    move |c| {
        c.roster_by = RosterBy::Team;
        c.directory_file = Some(directory);
    }
}

/// Subscribes to `rosters` and returns every frame of the snapshot, or the error frame.
async fn subscribe(client: &mut Client, rosters: &[&str]) -> Vec<ServerFrame> {
    let rosters = rosters.iter().map(|r| (*r).to_owned()).collect();
    let first = client.request(|id| ClientFrame::Subscribe { id, roster: None, rosters }).await.unwrap();
    let mut frames = vec![first];
    while let Some(ServerFrame::Roster { id, complete: false, .. }) = frames.last() {
        let id = *id;
        frames.push(client.reply(id).await.unwrap());
    }
    frames
}

/// The reply to a help frame made with a fresh id.
async fn help(client: &mut Client, make: impl FnOnce(u64) -> ClientFrame) -> ServerFrame {
    client.request(make).await.unwrap()
}

async fn ask(client: &mut Client, reason: &str, note: &str) -> ServerFrame {
    help(client, |id| ClientFrame::AskHelp { id, reason: reason.into(), note: note.into() }).await
}

/// The request of a `help_ack`, with its supervisor count and duplicate flag.
fn acked(frame: &ServerFrame) -> (HelpRequest, u32, bool) {
    match frame {
        ServerFrame::HelpAck { request, supervisors, duplicate, .. } => ((**request).clone(), *supervisors, *duplicate),
        other => panic!("expected help_ack, got {other:?}"),
    }
}

async fn take(client: &mut Client, request: u64) -> ServerFrame {
    help(client, |id| ClientFrame::TakeHelp { id, request }).await
}

async fn close(client: &mut Client, request: u64) -> ServerFrame {
    help(client, |id| ClientFrame::CloseHelp { id, request }).await
}

async fn cancel(client: &mut Client, request: u64) -> ServerFrame {
    help(client, |id| ClientFrame::CancelHelp { id, request }).await
}

async fn listed(client: &mut Client, since: Option<i64>) -> (Vec<HelpRequest>, Vec<HelpStats>) {
    match help(client, |id| ClientFrame::HelpRequests { id, since }).await {
        ServerFrame::HelpRequests { requests, stats, .. } => (requests, stats),
        other => panic!("expected help_requests, got {other:?}"),
    }
}

/// The next `help` push, skipping other pushes.
async fn next_help(client: &mut Client) -> HelpRequest {
    loop {
        if let ServerFrame::Help { request } = client.frame().await.unwrap() {
            return *request;
        }
    }
}

fn ids(requests: &[HelpRequest]) -> Vec<(u64, HelpStatus)> {
    requests.iter().map(|r| (r.id, r.status)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_reaches_the_supervisors_watching_and_one_of_them_takes_it() {
    let floor = Floor::start().await;
    let mut sam = floor.watching("sam", &["tokyo", "osaka"]).await;
    let mut taro = floor.watching("taro", &["tokyo"]).await;
    let mut hana = floor.watching("hana", &["osaka"]).await;
    let mut aiko = floor.login("aiko").await;
    let mut aiko_tab2 = floor.login("aiko").await;
    let mut ben = floor.watching("ben", &[]).await;

    let asked_at = floor.clock.now_ms();
    let (request, supervisors, duplicate) = acked(&ask(&mut aiko, "complaint", "お客様が上長を希望").await);
    assert_eq!((supervisors, duplicate), (2, false), "sam and taro watch tokyo");
    assert_eq!((request.agent.as_str(), request.display_name.as_str()), ("aiko@example.com", "佐藤 愛子"));
    assert_eq!(
        (request.roster.as_str(), request.reason.as_str(), request.note.as_str()),
        ("tokyo", "complaint", "お客様が上長を希望")
    );
    assert_eq!((request.status, request.asked_at), (HelpStatus::Open, asked_at));
    assert_eq!(next_help(&mut sam).await, request);
    assert_eq!(next_help(&mut taro).await, request);
    assert_eq!(next_help(&mut aiko_tab2).await, request, "the agent's other tab");
    expect_silence(&mut hana, Duration::from_millis(200)).await;
    expect_silence(&mut ben, Duration::from_millis(100)).await;

    // Nobody may take it but a supervisor watching tokyo; taro is first.
    assert_eq!(error_code(&take(&mut ben, request.id).await), ErrorCode::Forbidden, "an agent");
    assert_eq!(error_code(&take(&mut hana, request.id).await), ErrorCode::Forbidden, "not watching tokyo");
    floor.clock.advance(30_000);
    let (taken, supervisors, _) = acked(&take(&mut taro, request.id).await);
    assert_eq!((taken.status, taken.taken_by.as_deref()), (HelpStatus::Taken, Some("taro@example.com")));
    assert_eq!((taken.taken_by_name.as_deref(), taken.wait_ms()), (Some("Taro"), Some(30_000)));
    assert_eq!(supervisors, 2);
    let told = next_help(&mut aiko).await;
    assert_eq!((told.status, told.taken_by_name.as_deref()), (HelpStatus::Taken, Some("Taro")), "Taro is on it");
    assert_eq!(next_help(&mut sam).await, taken, "every other supervisor sees it taken");
    let refused = take(&mut sam, request.id).await;
    assert_eq!(error_code(&refused), ErrorCode::AlreadyTaken);
    let ServerFrame::Error { error, .. } = refused else { unreachable!() };
    assert!(error.message.contains("Taro"), "the second taker is told who: {}", error.message);
    assert!(acked(&take(&mut taro, request.id).await).2, "taking it again is a duplicate");
    assert_eq!(error_code(&cancel(&mut aiko, request.id).await), ErrorCode::AlreadyTaken);

    // The taker closes it; the agent and every supervisor watching hear it.
    assert_eq!(error_code(&close(&mut sam, request.id).await), ErrorCode::Forbidden, "not the taker");
    let (closed, _, _) = acked(&close(&mut taro, request.id).await);
    assert_eq!(closed.status, HelpStatus::Closed);
    assert_eq!(next_help(&mut aiko).await, closed);
    assert_eq!(next_help(&mut sam).await, closed);
    assert_eq!(error_code(&take(&mut sam, request.id).await), ErrorCode::AlreadyEnded);
    expect_silence(&mut hana, Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_watching_the_agent_is_told_and_a_later_supervisor_sees_only_live_requests() {
    let floor = Floor::start().await;
    let mut aiko = floor.login("aiko").await;
    let mut ben = floor.login("ben").await;
    let mut chen = floor.login("chen").await;
    let mut dan = floor.login("dan").await;

    let (open, supervisors, _) = acked(&ask(&mut aiko, "question", "").await);
    assert_eq!((supervisors, open.status), (0, HelpStatus::Open), "nobody connected: told, and kept open");
    let (again, _, duplicate) = acked(&ask(&mut aiko, "other", "resent").await);
    assert!(duplicate, "asking again while open answers with the open request");
    assert_eq!(again, open);

    let (withdrawn, _, _) = acked(&ask(&mut ben, "product", "").await);
    let (cancelled, _, _) = acked(&cancel(&mut ben, withdrawn.id).await);
    assert_eq!(cancelled.status, HelpStatus::Cancelled);

    let mut taro = floor.watching("taro", &["osaka", "nagoya"]).await;
    let (chens, _, _) = acked(&ask(&mut chen, "escalation", "").await);
    next_help(&mut taro).await;
    let (dans, supervisors, _) = acked(&ask(&mut dan, "other", "").await);
    assert_eq!(supervisors, 1);
    next_help(&mut taro).await;
    acked(&take(&mut taro, chens.id).await);
    acked(&take(&mut taro, dans.id).await);
    acked(&close(&mut taro, dans.id).await);

    // A supervisor connecting afterwards sees the open one and the taken-not-closed one only.
    let mut sam = floor.watching("sam", &["*"]).await;
    let (requests, _) = listed(&mut sam, None).await;
    assert_eq!(ids(&requests), [(open.id, HelpStatus::Open), (chens.id, HelpStatus::Taken)]);
    // A supervisor watching tokyo only sees tokyo's; the agents their own.
    let mut hana = floor.watching("hana", &["tokyo"]).await;
    assert_eq!(ids(&listed(&mut hana, None).await.0), [(open.id, HelpStatus::Open)]);
    let (mine, stats) = listed(&mut aiko, Some(floor.clock.now_ms() - 1000)).await;
    assert_eq!((ids(&mine), stats), (vec![(open.id, HelpStatus::Open)], vec![]), "agents get no figures");
    assert!(listed(&mut ben, None).await.0.is_empty(), "ben's was cancelled");

    // A cancel reaches every supervisor watching.
    let mut second = floor.watching("sam", &["tokyo"]).await;
    acked(&cancel(&mut aiko, open.id).await);
    for sup in [&mut sam, &mut hana, &mut second] {
        let told = next_help(sup).await;
        assert_eq!((told.id, told.status), (open.id, HelpStatus::Cancelled));
    }
    expect_silence(&mut taro, Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_restart_loses_no_request() {
    let floor = Floor::start().await;
    let mut aiko = floor.login("aiko").await;
    let mut ben = floor.login("ben").await;
    let mut taro = floor.watching("taro", &["tokyo"]).await;
    let (open, _, _) = acked(&ask(&mut aiko, "complaint", "待ち").await);
    let (taken_one, _, _) = acked(&ask(&mut ben, "product", "").await);
    let (taken, _, _) = acked(&take(&mut taro, taken_one.id).await);
    drop((aiko, ben, taro));

    let floor = floor.restart().await;
    let mut sam = floor.watching("sam", &["tokyo"]).await;
    let (requests, _) = listed(&mut sam, None).await;
    assert_eq!(requests, [open.clone(), taken.clone()], "both, exactly as they were");

    // They go on where they were: the taker closes, the agent cancels, ids are not reused.
    let mut taro = floor.watching("taro", &["tokyo"]).await;
    let mut ben = floor.login("ben").await;
    assert_eq!(acked(&close(&mut taro, taken.id).await).0.status, HelpStatus::Closed);
    assert_eq!(next_help(&mut ben).await.status, HelpStatus::Closed);
    let mut aiko = floor.login("aiko").await;
    assert_eq!(acked(&ask(&mut aiko, "other", "").await).0, open, "still her open request");
    assert_eq!(acked(&cancel(&mut aiko, open.id).await).0.status, HelpStatus::Cancelled);
    let (next, _, _) = acked(&ask(&mut aiko, "other", "").await);
    assert!(next.id > taken.id, "a new id: {} after {}", next.id, taken.id);
    assert_eq!(ids(&listed(&mut sam, None).await.0), [(next.id, HelpStatus::Open)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_days_figures_count_every_request_of_the_watched_rosters() {
    let floor = Floor::start().await;
    let mut sam = floor.watching("sam", &["tokyo", "osaka", "nagoya"]).await;
    let mut taro = floor.watching("taro", &["*"]).await;
    let mut agents = Vec::new();
    for name in ["aiko", "ben", "chen", "dan"] {
        agents.push(floor.login(name).await);
    }
    // Yesterday's request does not count today.
    let (old, _, _) = acked(&ask(&mut agents[0], "other", "").await);
    acked(&cancel(&mut agents[0], old.id).await);
    floor.clock.advance(60_000);
    let midnight = floor.clock.now_ms();

    // tokyo: waits of 10 s and 30 s, one cancelled; osaka: a wait of 20 s, closed; nagoya: open.
    let mut asked = Vec::new();
    for agent in &mut agents {
        asked.push(acked(&ask(agent, "complaint", "").await).0);
    }
    floor.clock.advance(10_000);
    acked(&take(&mut sam, asked[0].id).await);
    floor.clock.advance(10_000);
    acked(&take(&mut taro, asked[2].id).await);
    acked(&close(&mut taro, asked[2].id).await);
    floor.clock.advance(10_000);
    acked(&take(&mut sam, asked[3].id).await);
    acked(&cancel(&mut agents[1], asked[1].id).await);
    acked(&ask(&mut agents[1], "product", "").await);

    let (_, stats) = listed(&mut sam, Some(midnight)).await;
    let row = |roster: &str| {
        stats.iter().find(|s| s.roster == roster).cloned().unwrap_or_else(|| panic!("{roster}: {stats:?}"))
    };
    let tokyo = row("tokyo");
    assert_eq!((tokyo.asked, tokyo.taken, tokyo.cancelled), (3, 1, 1), "{tokyo:?}");
    assert_eq!((tokyo.median_wait_ms, tokyo.longest_wait_ms), (Some(10_000), Some(10_000)));
    let osaka = row("osaka");
    assert_eq!((osaka.asked, osaka.taken, osaka.median_wait_ms), (1, 1, Some(20_000)));
    let nagoya = row("nagoya");
    assert_eq!((nagoya.asked, nagoya.taken, nagoya.longest_wait_ms), (1, 1, Some(30_000)));
    assert_eq!(stats.len(), 3, "watched rosters only: {stats:?}");
    let (_, everything) = listed(&mut taro, Some(midnight)).await;
    assert_eq!(everything, stats, "`*` sees the same rosters, every one with requests");
    let (_, with_yesterday) = listed(&mut taro, Some(midnight - 120_000)).await;
    assert_eq!(with_yesterday.iter().find(|s| s.roster == "tokyo").map(|s| (s.asked, s.cancelled)), Some((4, 2)));

    let invalid = help(&mut sam, |id| ClientFrame::HelpRequests { id, since: Some(midnight - 8 * 86_400_000) }).await;
    assert_eq!(error_code(&invalid), ErrorCode::Invalid, "a week back at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_names_another_agent_and_every_refusal_has_its_code() {
    let floor = Floor::start().await;
    let mut aiko = floor.login("aiko").await;
    let mut ben = floor.login("ben").await;
    aiko.send_raw(json!({"type": "ask_help", "id": 1, "reason": "other", "agent": "ben@example.com"}).to_string())
        .await
        .unwrap();
    let reply = aiko.frame().await.unwrap();
    assert_eq!(error_code(&reply), ErrorCode::BadFrame, "no field names the sender");
    assert_eq!(error_code(&ask(&mut aiko, " ", "").await), ErrorCode::Invalid);
    assert_eq!(error_code(&ask(&mut aiko, &"x".repeat(65), "").await), ErrorCode::Invalid);
    assert_eq!(error_code(&ask(&mut aiko, "other", &"あ".repeat(501)).await), ErrorCode::TooLarge);
    let (request, _, _) = acked(&ask(&mut aiko, "other", &"あ".repeat(500)).await);
    assert_eq!(request.agent, "aiko@example.com");
    assert_eq!(error_code(&cancel(&mut ben, request.id).await), ErrorCode::Forbidden, "not his");
    assert_eq!(error_code(&cancel(&mut ben, request.id + 100).await), ErrorCode::NotFound);
    let mut sam = floor.watching("sam", &["tokyo"]).await;
    acked(&ask(&mut sam, "other", "").await);
    let (own, _) = listed(&mut sam, None).await;
    let sams = own.iter().find(|r| r.agent == "sam@example.com").expect("a supervisor may ask too");
    assert_eq!(error_code(&take(&mut sam, sams.id).await), ErrorCode::Forbidden, "not one's own");
    let metrics = floor.relay.metrics().await;
    for (code, n) in [("not_found", 1), ("forbidden", 2), ("invalid", 2), ("too_large", 1), ("already_taken", 0)] {
        let line = format!("sidecar_errors_total{{code=\"{code}\"}} {n}\n");
        assert!(metrics.contains(&line), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_may_watch_several_rosters_and_agents_only_their_own() {
    let floor = Floor::start().await;
    let mut ben = floor.login("ben").await;
    assert!(matches!(subscribe(&mut ben, &["tokyo"]).await.last(), Some(ServerFrame::Roster { complete: true, .. })));
    for rosters in [&["tokyo", "osaka"][..], &["osaka"], &["*"], &["tokyo", "*"]] {
        assert_eq!(error_code(&subscribe(&mut ben, rosters).await[0]), ErrorCode::Forbidden, "{rosters:?}");
    }
    let both = |id| ClientFrame::Subscribe { id, roster: Some("tokyo".into()), rosters: vec!["tokyo".into()] };
    let reply = ben.request(both).await.unwrap();
    assert_eq!(error_code(&reply), ErrorCode::Invalid, "roster and rosters together");

    let mut sam = floor.login("sam").await;
    let frames = subscribe(&mut sam, &["osaka", "tokyo", "osaka", "empty"]).await;
    let shape: Vec<(String, Vec<String>, bool)> = frames
        .iter()
        .map(|f| match f {
            ServerFrame::Roster { roster, agents, complete, .. } => {
                (roster.clone(), agents.iter().map(|a| a.display_name.clone()).collect(), *complete)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let expected =
        [("osaka", vec!["Chen"], false), ("tokyo", vec!["Ben", "佐藤 愛子"], false), ("empty", vec![], true)];
    let expected: Vec<(String, Vec<String>, bool)> = expected
        .into_iter()
        .map(|(r, names, c)| (r.to_owned(), names.into_iter().map(String::from).collect(), c))
        .collect();
    assert_eq!(shape, expected, "roster after roster, in the order named, once each, complete at the end");

    let t = now_ms();
    let mut chen = floor.login("chen").await;
    let mut dan = floor.login("dan").await;
    set_state(&mut chen, "Available", StateKind::Routable, t).await;
    set_state(&mut ben, "Busy", StateKind::System, t).await;
    set_state(&mut dan, "Available", StateKind::Routable, t).await;
    assert_eq!(next_presence_of(&mut sam, "chen@example.com").await.state.name, "Available");
    assert_eq!(next_presence_of(&mut sam, "ben@example.com").await.state.name, "Busy");
    expect_silence(&mut sam, Duration::from_millis(200)).await;
    // Subscribing again replaces the whole set.
    subscribe(&mut sam, &["nagoya"]).await;
    set_state(&mut dan, "Lunch", StateKind::NotRoutable, t + 1).await;
    set_state(&mut chen, "Lunch", StateKind::NotRoutable, t + 1).await;
    assert_eq!(next_presence_of(&mut sam, "dan@example.com").await.state.name, "Lunch");
    expect_silence(&mut sam, Duration::from_millis(200)).await;
}
