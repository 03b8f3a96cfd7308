//! The relay benchmark: thousands of agents on loopback, scoped rosters, a steady rate of
//! presence changes and chat messages, and the figures `cargo xtask bench relay` prints.
//!
//! Latencies are measured inside this process: each presence change carries its send time
//! (microseconds since the run's epoch) in its state name, each chat message in its text, and
//! every receiver subtracts. Memory is the relay's resident set (from /proc) before the agents
//! connect and after, divided by the number of agents.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use protocol::{AgentState, ClientFrame, ServerFrame, StateKind};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::MaybeTlsStream;

use crate::process::RelayProcess;
use crate::{Client, tokens, wire};

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub binary: PathBuf,
    pub agents: usize,
    pub roster_size: usize,
    pub presence_per_s: u32,
    pub chat_per_s: u32,
    pub duration: Duration,
    pub connect_concurrency: usize,
    /// Supervisors subscribed to every roster (`*`): each presence change reaches all of them
    /// too, and their delivery times are reported apart from the agents'.
    pub supervisors: usize,
    /// The relay's store, for the report (`sqlite`, `dynamodb`), with the relay arguments and
    /// environment that select it.
    pub store: String,
    pub relay_args: Vec<String>,
    pub relay_env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct BenchReport {
    pub store: String,
    /// Database requests per chat message and per presence change, from the store's own count
    /// (`sidecar_store_requests_total`), measured after the run with nothing else going on;
    /// `None` for an embedded store.
    pub store_requests_per_chat: Option<f64>,
    pub store_requests_per_presence: Option<f64>,
    pub agents: usize,
    pub rss_kb_before: u64,
    pub rss_kb_connected: u64,
    pub rss_kb_end: u64,
    pub presence_p50_ms: f64,
    pub presence_p99_ms: f64,
    pub chat_p50_ms: f64,
    pub chat_p99_ms: f64,
    pub chat_ack_p99_ms: f64,
    pub supervisors: usize,
    pub supervisor_presence_p50_ms: f64,
    pub supervisor_presence_p99_ms: f64,
    pub presence_sent: u64,
    pub presence_expected: u64,
    pub presence_received: u64,
    pub chat_sent: u64,
    pub chat_acked: u64,
    pub chat_received: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub errors: u64,
    pub closed: u64,
    pub connect_s: f64,
    pub run_s: f64,
    /// CPU the relay used per second of the run (1.0 = one core).
    pub relay_cores: f64,
    /// CPU this load generator used per second of the run.
    pub loadgen_cores: f64,
    /// The relay's own view, from its /metrics histograms (bucket upper bounds, ms): from
    /// receiving `send_chat` to its ack, and from a presence change to queuing it everywhere.
    pub relay_chat_ack_p99_ms: f64,
    pub relay_fanout_p99_ms: f64,
}

impl BenchReport {
    pub fn rss_kb_per_agent(&self) -> f64 {
        let grown = self.rss_kb_connected.max(self.rss_kb_end).saturating_sub(self.rss_kb_before);
        grown as f64 / self.agents.max(1) as f64
    }

    /// The one line the issue asks for; with supervisors, their presence delivery beside the
    /// agents'.
    pub fn line(&self) -> String {
        let supervisors = if self.supervisors == 0 {
            String::new()
        } else {
            format!(
                " supervisors={} supervisor_presence_p50_ms={:.2} supervisor_presence_p99_ms={:.2}",
                self.supervisors, self.supervisor_presence_p50_ms, self.supervisor_presence_p99_ms
            )
        };
        let requests = match (self.store_requests_per_chat, self.store_requests_per_presence) {
            (Some(chat), Some(presence)) => {
                format!(" store_requests_per_chat={chat:.2} store_requests_per_presence={presence:.2}")
            }
            _ => String::new(),
        };
        format!(
            "relay-bench store={} agents={} rss_kb_per_agent={:.1} presence_p50_ms={:.2} presence_p99_ms={:.2} \
             chat_p50_ms={:.2} chat_p99_ms={:.2}{supervisors} lost={} duplicated={}{requests}",
            self.store,
            self.agents,
            self.rss_kb_per_agent(),
            self.presence_p50_ms,
            self.presence_p99_ms,
            self.chat_p50_ms,
            self.chat_p99_ms,
            self.lost,
            self.duplicated
        )
    }
}

