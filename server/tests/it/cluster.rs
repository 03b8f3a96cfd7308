//! Several relay nodes (the binary, as processes) joined by a real `redis-server` on loopback and
//! sharing DynamoDB tables (moto's server): one floor across nodes, a node killed mid-storm,
//! Redis restarted mid-load, and the Connect directory sync run by one node for the fleet.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use loadgen::Client;
use loadgen::process::RelayProcess;
use loadgen::redis::RedisProcess;
use protocol::{ClientFrame, HelpStatus, Presence, ServerFrame, StateKind};
use store_dynamodb::local::LocalServer;
use tokio::sync::mpsc;

use crate::support::{AUDIENCE, Issuer, chat, next_presence_of, now_ms, set_state, subscribe};

const ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];
const LEASE_MS: u64 = 3000;
const GRACE_MS: u64 = 4000;

/// Nodes on one store and one Redis, with one identity provider (as behind a load balancer).
struct Cluster {
    dynamo: LocalServer,
    redis: RedisProcess,
    issuer: Issuer,
    nodes: Vec<Option<RelayProcess>>,
    dirs: Vec<tempfile::TempDir>,
    extra: Vec<String>,
    lease_ms: u64,
}

impl Cluster {
    async fn start(nodes: usize, extra: &[&str]) -> Self {
        Self::on(RedisProcess::start().await.expect("redis-server"), nodes, extra).await
    }

    /// Nodes on `redis`.
    async fn on(redis: RedisProcess, nodes: usize, extra: &[&str]) -> Self {
        Self::with_lease(redis, nodes, extra, LEASE_MS).await
    }

    /// Nodes on `redis` with leases of `lease_ms`.
    async fn with_lease(redis: RedisProcess, nodes: usize, extra: &[&str], lease_ms: u64) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace");
        let mut cluster = Self {
            dynamo: LocalServer::start(root).expect("the local DynamoDB server"),
            redis,
            issuer: Issuer::start().await,
            nodes: Vec::new(),
            dirs: Vec::new(),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            lease_ms,
        };
        for _ in 0..nodes {
            cluster.add_node().await;
        }
        cluster.wait_all(&format!("cluster up nodes {nodes}\n")).await;
        cluster
    }

    /// Starts one more node (one at a time: the first creates the tables).
    async fn add_node(&mut self) -> usize {
        let dir = tempfile::tempdir().unwrap();
        let (lease, grace, redis) = (self.lease_ms.to_string(), GRACE_MS.to_string(), self.redis.url());
        let mut args = vec![
            "--store",
            "dynamodb",
            "--dynamodb-endpoint",
            &self.dynamo.endpoint,
            "--dynamodb-table-prefix",
            "cluster-",
            "--dynamodb-create-tables",
            "--oidc-issuer",
            &self.issuer.url,
            "--oidc-audience",
            AUDIENCE,
            "--redis-url",
            &redis,
            "--node-lease-ms",
            &lease,
            "--presence-grace-ms",
            &grace,
            "--frames-per-second",
            "100000",
            "--principal-requests-per-second",
            "100000",
        ];
        args.extend(self.extra.iter().map(String::as_str));
        let binary = Path::new(env!("CARGO_BIN_EXE_ccp-sidecar-relay"));
        let log = dir.path().join("relay.log");
        let relay = RelayProcess::start_with_env(binary, dir.path(), &args, ENV, Some(&log)).await.unwrap();
        self.nodes.push(Some(relay));
        self.dirs.push(dir);
        self.nodes.len() - 1
    }

    fn node(&self, i: usize) -> &RelayProcess {
        self.nodes[i].as_ref().expect("a running node")
    }

    async fn login(&self, node: usize, token: &str) -> Client {
        Client::login(&self.node(node).url, token).await.unwrap().0
    }

    async fn readyz(&self, node: usize) -> String {
        match reqwest::get(format!("{}/readyz", self.node(node).base)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until every running node's `/readyz` contains `text`.
    async fn wait_all(&self, text: &str) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].is_some() {
                wait_until(Duration::from_secs(20), || async { self.readyz(i).await.contains(text) }, text).await;
            }
        }
    }

    async fn metric(&self, node: usize, name: &str) -> u64 {
        let text = reqwest::get(format!("{}/metrics", self.node(node).base)).await.unwrap().text().await.unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse::<f64>().ok()))
            .map_or(0, |v| v as u64)
    }
}

