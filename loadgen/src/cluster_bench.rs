//! The cluster benchmark (`cargo xtask bench cluster`): the relay benchmark's load (agents in
//! scoped rosters, a steady rate of presence changes and chat messages, timed by the receivers)
//! spread over N relay nodes joined by Redis on one DynamoDB-compatible store, and the same load
//! against the peer, a socket.io server with its Redis adapter (`bench/socketio/`), driven by the
//! same generator through a small adapter ([`SocketIo`]): Engine.IO v4 over a WebSocket.
//!
//! Agent `i` is connected to node `i % N`, so a roster's members are spread over every node and
//! most deliveries cross Redis.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use protocol::ClientFrame;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

use crate::bench::{self, AgentStats, Cmd, Dialect, email, percentile};
use crate::process::{RelayProcess, cpu_seconds, free_port, rss_kb};
use crate::redis::RedisProcess;
use crate::{Client, tokens, wire};

/// Which server the load runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The relay (`--redis-url`, `--store dynamodb`).
    Relay,
    /// The socket.io peer.
    SocketIo,
}

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub server: Server,
    pub relay: PathBuf,
    /// `bench/socketio/server.js`.
    pub peer: PathBuf,
    pub nodes: usize,
    pub agents: usize,
    pub roster_size: usize,
    pub presence_per_s: u32,
    pub chat_per_s: u32,
    pub duration: Duration,
    pub connect_concurrency: usize,
    /// The DynamoDB-compatible server both store their messages in.
    pub dynamodb_endpoint: String,
    /// A table prefix of this run's own.
    pub table_prefix: String,
}

#[derive(Debug, Clone, Default)]
pub struct ClusterReport {
    pub server: &'static str,
    pub nodes: usize,
    pub agents: usize,
    pub presence_p50_ms: f64,
    pub presence_p99_ms: f64,
    pub chat_p50_ms: f64,
    pub chat_p99_ms: f64,
    pub chat_ack_p99_ms: f64,
    pub presence_sent: u64,
    pub chat_sent: u64,
    pub chat_acked: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub errors: u64,
    pub closed: u64,
    pub run_s: f64,
    pub connect_s: f64,
    /// The servers' resident memory grown per connection (all nodes).
    pub rss_kb_per_connection: f64,
    /// CPU of the servers and Redis per delivery, in microseconds.
    pub cpu_us_per_delivery: f64,
    /// CPU the servers and Redis used per second of the run (1.0 = one core).
    pub server_cores: f64,
}

impl ClusterReport {
    pub fn deliveries_per_s(&self) -> f64 {
        self.delivered as f64 / self.run_s.max(f64::EPSILON)
    }

    pub fn line(&self) -> String {
        let peer = if self.server == "relay" { String::new() } else { format!("peer={} ", self.server) };
        format!(
            "cluster-bench {peer}nodes={} agents={} presence_p99_ms={:.2} chat_p99_ms={:.2} lost={} duplicated={} \
             deliveries_per_s={:.0} rss_kb_per_connection={:.1} cpu_us_per_delivery={:.1} presence_p50_ms={:.2} \
             chat_p50_ms={:.2} chat_ack_p99_ms={:.2} server_cores={:.2}",
            self.nodes,
            self.agents,
            self.presence_p99_ms,
            self.chat_p99_ms,
            self.lost,
            self.duplicated,
            self.deliveries_per_s(),
            self.rss_kb_per_connection,
            self.cpu_us_per_delivery,
            self.presence_p50_ms,
            self.chat_p50_ms,
            self.chat_ack_p99_ms,
            self.server_cores,
        )
    }
}

/// A server process of either kind.
enum Node {
    Relay(RelayProcess),
    Peer { child: Child, port: u16 },
}