pub(crate) enum Cmd {
    Presence { micros: u64 },
    Chat { to: Arc<str>, client_id: String, micros: u64 },
    Stop,
}

#[derive(Default)]
pub(crate) struct AgentStats {
    pub(crate) presence_us: Vec<u32>,
    pub(crate) chat_us: Vec<u32>,
    pub(crate) ack_us: Vec<u32>,
    pub(crate) chat_ids: HashSet<String>,
    pub(crate) duplicated: u64,
    pub(crate) acked: u64,
    pub(crate) errors: u64,
    pub(crate) closed: bool,
}

pub(crate) fn email(i: usize) -> String {
    format!("agent-{i:05}@bench.example")
}

/// Runs the benchmark against a relay it starts from `config.binary`.
pub async fn run(config: &BenchConfig) -> anyhow::Result<BenchReport> {
    let dir = tempfile::tempdir()?;
    let directory = dir.path().join("directory.json");
    let users: Vec<_> = (0..config.agents)
        .map(|i| json!({"id": email(i), "display_name": format!("Agent {i}"), "team": format!("team-{}", i / config.roster_size)}))
        .collect();
    std::fs::write(&directory, json!({ "users": users }).to_string())?;
    let directory = directory.to_string_lossy().into_owned();
    let mut args =
        vec!["--dev-issuer", "--directory-file", &directory, "--roster-by", "team", "--idle-timeout-ms", "3600000"];
    args.extend(config.relay_args.iter().map(String::as_str));
    let env: Vec<(&str, &str)> = config.relay_env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let relay = RelayProcess::start_with_env(&config.binary, &dir.path().join("data"), &args, &env, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut report = BenchReport {
        store: config.store.clone(),
        agents: config.agents,
        rss_kb_before: relay.rss_kb()?,
        ..BenchReport::default()
    };

    let http = reqwest::Client::new();
    // The store's cost, measured first while nothing else goes on (once the load's agents leave,
    // the sweeper stores each of them Offline). An embedded store sends no requests: its counter
    // stays at zero from the start, when a remote one has already read its tables.
    let metrics = http.get(format!("{}/metrics", relay.base)).send().await?.text().await?;
    if counter(&metrics, "sidecar_store_requests_total").is_some_and(|n| n > 0.0) {
        let (chat, presence) = store_cost(&relay, &http).await?;
        (report.store_requests_per_chat, report.store_requests_per_presence) = (Some(chat), Some(presence));
    }
    let epoch = Instant::now();
    let connect_started = Instant::now();
    let mut handles = Vec::with_capacity(config.agents);
    let mut senders = Vec::with_capacity(config.agents);
    let indexes: Vec<usize> = (0..config.agents).collect();
    for chunk in indexes.chunks(config.connect_concurrency) {
        let logins = chunk.iter().map(|&i| {
            let (http, base, url) = (http.clone(), relay.base.clone(), relay.url.clone());
            async move {
                let token = tokens::dev_token(&http, &base, &email(i), &format!("Agent {i}"), &[]).await?;
                let (mut client, _) = Client::login(&url, &token).await?;
                client.subscribe(None).await?;
                anyhow::Ok(client)
            }
        });
        for client in futures_util::future::join_all(logins).await {
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            handles.push(tokio::spawn(agent(client.context("an agent could not log in")?, rx, epoch)));
        }
    }
    // Supervisors watch every roster: a snapshot of every agent, then every change.
    let mut watchers = Vec::with_capacity(config.supervisors);
    let mut watcher_senders = Vec::with_capacity(config.supervisors);
    for s in 0..config.supervisors {
        let name = format!("supervisor-{s:03}@bench.example");
        let token = tokens::dev_token(&http, &relay.base, &name, &format!("Supervisor {s}"), &["supervisors"]).await?;
        let (mut client, _) = Client::login(&relay.url, &token).await?;
        let (_, agents) = client.subscribe(Some("*")).await?;
        anyhow::ensure!(agents.len() >= config.agents, "a supervisor's snapshot held {} agents", agents.len());
        let (tx, rx) = mpsc::unbounded_channel();
        watcher_senders.push(tx);
        watchers.push(tokio::spawn(agent(client, rx, epoch)));
    }
    report.supervisors = config.supervisors;
    report.connect_s = connect_started.elapsed().as_secs_f64();
    eprintln!(
        "relay-bench: {} agents and {} supervisors connected and subscribed in {:.1}s",
        config.agents, config.supervisors, report.connect_s
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    report.rss_kb_connected = relay.rss_kb()?;

    let cpu_before = (relay.cpu_s()?, crate::process::cpu_seconds("/proc/self/stat")?);
    let driven = drive(&senders, config.presence_per_s, config.chat_per_s, config.duration, epoch).await;
    (report.presence_sent, report.chat_sent, report.run_s) = driven;
    report.relay_cores = (relay.cpu_s()? - cpu_before.0) / report.run_s;
    report.loadgen_cores = (crate::process::cpu_seconds("/proc/self/stat")? - cpu_before.1) / report.run_s;
    report.rss_kb_end = relay.rss_kb()?;
    // Let the last deliveries arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for tx in senders.iter().chain(&watcher_senders) {
        let _ = tx.send(Cmd::Stop);
    }

    let (mut presence, mut chat, mut acks) = (Vec::new(), Vec::new(), Vec::new());
    for handle in handles {
        let stats = handle.await?;
        report.presence_received += stats.presence_us.len() as u64;
        report.chat_received += stats.chat_ids.len() as u64;
        report.chat_acked += stats.acked;
        report.duplicated += stats.duplicated;
        report.errors += stats.errors;
        report.closed += u64::from(stats.closed);
        presence.extend(stats.presence_us);
        chat.extend(stats.chat_us);
        acks.extend(stats.ack_us);
    }
    let mut watched = Vec::new();
    for handle in watchers {
        let stats = handle.await?;
        report.presence_received += stats.presence_us.len() as u64;
        report.errors += stats.errors;
        report.closed += u64::from(stats.closed);
        watched.extend(stats.presence_us);
    }
    report.supervisor_presence_p50_ms = percentile(&mut watched, 0.50);
    report.supervisor_presence_p99_ms = percentile(&mut watched, 0.99);
    report.presence_expected = report.presence_sent * (config.roster_size + config.supervisors) as u64;
    report.lost = report.chat_acked.saturating_sub(report.chat_received)
        + report.presence_expected.saturating_sub(report.presence_received);
    report.presence_p50_ms = percentile(&mut presence, 0.50);
    report.presence_p99_ms = percentile(&mut presence, 0.99);
    report.chat_p50_ms = percentile(&mut chat, 0.50);
    report.chat_p99_ms = percentile(&mut chat, 0.99);
    report.chat_ack_p99_ms = percentile(&mut acks, 0.99);
    let metrics = http.get(format!("{}/metrics", relay.base)).send().await?.text().await?;
    report.relay_chat_ack_p99_ms = histogram_quantile(&metrics, "sidecar_chat_ack_seconds", 0.99) * 1000.0;
    report.relay_fanout_p99_ms = histogram_quantile(&metrics, "sidecar_presence_fanout_seconds", 0.99) * 1000.0;
    relay.terminate()?;
    Ok(report)
}

/// Sends the agents presence changes and chat messages at the given rates (random agents, the
/// same sequence every run) for `duration`; returns what was sent and the seconds it took.
pub(crate) async fn drive(
    senders: &[mpsc::UnboundedSender<Cmd>],
    presence_per_s: u32,
    chat_per_s: u32,
    duration: Duration,
    epoch: Instant,
) -> (u64, u64, f64) {
    let agents = senders.len();
    let names: Vec<Arc<str>> = (0..agents).map(|i| Arc::from(email(i).as_str())).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut presence_sent, mut chat_sent) = (0_u64, 0_u64);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while started.elapsed() < duration {
        tick.tick().await;
        let elapsed = started.elapsed().as_secs_f64();
        let micros = epoch.elapsed().as_micros() as u64;
        while (presence_sent as f64) < elapsed * f64::from(presence_per_s) {
            let i = rng.below(agents);
            let _ = senders[i].send(Cmd::Presence { micros });
            presence_sent += 1;
        }
        while (chat_sent as f64) < elapsed * f64::from(chat_per_s) {
            let from = rng.below(agents);
            let to = (from + 1 + rng.below(agents - 1)) % agents;
            let client_id = format!("{from}-{chat_sent}");
            let _ = senders[from].send(Cmd::Chat { to: names[to].clone(), client_id, micros });
            chat_sent += 1;
        }
    }
    (presence_sent, chat_sent, started.elapsed().as_secs_f64())
}

