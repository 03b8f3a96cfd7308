//! Connect's real-time data and supervisor actions: the relay binary (feature `connect`) reading
//! the Connect stand-in's `GetCurrentUserData` through the real AWS SDK. Agents known only from
//! Connect on the floor and following it, the extension taking over without flapping, reads
//! failing and recovering, listen-in and set-status checked and refused, and the quota kept at
//! 5,000 agents whoever watches.

use std::process::Stdio;
use std::time::{Duration, Instant};

use connect_fake::{AgentNow, Behaviour, ContactNow, FakeConnect, INSTANCE_ID, Monitor, Shape};
use loadgen::Client;
use protocol::{
    Channel, ClientFrame, ContactState, ContactSummary, ErrorCode, Presence, ServerFrame, Source, StateKind,
};
use tokio::process::{Child, Command};

use crate::support::{AUDIENCE, Issuer, error_code, now_ms, subscribe};

/// The generated instance's principal and Connect user id of user `i`.
fn agent(i: usize) -> String {
    format!("agent{i:05}@example.com")
}

struct Relay {
    _child: Child,
    ws: String,
    base: String,
}

/// The relay reading `fake` every second (`extra` flags added), rosters by routing profile
/// (user `i` is in `rp-{i % 3}` in the small instance).
async fn start(issuer: &Issuer, fake: &FakeConnect, extra: &[&str]) -> (Relay, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir", data.path().to_str().unwrap()])
        .args(["--oidc-issuer", &issuer.url, "--oidc-audience", AUDIENCE])
        .args(["--connect-instance-id", INSTANCE_ID, "--connect-endpoint", &fake.url])
        .args(["--connect-region", "ap-northeast-1", "--connect-poll-s", "1", "--roster-by", "routing-profile"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "AKIDFAKE")
        .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the relay binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    // Ready, and the directory read from Connect (its users carry their Connect user ids).
    loop {
        let ready = reqwest::get(format!("{base}/readyz")).await;
        if let Ok(r) = ready
            && r.text().await.unwrap_or_default().contains("directory_age_s")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the relay did not read the directory");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Relay { _child: child, ws: format!("ws://127.0.0.1:{port}/ws"), base }, data)
}

async fn login(relay: &Relay, token: &str) -> Client {
    Client::login(&relay.ws, token).await.unwrap().0
}

fn fast() -> Behaviour {
    Behaviour { quota: Some((50.0, 10)), ..Behaviour::default() }
}

fn logged_in(user: usize, status: &str, since_ms: i64, contacts: Vec<ContactNow>) -> AgentNow {
    AgentNow { user, status: status.into(), since_ms, contacts }
}

fn on_call(contact_id: &str) -> Vec<ContactNow> {
    vec![ContactNow { contact_id: contact_id.into(), state: "CONNECTED".into(), since_ms: now_ms() - 5_000 }]
}

/// A supervisor's connection, keeping the latest `connect_feed` while it waits for presence.
struct Floor {
    client: Client,
    feed: Option<protocol::ConnectFeed>,
}

impl Floor {
    /// Logs in and subscribes to `roster`.
    async fn open(relay: &Relay, token: &str, roster: &str) -> Self {
        let mut client = login(relay, token).await;
        match subscribe(&mut client, Some(roster)).await {
            ServerFrame::Roster { .. } => {}
            other => panic!("{other:?}"),
        }
        Self { client, feed: None }
    }

    /// The next frame within `left` (a feed is kept).
    async fn next(&mut self, left: Duration) -> ServerFrame {
        let event = tokio::time::timeout(left, self.client.next()).await.expect("timed out").expect("an event");
        match event {
            loadgen::client::Event::Frame(ServerFrame::ConnectFeed { feed }) => {
                self.feed = Some(feed.clone());
                ServerFrame::ConnectFeed { feed }
            }
            loadgen::client::Event::Frame(frame) => frame,
            closed => panic!("{closed:?}"),
        }
    }

    /// Reads frames until `principal`'s presence satisfies `done`.
    async fn until_presence(&mut self, principal: &str, done: impl Fn(&Presence) -> bool) -> Presence {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let agents = match self.next(deadline.saturating_duration_since(Instant::now())).await {
                ServerFrame::Presence { presence } => vec![presence],
                ServerFrame::Roster { agents, .. } => agents,
                _ => continue,
            };
            if let Some(p) = agents.into_iter().find(|p| p.principal == principal && done(p)) {
                return p;
            }
        }
    }

    /// The latest feed once it satisfies `done`.
    async fn until_feed(&mut self, done: impl Fn(&protocol::ConnectFeed) -> bool) -> protocol::ConnectFeed {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(feed) = self.feed.as_ref().filter(|f| done(f)) {
                return feed.clone();
            }
            self.next(deadline.saturating_duration_since(Instant::now())).await;
        }
    }

    /// Presence pushes for `principal` already received (drained without waiting long).
    async fn pushes_of(&mut self, principal: &str) -> Vec<Presence> {
        let mut found = Vec::new();
        while let Ok(Ok(loadgen::client::Event::Frame(frame))) =
            tokio::time::timeout(Duration::from_millis(200), self.client.next()).await
        {
            if let ServerFrame::Presence { presence } = frame
                && presence.principal == principal
            {
                found.push(presence);
            }
        }
        found
    }

    async fn request(&mut self, make: impl FnOnce(u64) -> ClientFrame) -> ServerFrame {
        self.client.request(make).await.unwrap()
    }
}