async fn wait_until<F: Future<Output = bool>>(within: Duration, check: impl Fn() -> F, what: &str) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The next frame that `pick` accepts, skipping others.
async fn next_matching<T>(client: &mut Client, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
    loop {
        if let Some(found) = pick(client.frame().await.unwrap()) {
            return found;
        }
    }
}

async fn subscribe_all(client: &mut Client) -> Vec<Presence> {
    let id = client.id();
    client.send(&ClientFrame::Subscribe { id, roster: None, rosters: vec!["*".into()] }).await.unwrap();
    let mut agents = Vec::new();
    loop {
        match client.reply(id).await.unwrap() {
            ServerFrame::Roster { agents: more, complete, .. } => {
                agents.extend(more);
                if complete {
                    return agents;
                }
            }
            other => panic!("subscribe refused: {other:?}"),
        }
    }
}

/// Every presence push a client receives, with when it arrived.
fn record_presence(mut client: Client) -> mpsc::UnboundedReceiver<(Instant, Presence)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(loadgen::client::Event::Frame(frame)) = client.next().await {
            if let ServerFrame::Presence { presence } = frame
                && tx.send((Instant::now(), presence)).is_err()
            {
                return;
            }
        }
    });
    rx
}

const AIKO: &str = "aiko@example.com";
const BEN: &str = "ben@example.com";
const CHEN: &str = "chen@example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_are_one_floor_for_presence_chat_and_help() {
    let cluster = Cluster::start(3, &[]).await;
    let issuer = &cluster.issuer;
    let mut sam = cluster.login(2, &issuer.supervisor_token("sam@example.com")).await;
    subscribe_all(&mut sam).await;
    let mut ben = cluster.login(1, &issuer.token(BEN)).await;
    subscribe(&mut ben, None).await;
    let mut aiko = cluster.login(0, &issuer.token(AIKO)).await;
    subscribe(&mut aiko, None).await;

    // Presence from node 1 reaches an agent on node 2 and a supervisor on node 3, and back.
    let since = now_ms() - 5_000;
    set_state(&mut aiko, "Available", StateKind::Routable, since).await;
    for client in [&mut ben, &mut sam] {
        let seen = next_presence_of(client, AIKO).await;
        assert_eq!((seen.state.name.as_str(), seen.since, seen.online), ("Available", since, true));
    }
    set_state(&mut ben, "休憩", StateKind::NotRoutable, now_ms()).await;
    assert_eq!(next_presence_of(&mut aiko, BEN).await.state.name, "休憩");
    assert_eq!(next_presence_of(&mut sam, BEN).await.state.name, "休憩");

    // A change crosses Redis once per node, however many subscribers that node serves.
    let mut more = Vec::new();
    for name in ["dai", "emi", "fumi"] {
        let mut client = cluster.login(1, &issuer.token(&format!("{name}@example.com"))).await;
        subscribe(&mut client, None).await;
        more.push(client);
    }
    let out_before = cluster.metric(0, "sidecar_cluster_events_out_total").await;
    let in_before = cluster.metric(1, "sidecar_cluster_events_in_total").await;
    set_state(&mut aiko, "Busy", StateKind::NotRoutable, now_ms()).await;
    for client in more.iter_mut().chain([&mut ben]) {
        while next_presence_of(client, AIKO).await.state.name != "Busy" {}
    }
    assert_eq!(cluster.metric(0, "sidecar_cluster_events_out_total").await - out_before, 1, "published once");
    assert_eq!(cluster.metric(1, "sidecar_cluster_events_in_total").await - in_before, 1, "received once by the node");
    set_state(&mut aiko, "Available", StateKind::Routable, now_ms()).await;
    while next_presence_of(&mut sam, AIKO).await.state.name != "Busy" {}
    while next_presence_of(&mut sam, AIKO).await.state.name != "Available" {}

    // A snapshot on a node where neither agent is connected is complete.
    let mut hana = cluster.login(2, &issuer.supervisor_token("hana@example.com")).await;
    let floor = subscribe_all(&mut hana).await;
    let online: BTreeMap<_, _> =
        floor.iter().filter(|p| p.online).map(|p| (p.principal.as_str(), p.state.name.as_str())).collect();
    assert_eq!(online, BTreeMap::from([(AIKO, "Available"), (BEN, "休憩")]), "{floor:?}");

    // Chat both ways across nodes, stored once and delivered.
    let ServerFrame::ChatAck { seq, .. } = chat(&mut aiko, BEN, "c-1", "お疲れさまです").await else { panic!() };
    let got = next_matching(&mut ben, |f| match f {
        ServerFrame::Chat { message } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!((got.from.as_str(), got.seq, got.text.as_str()), (AIKO, seq, "お疲れさまです"));
    let ServerFrame::ChatAck { seq: reply, .. } = chat(&mut ben, AIKO, "c-2", "thanks").await else { panic!() };
    assert_eq!(reply, seq + 1);
    let got = next_matching(&mut aiko, |f| match f {
        ServerFrame::Chat { message } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!((got.from.as_str(), got.seq), (BEN, reply));

    // A help request from node 1 reaches both supervisors on node 3; taking it there reaches
    // the agent on node 1.
    let asked = aiko
        .request(|id| ClientFrame::AskHelp {
            id,
            reason: "Escalation".into(),
            note: "the caller wants a manager".into(),
        })
        .await
        .unwrap();
    let ServerFrame::HelpAck { request, supervisors, .. } = asked else { panic!("{asked:?}") };
    assert_eq!(supervisors, 2, "sam and hana, both on another node");
    for client in [&mut sam, &mut hana] {
        let pushed = next_matching(client, |f| match f {
            ServerFrame::Help { request } => Some(request),
            _ => None,
        })
        .await;
        assert_eq!((pushed.id, pushed.status), (request.id, HelpStatus::Open));
    }
    let taken = sam.request(|id| ClientFrame::TakeHelp { id, request: request.id }).await.unwrap();
    assert!(matches!(&taken, ServerFrame::HelpAck { request, .. } if request.status == HelpStatus::Taken), "{taken:?}");
    let pushed = next_matching(&mut aiko, |f| match f {
        ServerFrame::Help { request } => Some(request),
        _ => None,
    })
    .await;
    assert_eq!((pushed.status, pushed.taken_by.as_deref()), (HelpStatus::Taken, Some("sam@example.com")));
    // Hana, on the same node as Sam, is told too, and cannot take it any more.
    let pushed = next_matching(&mut hana, |f| match f {
        ServerFrame::Help { request } if request.status == HelpStatus::Taken => Some(request),
        _ => None,
    })
    .await;
    assert_eq!(pushed.id, request.id);
    assert!(cluster.metric(0, "sidecar_cluster_events_out_total").await > 0);
}

/// Sends `count` messages from `from` to `to` one after another (each acknowledged before the
/// next), starting on node `first`; when the node goes away, logs in on `fallback`, reports the
/// same state again, and resends the message that was not acknowledged. Returns the client ids
/// acknowledged, with their sequence numbers, and the connection (still open: closing it would
/// start the agent's grace period).
async fn storm(
    urls: (String, String),
    token: String,
    to: &str,
    count: usize,
    since: i64,
    acked: tokio::sync::watch::Sender<usize>,
) -> (BTreeMap<String, u64>, Client) {
    let mut client = Client::login(&urls.0, &token).await.unwrap().0;
    set_state(&mut client, "Available", StateKind::Routable, since).await;
    let mut seqs = BTreeMap::new();
    let mut i = 0;
    while i < count {
        let client_id = format!("m-{i:04}");
        let frame =
            ClientFrame::SendChat { id: 0, to: to.into(), client_id: client_id.clone(), text: format!("text {i}") };
        let reply = client
            .request(|id| match frame {
                ClientFrame::SendChat { to, client_id, text, .. } => ClientFrame::SendChat { id, to, client_id, text },
                other => other,
            })
            .await;
        match reply {
            Ok(ServerFrame::ChatAck { seq, .. }) => {
                seqs.insert(client_id, seq);
                i += 1;
                acked.send_replace(seqs.len());
            }
            Ok(ServerFrame::Error { error, .. }) if error.retryable => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(other) => panic!("{other:?}"),
            Err(_) => {
                // The node is gone: the worker reconnects (the load balancer sends it to another).
                client = Client::login(&urls.1, &token).await.unwrap().0;
                set_state(&mut client, "Available", StateKind::Routable, since).await;
            }
        }
    }
    (seqs, client)
}

/// Every message of the conversation, oldest first.
async fn history(client: &mut Client, peer: &str) -> Vec<protocol::ChatMessage> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let reply =
            client.request(|id| ClientFrame::History { id, peer: peer.into(), before, limit: Some(50) }).await.unwrap();
        let ServerFrame::History { messages, more, .. } = reply else { panic!("{reply:?}") };
        before = messages.last().map(|m| m.seq);
        all.extend(messages);
        if !more {
            all.reverse();
            return all;
        }
    }
}

/// Every acknowledged message is in history once, numbered without gaps.
fn assert_once(history: &[protocol::ChatMessage], acked: &BTreeMap<String, u64>) {
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=history.len() as u64).collect::<Vec<_>>(), "numbered without gaps");
    let ids: HashSet<&str> = history.iter().map(|m| m.client_id.as_str()).collect();
    assert_eq!(ids.len(), history.len(), "no message twice");
    for (client_id, seq) in acked {
        let stored = history.iter().find(|m| &m.client_id == client_id);
        assert_eq!(stored.map(|m| m.seq), Some(*seq), "{client_id} acknowledged as {seq}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_s_agents_reconnect_elsewhere_and_nothing_acknowledged_is_lost() {
    let mut cluster = Cluster::start(3, &[]).await;
    let issuer = &cluster.issuer;
    let mut sam = cluster.login(2, &issuer.supervisor_token("sam@example.com")).await;
    subscribe_all(&mut sam).await;
    let mut floor = record_presence(sam);
    let mut chen = cluster.login(1, &issuer.token(CHEN)).await;
    set_state(&mut chen, "Available", StateKind::Routable, now_ms()).await;
    // Ben is on the node that dies and does not come back.
    let mut ben = cluster.login(0, &issuer.token(BEN)).await;
    set_state(&mut ben, "Available", StateKind::Routable, now_ms()).await;

    let (acked_tx, mut acked) = tokio::sync::watch::channel(0);
    let urls = (cluster.node(0).url.clone(), cluster.node(1).url.clone());
    let since = now_ms() - 60_000;
    let storm = tokio::spawn(storm(urls, issuer.token(AIKO), CHEN, 150, since, acked_tx));
    acked.wait_for(|n| *n >= 40).await.unwrap();
    let killed = Instant::now();
    cluster.nodes[0].take().unwrap().kill9().unwrap();
    let (acked, _aiko) = storm.await.unwrap();
    assert_eq!(acked.len(), 150);

    // Ben shows Offline within lease + grace (and a heartbeat and a sweep); Aiko, who reconnected
    // to another node, never showed Offline.
    let mut seen = Vec::new();
    let deadline = killed + Duration::from_millis(LEASE_MS + GRACE_MS + 4_000);
    let offline_at = loop {
        let next = tokio::time::timeout_at(deadline.into(), floor.recv()).await;
        let (at, presence) = next.expect("Ben shown Offline in time").expect("the floor's connection");
        seen.push(presence.clone());
        if presence.principal == BEN && !presence.online {
            break at;
        }
    };
    let after = offline_at - killed;
    assert!(after >= Duration::from_millis(GRACE_MS), "not before the grace period: {after:?}");
    // A barrier: a change made now arrives after anything the node's death could still cause.
    set_state(&mut chen, "休憩", StateKind::NotRoutable, now_ms()).await;
    loop {
        let (_, presence) = floor.recv().await.unwrap();
        seen.push(presence.clone());
        if presence.principal == CHEN && presence.state.name == "休憩" {
            break;
        }
    }
    let flaps: Vec<_> = seen.iter().filter(|p| p.principal == AIKO && !p.online).collect();
    assert!(flaps.is_empty(), "Aiko reconnected and must never show Offline: {flaps:?}");
    assert!(cluster.metric(1, "sidecar_cluster_nodes_lost_total").await >= 1);
    assert!(cluster.readyz(1).await.contains("cluster up nodes 2"), "{}", cluster.readyz(1).await);

    let history = history(&mut chen, AIKO).await;
    assert_once(&history, &acked);
    println!("killed after 40 acks; Ben Offline after {after:?}; {} messages in history", history.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_load_loses_nothing_and_the_nodes_converge() {
    let mut cluster = Cluster::start(2, &[]).await;
    let mut ben = cluster.login(1, &cluster.issuer.token(BEN)).await;
    subscribe(&mut ben, None).await;

    let (acked_tx, mut acked) = tokio::sync::watch::channel(0);
    let urls = (cluster.node(0).url.clone(), cluster.node(0).url.clone());
    let since = now_ms() - 60_000;
    let storm = tokio::spawn(storm(urls, cluster.issuer.token(AIKO), BEN, 120, since, acked_tx));
    acked.wait_for(|n| *n >= 30).await.unwrap();
    cluster.redis.kill();
    cluster.wait_all("cluster down").await;
    // Each node still serves its own connections: messages are acknowledged (the store answers).
    let during = *acked.borrow();
    acked.wait_for(|n| *n >= during + 20).await.unwrap();
    cluster.redis.restart().await.unwrap();
    cluster.wait_all("cluster up nodes 2\n").await;
    let (acked, _aiko) = storm.await.unwrap();

    // Converged: a node that joins now learns Aiko's presence from the node she is on (whose
    // reports Redis lost with its data, and which announced them again).
    cluster.add_node().await;
    cluster.wait_all("cluster up nodes 3\n").await;
    let issuer = &cluster.issuer;
    let mut sam = cluster.login(2, &issuer.supervisor_token("sam@example.com")).await;
    let floor = subscribe_all(&mut sam).await;
    let aiko = floor.iter().find(|p| p.principal == AIKO).expect("Aiko on the new node's floor");
    assert_eq!((aiko.online, aiko.since), (true, since), "{aiko:?}");
    // And a change after the restart crosses nodes live.
    let mut aiko_again = cluster.login(0, &issuer.token(AIKO)).await;
    set_state(&mut aiko_again, "休憩", StateKind::NotRoutable, now_ms()).await;
    let mut seen = Vec::new();
    while seen.last().is_none_or(|p: &Presence| p.state.name != "休憩") {
        seen.push(next_presence_of(&mut ben, AIKO).await);
    }
    let flaps: Vec<_> = seen.iter().filter(|p| !p.online).collect();
    assert!(flaps.is_empty(), "Aiko stayed connected: never Offline through the outage {flaps:?}");
    while next_presence_of(&mut sam, AIKO).await.state.name != "休憩" {}

    let history = history(&mut ben, AIKO).await;
    assert_eq!(history.len(), 120);
    assert_once(&history, &acked);
    assert!(cluster.metric(0, "sidecar_cluster_disconnects_total").await >= 1);
}

#[cfg(feature = "connect")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_reads_connect_for_the_fleet_within_its_quota_and_every_node_serves_it() {
    use connect_fake::{Behaviour, FakeConnect, INSTANCE_ID, Shape};
    let fake = FakeConnect::start(Shape::small(), Behaviour::default()).await.unwrap();
    let args = [
        "--connect-instance-id",
        INSTANCE_ID,
        "--connect-endpoint",
        &fake.url,
        "--connect-region",
        "ap-northeast-1",
        "--connect-sync-interval-s",
        "1",
    ];
    let mut cluster = Cluster::start(3, &args).await;
    // agent00001 is in routing profile rp-0001 (see the single-node sync test).
    let token = cluster.issuer.token("agent00001@example.com");
    let expected = ["+81351000001", "+81351000000"];
    for node in 0..3 {
        let base = cluster.node(node).base.clone();
        let token = token.clone();
        wait_until(
            Duration::from_secs(30),
            || {
                let (base, token) = (base.clone(), token.clone());
                async move {
                    let response = reqwest::Client::new()
                        .get(format!("{base}/api/v1/caller-ids"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    let ids: protocol::CallerIds = response.json().await.unwrap();
                    ids.caller_ids.iter().map(|c| c.number.as_str()).collect::<Vec<_>>() == expected
                }
            },
            "every node serves Connect's caller IDs",
        )
        .await;
    }
    // Several syncs' worth of time.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let mut readers = Vec::new();
    for node in 0..3 {
        if cluster.metric(node, "sidecar_connect_calls_total").await > 0 {
            readers.push(node);
        }
    }
    assert_eq!(readers.len(), 1, "one node reads Connect: {readers:?}");
    // The node reading Connect dies: another takes the lease over and reads on.
    let before = fake.log().len();
    cluster.nodes[readers[0]].take().unwrap().kill9().unwrap();
    wait_until(Duration::from_secs(20), || async { fake.log().len() > before + 3 }, "another node reads Connect").await;
    let log = fake.log();
    let rate = connect_fake::max_rate(&log, 5);
    let burst = connect_fake::max_burst(&log, 2.0);
    assert!(log.iter().all(|l| l.status == 200), "nothing throttled: {:?}", log.iter().find(|l| l.status != 200));
    assert!(
        rate <= 2.0 && burst <= 5,
        "the fleet kept to 2/s, burst 5: rate {rate}, burst {burst}, {} requests",
        log.len()
    );
    println!("fleet: {} Connect requests, rate {rate}/s, burst {burst}", log.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_over_tls_and_one_that_does_not_trust_the_server_stays_out() {
    let certificates = tempfile::tempdir().unwrap();
    let redis = RedisProcess::start_tls(certificates.path()).await.expect("redis-server with TLS");
    assert!(redis.url().starts_with("rediss://"));
    let ca = certificates.path().join("ca.crt").display().to_string();
    let mut cluster = Cluster::on(redis, 2, &["--redis-ca-file", &ca]).await;
    let mut ben = cluster.login(1, &cluster.issuer.token(BEN)).await;
    subscribe(&mut ben, None).await;
    let mut aiko = cluster.login(0, &cluster.issuer.token(AIKO)).await;
    set_state(&mut aiko, "Available", StateKind::Routable, now_ms()).await;
    assert!(next_presence_of(&mut ben, AIKO).await.online, "across nodes over TLS");

    // A node that does not trust the server's certificate (the test authority is not among the
    // system's roots) never joins: it says so, and the others do not count it.
    cluster.extra.clear();
    let outsider = cluster.add_node().await;
    wait_until(
        Duration::from_secs(20),
        || async { cluster.metric(outsider, "sidecar_cluster_join_failures_total").await >= 2 },
        "two refused attempts",
    )
    .await;
    assert!(cluster.readyz(outsider).await.contains("cluster down"));
    assert_eq!(cluster.metric(outsider, "sidecar_cluster_up").await, 0);
    assert!(cluster.readyz(0).await.contains("cluster up nodes 2\n"), "{}", cluster.readyz(0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_closes_while_redis_is_away_goes_offline_everywhere_after() {
    // Leases long enough to outlast the pause: no node is found gone, so only the joining
    // node's reset can end the report whose clear was lost.
    let redis = RedisProcess::start().await.expect("redis-server");
    let cluster = Cluster::with_lease(redis, 2, &[], 30_000).await;
    let mut ben = cluster.login(1, &cluster.issuer.token(BEN)).await;
    subscribe(&mut ben, None).await;
    let mut chen = cluster.login(0, &cluster.issuer.token(CHEN)).await;
    set_state(&mut chen, "Available", StateKind::Routable, now_ms()).await;
    assert!(next_presence_of(&mut ben, CHEN).await.online);

    cluster.redis.pause(true);
    cluster.wait_all("cluster down").await;
    chen.close().await;
    // A barrier: node 0 has seen the close once it counts no connection.
    wait_until(Duration::from_secs(10), || async { cluster.metric(0, "sidecar_connections").await == 0 }, "the close")
        .await;
    cluster.redis.pause(false);
    cluster.wait_all("cluster up nodes 2\n").await;
    let offline = tokio::time::timeout(Duration::from_millis(GRACE_MS + 5_000), async {
        loop {
            let seen = next_presence_of(&mut ben, CHEN).await;
            if !seen.online {
                return seen;
            }
        }
    })
    .await
    .expect("Chen shown Offline on the other node after the grace period");
    assert_eq!(offline.principal, CHEN);
}