/// A counter's value in a Prometheus text page.
fn counter(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The store's database requests per chat message and per presence change: two people of
/// their own send `N` messages, each acknowledged before the next (paced under the frame limit), then one changes state `N`
/// times (each change seen by the other before the next), with the request count read
/// between. Whatever else the relay does meanwhile is counted in an idle spell and taken off.
async fn store_cost(relay: &RelayProcess, http: &reqwest::Client) -> anyhow::Result<(f64, f64)> {
    const N: u32 = 60;
    // Below the relay's 20 frames a second per connection.
    const PACE: Duration = Duration::from_millis(70);
    let requests = async || -> anyhow::Result<f64> {
        let metrics = http.get(format!("{}/metrics", relay.base)).send().await?.text().await?;
        counter(&metrics, "sidecar_store_requests_total").context("sidecar_store_requests_total")
    };
    let login = async |who: &str| -> anyhow::Result<Client> {
        let token = tokens::dev_token(http, &relay.base, who, who, &[]).await?;
        Ok(Client::login(&relay.url, &token).await?.0)
    };
    let (a, b) = ("cost-a@bench.example", "cost-b@bench.example");
    let mut sender = login(a).await?;
    let mut watcher = login(b).await?;
    watcher.subscribe(None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let idle_started = Instant::now();
    let before_idle = requests().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rate = (requests().await? - before_idle) / idle_started.elapsed().as_secs_f64();

    let started = Instant::now();
    let before = requests().await?;
    for i in 0..N {
        let (to, client_id, text) = (b.to_owned(), format!("cost-{i}"), "how much is this?".to_owned());
        match sender.request(|id| ClientFrame::SendChat { id, to, client_id, text }).await? {
            ServerFrame::ChatAck { .. } => {}
            other => anyhow::bail!("expected an ack, got {other:?}"),
        }
        tokio::time::sleep(PACE).await;
    }
    let chat = (requests().await? - before - idle_rate * started.elapsed().as_secs_f64()) / f64::from(N);

    let started = Instant::now();
    let before = requests().await?;
    for i in 0..N {
        let name = if i % 2 == 0 { "Busy" } else { "Available" };
        let kind = if i % 2 == 0 { StateKind::NotRoutable } else { StateKind::Routable };
        let state = AgentState { name: name.into(), kind };
        let since = crate::now_ms() + i64::from(i);
        sender
            .request(|id| ClientFrame::SetPresence {
                id,
                state,
                since,
                contact: None,
                username: None,
                contact_id: None,
            })
            .await?;
        loop {
            match watcher.next().await? {
                crate::client::Event::Frame(ServerFrame::Presence { presence }) if presence.principal == a => break,
                crate::client::Event::Closed(code, reason) => anyhow::bail!("closed {code}: {reason}"),
                _ => {}
            }
        }
        tokio::time::sleep(PACE).await;
    }
    // The last change is stored after it is pushed: let the writes settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let presence = (requests().await? - before - idle_rate * started.elapsed().as_secs_f64()) / f64::from(N);
    Ok((chat.max(0.0), presence.max(0.0)))
}

/// The upper bound of the bucket holding quantile `q` of a Prometheus histogram.
pub fn histogram_quantile(metrics: &str, name: &str, q: f64) -> f64 {
    let prefix = format!("{name}_bucket{{le=\"");
    let buckets: Vec<(f64, f64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"} ")?;
            Some((le.parse().unwrap_or(f64::INFINITY), count.trim().parse().ok()?))
        })
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets.iter().find(|(_, count)| *count >= total * q).map_or(f64::NAN, |b| b.0)
}