#[tokio::test]
async fn agents_only_in_connect_are_on_the_floor_follow_it_and_give_way_to_the_extension() {
    let issuer = Issuer::start().await;
    let fake = FakeConnect::start(Shape::small(), fast()).await.unwrap();
    let start_of_day = now_ms() - 3_600_000;
    fake.set_agent(logged_in(3, "Available", start_of_day, Vec::new()));
    fake.set_agent(logged_in(6, "Break", start_of_day, Vec::new()));
    let (relay, _data) = start(&issuer, &fake, &[]).await;
    let mut supervisor = Floor::open(&relay, &issuer.supervisor_token(&agent(0)), "rp-0000").await;

    // Agent 3 has no extension: the floor shows Connect's state with its marker.
    let three = supervisor.until_presence(&agent(3), |p| p.source == Source::Connect).await;
    assert_eq!(
        (three.state.name.as_str(), three.state.kind, three.since),
        ("Available", StateKind::Routable, start_of_day)
    );
    assert!(three.online && !three.ccp_closed);
    // Connect's data changes: so does the floor.
    let later = now_ms() - 1_000;
    fake.set_agent(logged_in(3, "管理業務中", later, Vec::new()));
    let three = supervisor.until_presence(&agent(3), |p| p.state.name == "管理業務中").await;
    assert_eq!((three.state.kind, three.since, three.source), (StateKind::NotRoutable, later, Source::Connect));

    // Agent 3 opens the CCP with the extension: its presence wins at once.
    let mut three_ext = login(&relay, &issuer.token(&agent(3))).await;
    crate::support::set_state(&mut three_ext, "Available", StateKind::Routable, now_ms()).await;
    let three = supervisor.until_presence(&agent(3), |p| p.source == Source::Extension).await;
    assert_eq!(three.state.name, "Available");
    // Connect still says 管理業務中, then Break: nothing reaches the floor for agent 3 while the
    // extension reports. The barrier: agent 6's change read after those.
    fake.set_agent(logged_in(3, "Break", now_ms(), Vec::new()));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    fake.set_agent(logged_in(6, "Lunch", now_ms(), Vec::new()));
    let six = supervisor.until_presence(&agent(6), |p| p.state.name == "Lunch").await;
    assert_eq!(six.source, Source::Connect);
    let flaps = supervisor.pushes_of(&agent(3)).await;
    assert!(flaps.is_empty(), "the extension's presence held: {flaps:?}");

    // Agent 6 logs out of Connect: Offline.
    fake.remove_agent(6);
    let six = supervisor.until_presence(&agent(6), |p| !p.online).await;
    assert_eq!((six.state.kind, six.source), (StateKind::Offline, Source::Extension));
}

#[tokio::test]
async fn failed_reads_age_the_rows_then_show_unknown_and_a_read_restores_them() {
    let issuer = Issuer::start().await;
    let fake = FakeConnect::start(Shape::small(), fast()).await.unwrap();
    fake.set_agent(logged_in(3, "Available", now_ms() - 60_000, Vec::new()));
    let (relay, _data) = start(&issuer, &fake, &["--connect-unknown-after-s", "6"]).await;
    let mut supervisor = Floor::open(&relay, &issuer.supervisor_token(&agent(0)), "rp-0000").await;
    supervisor.until_presence(&agent(3), |p| p.source == Source::Connect && p.state.name == "Available").await;
    let fresh = supervisor.until_feed(|f| f.read_at.is_some() && !f.stale).await;
    assert!(!fresh.statuses.is_empty(), "the statuses a supervisor may set: {fresh:?}");

    // Connect starts failing: the feed turns stale (its read time is the last good one) and,
    // after the limit, agent 3 shows Unknown, never a wrong Available.
    fake.set_behaviour(Behaviour { broken_operation: Some("GetCurrentUserData"), ..fast() });
    let broke_at = now_ms();
    let stale = supervisor.until_feed(|f| f.stale).await;
    assert!(stale.read_at.is_some_and(|at| at <= broke_at + 1_500), "{stale:?}");
    let three = supervisor.until_presence(&agent(3), |p| p.state.kind == StateKind::Unknown).await;
    assert_eq!((three.source, three.contact), (Source::Connect, None));
    assert!(now_ms() - broke_at >= 5_000, "Unknown only after the limit");
    let metrics = reqwest::get(format!("{}/metrics", relay.base)).await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("sidecar_connect_realtime_failures_total 0\n"), "failures are counted");

    // Connect answers again: fresh, and agent 3's state is back.
    fake.set_behaviour(fast());
    supervisor.until_feed(|f| !f.stale).await;
    supervisor.until_presence(&agent(3), |p| p.state.name == "Available" && p.state.kind == StateKind::Routable).await;
}