impl Node {
    fn pid(&self) -> u32 {
        match self {
            Self::Relay(relay) => relay.pid(),
            Self::Peer { child, .. } => child.id(),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Self::Relay(relay) => relay.port,
            Self::Peer { port, .. } => *port,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Self::Peer { child, .. } = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the load against `config.nodes` servers of `config.server`'s kind and a fresh Redis.
pub async fn run(config: &ClusterConfig) -> anyhow::Result<ClusterReport> {
    let redis = RedisProcess::start().await?;
    let dir = tempfile::tempdir()?;
    let nodes = start_nodes(config, &redis, dir.path()).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pids: Vec<u32> = nodes.iter().map(Node::pid).chain(redis.pid()).collect();
    let rss = || pids.iter().take(nodes.len()).map(|p| rss_kb(*p).unwrap_or(0)).sum::<u64>();
    let cpu = || pids.iter().map(|p| cpu_seconds(&format!("/proc/{p}/stat")).unwrap_or(0.0)).sum::<f64>();
    let rss_before = rss();

    let epoch = Instant::now();
    let connect_started = Instant::now();
    let http = reqwest::Client::new();
    let (mut senders, mut handles) = (Vec::new(), Vec::new());
    let indexes: Vec<usize> = (0..config.agents).collect();
    for chunk in indexes.chunks(config.connect_concurrency) {
        let logins = chunk.iter().map(|&i| {
            let port = nodes[i % nodes.len()].port();
            let (http, server, roster) = (http.clone(), config.server, format!("team-{}", i / config.roster_size));
            async move {
                match server {
                    Server::Relay => relay_agent(&http, port, i).await,
                    Server::SocketIo => peer_agent(port, i, &roster).await,
                }
            }
        });
        for socket in futures_util::future::join_all(logins).await {
            let (read, write, dialect) = socket.context("an agent could not connect")?;
            let (tx, rx) = mpsc::unbounded_channel();
            senders.push(tx);
            handles.push(match dialect {
                Server::Relay => tokio::spawn(bench::drive_agent(read, write, rx, epoch, bench::Relay)),
                Server::SocketIo => tokio::spawn(bench::drive_agent(read, write, rx, epoch, SocketIo)),
            });
        }
    }
    let connect_s = connect_started.elapsed().as_secs_f64();
    eprintln!(
        "cluster-bench: {} agents on {} {:?} nodes in {connect_s:.1}s",
        config.agents,
        nodes.len(),
        config.server
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = rss();
    let cpu_before = cpu();
    let (presence_sent, chat_sent, run_s) =
        bench::drive(&senders, config.presence_per_s, config.chat_per_s, config.duration, epoch).await;
    let cpu_used = cpu() - cpu_before;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for tx in &senders {
        let _ = tx.send(Cmd::Stop);
    }
    let mut all = AgentStats::default();
    for handle in handles {
        let stats = handle.await?;
        all.presence_us.extend(stats.presence_us);
        all.chat_us.extend(stats.chat_us);
        all.ack_us.extend(stats.ack_us);
        all.chat_ids.extend(stats.chat_ids);
        all.acked += stats.acked;
        all.duplicated += stats.duplicated;
        all.errors += stats.errors;
        all.closed |= stats.closed;
    }
    let presence_expected = presence_sent * config.roster_size as u64;
    let delivered = (all.presence_us.len() + all.chat_us.len()) as u64;
    let report = ClusterReport {
        server: match config.server {
            Server::Relay => "relay",
            Server::SocketIo => "socketio",
        },
        nodes: config.nodes,
        agents: config.agents,
        presence_p50_ms: percentile(&mut all.presence_us, 0.50),
        presence_p99_ms: percentile(&mut all.presence_us, 0.99),
        chat_p50_ms: percentile(&mut all.chat_us, 0.50),
        chat_p99_ms: percentile(&mut all.chat_us, 0.99),
        chat_ack_p99_ms: percentile(&mut all.ack_us, 0.99),
        presence_sent,
        chat_sent,
        chat_acked: all.acked,
        delivered,
        lost: all.acked.saturating_sub(all.chat_us.len() as u64)
            + presence_expected.saturating_sub(all.presence_us.len() as u64),
        duplicated: all.duplicated,
        errors: all.errors,
        closed: u64::from(all.closed),
        run_s,
        connect_s,
        rss_kb_per_connection: rss_connected.saturating_sub(rss_before) as f64 / config.agents.max(1) as f64,
        cpu_us_per_delivery: cpu_used * 1e6 / delivered.max(1) as f64,
        server_cores: cpu_used / run_s.max(f64::EPSILON),
    };
    drop(nodes);
    Ok(report)
}

async fn start_nodes(config: &ClusterConfig, redis: &RedisProcess, dir: &std::path::Path) -> anyhow::Result<Vec<Node>> {
    let mut nodes = Vec::new();
    match config.server {
        Server::Relay => {
            let directory = dir.join("directory.json");
            let users: Vec<_> = (0..config.agents)
                .map(|i| json!({"id": email(i), "display_name": format!("Agent {i}"), "team": format!("team-{}", i / config.roster_size)}))
                .collect();
            std::fs::write(&directory, json!({ "users": users }).to_string())?;
            let directory = directory.to_string_lossy().into_owned();
            for n in 0..config.nodes {
                let mut args = vec![
                    "--dev-issuer",
                    "--roster-by",
                    "team",
                    "--idle-timeout-ms",
                    "3600000",
                    "--store",
                    "dynamodb",
                    "--dynamodb-endpoint",
                    &config.dynamodb_endpoint,
                    "--dynamodb-table-prefix",
                    &config.table_prefix,
                    "--dynamodb-create-tables",
                ];
                // The first node imports the directory into the store; the others read it there.
                if n == 0 {
                    args.extend(["--directory-file", &directory]);
                }
                let redis_url = redis.url();
                args.extend(["--redis-url", &redis_url]);
                let env =
                    [("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"), ("AWS_REGION", "us-east-1")];
                let data = dir.join(format!("node{n}"));
                nodes.push(Node::Relay(RelayProcess::start_with_env(&config.relay, &data, &args, &env, None).await?));
            }
            // Every node has joined before the agents come.
            let http = reqwest::Client::new();
            let wanted = format!("cluster up nodes {}\n", config.nodes);
            let deadline = Instant::now() + Duration::from_secs(30);
            for node in &nodes {
                let url = format!("http://127.0.0.1:{}/readyz", node.port());
                while !http.get(&url).send().await?.text().await?.contains(&wanted) {
                    if Instant::now() > deadline {
                        bail!("the relay nodes did not join one cluster");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Server::SocketIo => {
            for _ in 0..config.nodes {
                let port = free_port()?;
                let child = Command::new("node")
                    .arg(&config.peer)
                    .args([&port.to_string(), &redis.url(), &config.dynamodb_endpoint, &config.table_prefix])
                    .stdout(Stdio::null())
                    .spawn()
                    .context("starting the socket.io peer (node bench/socketio/server.js)")?;
                let node = Node::Peer { child, port };
                let deadline = Instant::now() + Duration::from_secs(30);
                while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                    if Instant::now() > deadline {
                        bail!("the socket.io peer did not listen on {port}");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                nodes.push(node);
            }
        }
    }
    Ok(nodes)
}

type Socket = (tokio::net::tcp::OwnedReadHalf, tokio::net::tcp::OwnedWriteHalf, Server);

/// An agent signed in on a relay node (a token from that node's development issuer) and
/// subscribed to its roster.
async fn relay_agent(http: &reqwest::Client, port: u16, i: usize) -> anyhow::Result<Socket> {
    let base = format!("http://127.0.0.1:{port}");
    let token = tokens::dev_token(http, &base, &email(i), &format!("Agent {i}"), &[]).await?;
    let (mut client, _) = Client::login(&format!("ws://127.0.0.1:{port}/ws"), &token).await?;
    client.subscribe(None).await?;
    let MaybeTlsStream::Plain(tcp) = client.into_stream().into_inner() else { bail!("not a plain socket") };
    let (read, write) = tcp.into_split();
    Ok((read, write, Server::Relay))
}

/// An agent connected to a socket.io node (Engine.IO v4 over a WebSocket, the default
/// namespace) and subscribed to its roster, as the peer's users' clients do.
async fn peer_agent(port: u16, i: usize, roster: &str) -> anyhow::Result<Socket> {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&p={}&r={roster}", email(i));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    expect(&mut ws, "0").await?;
    ws.send(Message::text("40")).await?;
    expect(&mut ws, "40").await?;
    ws.send(Message::text(r#"421["subscribe",{}]"#)).await?;
    expect(&mut ws, "431").await?;
    let MaybeTlsStream::Plain(tcp) = ws.into_inner() else { bail!("not a plain socket") };
    let (read, write) = tcp.into_split();
    Ok((read, write, Server::SocketIo))
}

/// Waits for a packet starting with `prefix`, answering Engine.IO pings meanwhile.
async fn expect(
    ws: &mut tokio_tungstenite::WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    prefix: &str,
) -> anyhow::Result<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await?.context("closed")?? {
            Message::Text(text) if text.starts_with(prefix) => return Ok(text.to_string()),
            Message::Text(text) if text.as_str() == "2" => ws.send(Message::text("3")).await?,
            _ => {}
        }
    }
}

/// The adapter from the relay's requests to socket.io events and back: `set_presence` and
/// `send_chat` (with an acknowledgement) are events carrying the relay's frame; the peer emits
/// the relay's frames as event `f` and answers `send_chat` with a `chat_ack` frame.
pub(crate) struct SocketIo;

impl Dialect for SocketIo {
    fn encode(&mut self, frame: &ClientFrame, mask: [u8; 4]) -> Vec<u8> {
        let json = serde_json::to_string(frame).unwrap_or_default();
        let packet = match frame {
            ClientFrame::SendChat { id, .. } => format!(r#"42{id}["send_chat",{json}]"#),
            _ => format!(r#"42["set_presence",{json}]"#),
        };
        wire::masked(wire::TEXT, packet.as_bytes(), mask)
    }

    fn decode<'a>(&mut self, text: &'a str) -> (Option<&'a str>, Option<Vec<u8>>) {
        if text == "2" {
            return (None, Some(b"3".to_vec()));
        }
        if let Some(event) = text.strip_prefix(r#"42["f","#) {
            return (event.strip_suffix(']'), None);
        }
        if let Some(ack) = text.strip_prefix("43") {
            let body = ack.trim_start_matches(|c: char| c.is_ascii_digit());
            return (body.strip_prefix('[').and_then(|b| b.strip_suffix(']')), None);
        }
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socketio_adapter_frames_requests_and_unwraps_events_and_acks() {
        let mut io = SocketIo;
        assert_eq!(io.decode("2"), (None, Some(b"3".to_vec())), "Engine.IO ping");
        assert_eq!(io.decode(r#"42["f",{"type":"presence","x":1}]"#).0, Some(r#"{"type":"presence","x":1}"#));
        assert_eq!(io.decode(r#"437[{"type":"chat_ack","id":7}]"#).0, Some(r#"{"type":"chat_ack","id":7}"#));
        assert_eq!(io.decode("40{}").0, None);
        let frame = ClientFrame::SendChat { id: 9, to: "b".into(), client_id: "c".into(), text: "t1".into() };
        let packet = io.encode(&frame, [0; 4]);
        let text = String::from_utf8_lossy(&packet[6..]).into_owned();
        assert!(text.starts_with(r#"429["send_chat",{"type":"send_chat","id":9"#), "{text}");
    }
}