/// One agent: sends what the driver asks, and times what it receives. After the handshake and
/// the roster snapshot (through tungstenite), it reads and writes frames itself ([`wire`]): the
/// generator must cost less than what it measures.
pub(crate) async fn agent(client: Client, commands: mpsc::UnboundedReceiver<Cmd>, epoch: Instant) -> AgentStats {
    let MaybeTlsStream::Plain(tcp) = client.into_stream().into_inner() else {
        return AgentStats { closed: true, ..AgentStats::default() };
    };
    let (read, write) = tcp.into_split();
    drive_agent(read, write, commands, epoch, Relay).await
}

/// How an agent's requests and the server's frames look on the wire.
pub(crate) trait Dialect {
    /// The WebSocket frame carrying `frame` (a request with its id), masked with `mask`.
    fn encode(&mut self, frame: &ClientFrame, mask: [u8; 4]) -> Vec<u8>;
    /// The relay-protocol JSON inside a received text frame, if any, and whether to answer it
    /// with a pong of the dialect's own.
    fn decode<'a>(&mut self, text: &'a str) -> (Option<&'a str>, Option<Vec<u8>>);
}

/// The relay's own protocol: frames as they are.
pub(crate) struct Relay;

impl Dialect for Relay {
    fn encode(&mut self, frame: &ClientFrame, mask: [u8; 4]) -> Vec<u8> {
        let text = serde_json::to_string(frame).unwrap_or_default();
        wire::masked(wire::TEXT, text.as_bytes(), mask)
    }