#[tokio::test]
async fn a_supervisor_listens_in_and_sets_a_status_for_agents_they_watch_only() {
    let issuer = Issuer::start().await;
    let fake = FakeConnect::start(Shape::small(), fast()).await.unwrap();
    // In rp-0000: agent 3 on a call (known from Connect only), agent 6 idle, agent 9 on a call
    // with the extension. Supervisor 0 watches rp-0000; supervisor 1 watches rp-0001.
    fake.set_agent(logged_in(3, "Available", now_ms() - 60_000, on_call("c-3")));
    fake.set_agent(logged_in(6, "Available", now_ms() - 60_000, Vec::new()));
    fake.set_agent(logged_in(9, "Available", now_ms() - 60_000, on_call("c-9")));
    let (relay, _data) = start(&issuer, &fake, &[]).await;
    let mut watching = Floor::open(&relay, &issuer.supervisor_token(&agent(0)), "rp-0000").await;
    let mut elsewhere = Floor::open(&relay, &issuer.supervisor_token(&agent(1)), "rp-0001").await;
    watching
        .until_presence(&agent(3), |p| p.contact.as_ref().is_some_and(|c| c.state == ContactState::Connected))
        .await;
    watching.until_feed(|f| !f.statuses.is_empty()).await;
    let mut nine = login(&relay, &issuer.token(&agent(9))).await;
    let contact = ContactSummary { channel: Channel::Voice, state: ContactState::Connected, since: now_ms() - 5_000 };
    let reported = nine
        .request(|id| ClientFrame::SetPresence {
            id,
            state: protocol::AgentState { name: "Busy".into(), kind: StateKind::System },
            since: now_ms() - 5_000,
            contact: Some(contact),
            username: None,
            contact_id: Some("c-9".into()),
        })
        .await
        .unwrap();
    assert!(matches!(reported, ServerFrame::Ok { .. }), "{reported:?}");
    watching.until_presence(&agent(9), |p| p.source == Source::Extension).await;

    let monitor = |agent: String, barge: bool| move |id| ClientFrame::MonitorAgent { id, agent, barge };
    // Refused, and Connect never asked: an agent, a supervisor of another roster, nobody on a
    // contact, someone unknown.
    let mut plain = login(&relay, &issuer.token(&agent(6))).await;
    let refused = plain.request(monitor(agent(3), false)).await.unwrap();
    assert_eq!(error_code(&refused), ErrorCode::Forbidden);
    let refused = elsewhere.request(monitor(agent(3), false)).await;
    assert_eq!(error_code(&refused), ErrorCode::Forbidden, "{refused:?}");
    let refused = watching.request(monitor(agent(6), false)).await;
    assert_eq!(error_code(&refused), ErrorCode::NoContact, "{refused:?}");
    let refused = watching.request(monitor("nobody@example.com".into(), false)).await;
    assert_eq!(error_code(&refused), ErrorCode::NotFound);
    assert!(fake.monitors().is_empty(), "nothing reached Connect: {:?}", fake.monitors());

    // Listen in on agent 3's contact (from Connect's data), then barge in on agent 9's (the id
    // the extension reported), each as supervisor 0's own Connect user.
    let listening = watching.request(monitor(agent(3), false)).await;
    assert_eq!(
        listening,
        ServerFrame::Monitoring {
            id: crate::support::reply_id(&listening),
            agent: agent(3),
            contact_id: "monitor-c-3".into(),
            barge: false
        }
    );
    let barging = watching.request(monitor(agent(9), true)).await;
    assert!(
        matches!(&barging, ServerFrame::Monitoring { contact_id, barge: true, .. } if contact_id == "monitor-c-9"),
        "{barging:?}"
    );
    assert_eq!(
        fake.monitors(),
        vec![
            Monitor {
                contact_id: "c-3".into(),
                user_id: "u-000000".into(),
                capabilities: vec!["SILENT_MONITOR".into()]
            },
            Monitor {
                contact_id: "c-9".into(),
                user_id: "u-000000".into(),
                capabilities: vec!["SILENT_MONITOR".into(), "BARGE".into()]
            },
        ]
    );
    // Connect refuses (the call ended there before the CCP said so): its words, nothing kept.
    fake.remove_agent(9);
    let refused = watching.request(monitor(agent(9), false)).await;
    assert_eq!(error_code(&refused), ErrorCode::ConnectFailed);
    let ServerFrame::Error { error, .. } = &refused else { unreachable!() };
    assert!(error.message.contains("not in progress"), "{error:?}");
    assert_eq!(fake.monitors().len(), 2);

    // Set agent 6's status to Break (st-3); refused for the other roster's supervisor and for a
    // status Connect does not define. The floor shows it at the next read.
    let set = |agent: String, status: &str| {
        let status = status.to_owned();
        move |id| ClientFrame::SetAgentStatus { id, agent, status }
    };
    let refused = elsewhere.request(set(agent(6), "st-3")).await;
    assert_eq!(error_code(&refused), ErrorCode::Forbidden);
    let refused = watching.request(set(agent(6), "st-999")).await;
    assert_eq!(error_code(&refused), ErrorCode::Invalid);
    assert_eq!(fake.agent(6).unwrap().status, "Available");
    let done = watching.request(set(agent(6), "st-3")).await;
    assert!(matches!(done, ServerFrame::Ok { .. }), "{done:?}");
    assert_eq!(fake.agent(6).unwrap().status, "Break");
    watching.until_presence(&agent(6), |p| p.state.name == "Break").await;
}