    fn decode<'a>(&mut self, text: &'a str) -> (Option<&'a str>, Option<Vec<u8>>) {
        (Some(text), None)
    }
}

/// One agent on an open socket: sends what the driver asks in `dialect`, and times what it
/// receives.
pub(crate) async fn drive_agent(
    mut read: tokio::net::tcp::OwnedReadHalf,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    mut commands: mpsc::UnboundedReceiver<Cmd>,
    epoch: Instant,
    mut dialect: impl Dialect,
) -> AgentStats {
    let mut stats = AgentStats::default();
    let mut reader = wire::FrameReader::new(4096);
    let mut next_id = 1_000_u64;
    let mut last_since = 0_i64;
    let mut mask = XorShift(epoch.elapsed().as_nanos() as u64 | 1);
    let mut pending_acks: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    loop {
        tokio::select! {
            command = commands.recv() => {
                let frame = match command {
                    None | Some(Cmd::Stop) => break,
                    Some(Cmd::Presence { micros }) => {
                        last_since = (wall_ms()).max(last_since);
                        next_id += 1;
                        ClientFrame::SetPresence {
                            id: next_id,
                            // The send time, and a counter so two changes in one tick differ.
                            state: AgentState { name: format!("bench-{micros}-{next_id}"), kind: StateKind::NotRoutable },
                            since: last_since,
                            contact: None,
                            username: None,
                            contact_id: None,
                        }
                    }
                    Some(Cmd::Chat { to, client_id, micros }) => {
                        next_id += 1;
                        pending_acks.insert(next_id, micros);
                        ClientFrame::SendChat { id: next_id, to: to.to_string(), client_id, text: format!("t{micros}") }
                    }
                };
                let key = (mask.below(usize::MAX) as u32).to_be_bytes();
                if write.write_all(&dialect.encode(&frame, key)).await.is_err() {
                    stats.closed = true;
                    break;
                }
            }
            n = read.read(reader.spare()) => {
                let Ok(n @ 1..) = n else {
                    stats.closed = true;
                    break;
                };
                reader.filled(n);
                let now = epoch.elapsed().as_micros() as u64;
                let mut answers = Vec::new();
                while let Some(frame) = reader.next_frame() {
                    match frame {
                        Ok((wire::TEXT, payload)) => {
                            let (text, answer) = dialect.decode(std::str::from_utf8(payload).unwrap_or_default());
                            if let Some(text) = text {
                                observe(text, now, &mut stats, &mut pending_acks);
                            }
                            answers.extend(answer);
                        }
                        Ok((wire::CLOSE, _)) | Err(_) => stats.closed = true,
                        Ok(_) => {}
                    }
                }
                for answer in answers {
                    let key = (mask.below(usize::MAX) as u32).to_be_bytes();
                    if write.write_all(&wire::masked(wire::TEXT, &answer, key)).await.is_err() {
                        stats.closed = true;
                    }
                }
                if stats.closed {
                    break;
                }
            }
        }
    }
    stats
}

/// Reads just enough of a frame to time it; full decoding would cost the load generator more
/// CPU than the relay spends sending it.
fn observe(text: &str, now: u64, stats: &mut AgentStats, pending: &mut std::collections::HashMap<u64, u64>) {
    let since = |micros: u64| u32::try_from(now.saturating_sub(micros)).unwrap_or(u32::MAX);
    if text.starts_with(r#"{"type":"presence""#) {
        if let Some(micros) = number_after(text, r#""name":"bench-"#) {
            stats.presence_us.push(since(micros));
        }
    } else if text.starts_with(r#"{"type":"chat","#) {
        let client_id = text
            .split_once(r#""client_id":""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(id, _)| id.to_owned())
            .unwrap_or_default();
        if !stats.chat_ids.insert(client_id) {
            stats.duplicated += 1;
            return;
        }
        if let Some(micros) = number_after(text, r#""text":"t"#) {
            stats.chat_us.push(since(micros));
        }
    } else if text.starts_with(r#"{"type":"chat_ack""#) {
        stats.acked += 1;
        if let Some(id) = number_after(text, r#""id":"#)
            && let Some(micros) = pending.remove(&id)
        {
            stats.ack_us.push(since(micros));
        }
    } else if text.starts_with(r#"{"type":"error""#) {
        stats.errors += 1;
        if stats.errors <= 3 {
            eprintln!("relay-bench: error frame: {text}");
        }
    }
}

fn number_after(text: &str, marker: &str) -> Option<u64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The `q` quantile of microsecond samples, in milliseconds.
pub fn percentile(samples: &mut [u32], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_unstable();
    let rank = ((samples.len() as f64 - 1.0) * q).round() as usize;
    f64::from(samples[rank]) / 1000.0
}

/// A small deterministic generator, so runs pick the same agents.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_numbers() {
        let mut samples: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile(&mut samples, 0.5), 51.0);
        assert_eq!(percentile(&mut samples, 0.99), 99.0);
        assert_eq!(number_after(r#"{"id":42,"x":1}"#, r#""id":"#), Some(42));
        assert_eq!(number_after("none", "x"), None);
        let metrics = "h_bucket{le=\"0.001\"} 50\nh_bucket{le=\"0.01\"} 99\nh_bucket{le=\"0.1\"} 100\nh_bucket{le=\"+Inf\"} 100\n";
        assert_eq!(histogram_quantile(metrics, "h", 0.5), 0.001);
        assert_eq!(histogram_quantile(metrics, "h", 0.99), 0.01);
    }
}