#[tokio::test]
async fn at_five_thousand_agents_reads_keep_to_the_quota_and_cost_the_same_watched_or_not() {
    // Ten times Connect's default quota and a read at least every second: a minute here is ten
    // minutes at 2 requests a second (the pacing scales with the rate).
    const RATE: f64 = 20.0;
    const BURST: u32 = 10;
    let issuer = Issuer::start().await;
    let shape = Shape { users: 5_000, queues: 6, numbers: 4, profiles: 50, queues_per_profile: 3 };
    let fake =
        FakeConnect::start(shape, Behaviour { quota: Some((RATE, BURST)), ..Behaviour::default() }).await.unwrap();
    for user in 0..5_000 {
        fake.set_agent(logged_in(
            user,
            if user % 4 == 0 { "Break" } else { "Available" },
            now_ms() - 600_000,
            Vec::new(),
        ));
    }
    let (relay, _data) = start(&issuer, &fake, &["--connect-rate", "20", "--connect-burst", "10"]).await;
    let reads = |log: &[connect_fake::Logged]| log.iter().filter(|l| l.operation == "GetCurrentUserData").count();
    let metric = |text: &str, name: &str| -> u64 {
        text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0)
    };
    let realtime_reads = || async {
        let text = reqwest::get(format!("{}/metrics", relay.base)).await.unwrap().text().await.unwrap();
        metric(&text, "sidecar_connect_realtime_reads_total ")
    };
    // Nobody watching for 30 s.
    let first = realtime_reads().await;
    let before = reads(&fake.log());
    tokio::time::sleep(Duration::from_secs(30)).await;
    let unwatched = (reads(&fake.log()) - before, realtime_reads().await - first);
    // Twenty supervisors watching every roster for 30 s.
    let mut supervisors = Vec::new();
    for i in 0..20 {
        let mut s = login(&relay, &issuer.supervisor_token(&agent(i))).await;
        let _ = s.request(|id| ClientFrame::Subscribe { id, roster: Some("*".into()), rosters: Vec::new() }).await;
        supervisors.push(s);
    }
    let first = realtime_reads().await;
    let before = reads(&fake.log());
    tokio::time::sleep(Duration::from_secs(30)).await;
    let watched = (reads(&fake.log()) - before, realtime_reads().await - first);

    let log = fake.log();
    assert!(log.iter().all(|l| l.status != 429), "nothing throttled");
    let rate = connect_fake::max_rate(&log, BURST);
    assert!(rate <= RATE * 1.02, "within the quota: {rate}/s");
    // Fifty routing profiles in one filter, 5,000 agents in pages of 100: 50 calls a read,
    // paced to half the rate (a read every 5 s).
    // (A window may cut a read in two: one read of slack each way.)
    for (calls, reads) in [unwatched, watched] {
        assert!(reads >= 4, "{reads} reads in 30 s");
        assert!(
            calls as u64 >= (reads - 1) * 50 && calls as u64 <= (reads + 1) * 51,
            "{calls} calls over {reads} reads"
        );
        assert!(calls as f64 / 30.0 <= RATE * 0.5 * 1.25, "{calls} calls in 30 s");
    }
    assert!(
        watched.0 <= unwatched.0 + 2 * 51,
        "the same with twenty supervisors watching: {watched:?} vs {unwatched:?}"
    );
}
