//! The security benchmark behind `cargo xtask bench security`: the relay binary trusting an
//! issuer run in this process, every attack of [`crate::attacks`] against it with the store
//! compared before and after, and honest agents chatting while one principal floods the relay.
//!
//! The flood figure is the honest agents' delivery latency (send to the peer's receipt, p99)
//! while the flooder runs, beside the same figure without it: on a shared 2-core machine the
//! ratio says more than either number.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{ClientFrame, ServerFrame};
use server::auth::DevIssuer;
use tokio_tungstenite::tungstenite::Message;

use crate::Client;
use crate::attacks::{self, Outcome, StoreSnapshot, Target};
use crate::process::RelayProcess;

pub const AUDIENCE: &str = "ccp-sidecar-bench";
static CLIENT_IDS: AtomicU64 = AtomicU64::new(0);
pub const ORIGIN: &str = "chrome-extension://goibjmhfiabeppgigcbjfjgoghionflh";

/// An OIDC issuer served from this process on loopback (discovery and JWKS at `/oidc`).
pub async fn serve_issuer() -> anyhow::Result<(Arc<DevIssuer>, String)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/oidc", listener.local_addr()?);
    let dev = Arc::new(DevIssuer::new(url.clone()));
    let router = axum::Router::new().nest_service("/oidc", dev.clone().router());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok((dev, url))
}

#[derive(Debug, Clone, Default)]
pub struct SecurityReport {
    pub outcomes: Vec<Outcome>,
    pub store_unchanged: bool,
    pub relay_alive: bool,
    pub baseline_p50_ms: f64,
    pub baseline_p99_ms: f64,
    pub flood_p50_ms: f64,
    pub flood_p99_ms: f64,
    /// Frames the flooder got written to the relay during the flood.
    pub flood_frames: u64,
    /// CPU the relay used per second (1.0 = one core) without and with the flood.
    pub baseline_relay_cores: f64,
    pub flood_relay_cores: f64,
    /// The relay's own counters after the run (connections, frames, closes).
    pub relay_counters: Vec<String>,
    /// Honest messages sent and received during each phase.
    pub honest_sent: u64,
    pub honest_received: u64,
}

impl SecurityReport {
    pub fn refused(&self) -> usize {
        self.outcomes.iter().filter(|o| o.refused).count()
    }
}

/// Starts the relay, runs the attacks and the flood, stops the relay.
pub async fn run(binary: &Path, flood_seconds: u64, honest_agents: usize) -> anyhow::Result<SecurityReport> {
    let dir = tempfile::tempdir()?;
    let data: PathBuf = dir.path().join("data");
    let (issuer, issuer_url) = serve_issuer().await?;
    let max_frame_bytes = 16 * 1024;
    let relay = RelayProcess::start(
        binary,
        &data,
        &[
            "--oidc-issuer",
            &issuer_url,
            "--oidc-audience",
            AUDIENCE,
            "--allowed-origins",
            ORIGIN,
            // The attacks connect as one principal many times in a few seconds.
            "--principal-connects-per-second",
            "5",
        ],
        None,
    )
    .await?;
    let target = Target {
        ws: relay.url.clone(),
        base: relay.base.clone(),
        origin: ORIGIN.into(),
        issuer,
        issuer_url,
        audience: AUDIENCE.into(),
        max_frame_bytes,
        max_connections: 8,
    };
    attacks::seed(&target).await?;
    // Presence of the seeded agents turns Offline after the grace period: let that settle.
    tokio::time::sleep(Duration::from_millis(11_000)).await;
    let before = StoreSnapshot::read(&data)?;
    let outcomes = attacks::run_all(&target).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = StoreSnapshot::read(&data)?;
    let relay_alive = target.login(attacks::AIKO).await.is_ok();
    let mut report =
        SecurityReport { outcomes, store_unchanged: before == after, relay_alive, ..SecurityReport::default() };
    if !report.store_unchanged {
        for line in after.0.iter().filter(|l| !before.0.contains(l)) {
            eprintln!("security-bench: stored after the attacks only: {line}");
        }
        for line in before.0.iter().filter(|l| !after.0.contains(l)) {
            eprintln!("security-bench: stored before the attacks only: {line}");
        }
    }

    let seconds = Duration::from_secs(flood_seconds);
    let cpu = relay.cpu_s()?;
    let started = Instant::now();
    let (p50, p99, sent, received) = honest(&target, honest_agents, seconds).await?;
    report.baseline_relay_cores = (relay.cpu_s()? - cpu) / started.elapsed().as_secs_f64();
    (report.baseline_p50_ms, report.baseline_p99_ms) = (p50, p99);
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    // The flooder runs on a thread of its own, as another machine would: in the honest agents'
    // runtime its tasks would delay theirs, and the figure would measure this process.
    let flood = {
        let (target, stop, written) = (target.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let tasks: Vec<_> = (0..target.max_connections)
                    .map(|n| tokio::spawn(flooder(target.clone(), n, stop.clone(), written.clone())))
                    .collect();
                for task in tasks {
                    let _ = task.await;
                }
            });
            Ok(())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu = relay.cpu_s()?;
    let started = Instant::now();
    let (p50, p99, flood_sent, flood_received) = honest(&target, honest_agents, seconds).await?;
    report.flood_relay_cores = (relay.cpu_s()? - cpu) / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    flood.join().map_err(|_| anyhow::anyhow!("the flooder panicked"))??;
    (report.flood_p50_ms, report.flood_p99_ms) = (p50, p99);
    report.flood_frames = written.load(Ordering::Relaxed);
    report.honest_sent = sent + flood_sent;
    report.honest_received = received + flood_received;
    report.relay_alive &= reqwest::get(format!("{}/healthz", relay.base)).await.is_ok_and(|r| r.status().is_success());
    let metrics = reqwest::get(format!("{}/metrics", relay.base)).await?.text().await?;
    for name in [
        "sidecar_connections_total",
        "sidecar_frames_in_total",
        "sidecar_rate_closes_total",
        "sidecar_slow_consumers_total",
        "sidecar_oversized_frames_total",
    ] {
        if let Some(line) = metrics.lines().find(|l| l.starts_with(&format!("{name} "))) {
            report.relay_counters.push(line.to_owned());
        }
    }
    relay.terminate()?;
    Ok(report)
}

/// Pairs of honest agents each sending their partner a message every 100 ms for `window`;
/// returns delivery latency p50 and p99 (ms), and messages sent and received.
async fn honest(t: &Target, agents: usize, window: Duration) -> anyhow::Result<(f64, f64, u64, u64)> {
    let mut clients = Vec::new();
    for i in 0..agents {
        clients.push(t.login(&format!("honest-{i:03}@example.com")).await?);
    }
    // One window for everyone: a message sent near the end still finds its peer listening.
    let epoch = Instant::now();
    let deadline = tokio::time::Instant::now() + window;
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let peer = format!("honest-{:03}@example.com", i ^ 1);
        tasks.push(tokio::spawn(honest_agent(client, peer, epoch, deadline)));
    }
    let mut latencies = Vec::new();
    let mut sent = 0;
    for task in tasks {
        let (mine, n) = task.await??;
        latencies.extend(mine);
        sent += n;
    }
    ensure!(!latencies.is_empty(), "no honest message arrived");
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Ok((at(0.5), at(0.99), sent, latencies.len() as u64))
}

async fn honest_agent(
    client: Client,
    peer: String,
    epoch: Instant,
    deadline: tokio::time::Instant,
) -> anyhow::Result<(Vec<u64>, u64)> {
    let mut ws = client.into_stream();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let drain = deadline + Duration::from_secs(2);
    let mut latencies = Vec::new();
    let mut sent = 0u64;
    let mut acked = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if tokio::time::Instant::now() < deadline => {
                sent += 1;
                let micros = epoch.elapsed().as_micros();
                // Unique across both phases: a repeated client id is answered as a duplicate
                // and, rightly, not delivered again.
                let client_id = format!("h-{}", CLIENT_IDS.fetch_add(1, Ordering::Relaxed));
                let frame = ClientFrame::SendChat { id: sent, to: peer.clone(), client_id, text: format!("t={micros}") };
                ws.send(Message::text(serde_json::to_string(&frame)?)).await.context("honest send")?;
            }
            () = tokio::time::sleep_until(drain) => break,
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    match protocol::decode_server(&text) {
                        Ok(ServerFrame::Chat { message }) => {
                            if let Some(micros) = message.text.strip_prefix("t=").and_then(|m| m.parse::<u128>().ok()) {
                                latencies.push((epoch.elapsed().as_micros() - micros) as u64);
                            }
                        }
                        Ok(ServerFrame::Error { error, .. }) => eprintln!("security-bench: an honest agent was refused: {error:?}"),
                        Ok(ServerFrame::ChatAck { .. }) => acked += 1,
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                other => bail!("an honest agent's connection ended: {other:?}"),
            },
        }
    }
    let _ = ws.close(None).await;
    if acked != sent {
        eprintln!("security-bench: an honest agent sent {sent} and had {acked} acknowledged");
    }
    Ok((latencies, sent))
}

/// One of the flooder's connections: as many frames as the socket takes (pings, malformed,
/// oversized and binary frames, WebSocket pings, chat to a sink), reconnecting whenever the
/// relay closes it, until `stop`.
async fn flooder(t: Target, n: usize, stop: Arc<AtomicBool>, written: Arc<AtomicU64>) {
    let big = format!("{{\"type\":\"ping\",\"id\":1,\"pad\":\"{}\"}}", "x".repeat(t.max_frame_bytes));
    let frames = [
        r#"{"type":"ping","id":7}"#.to_owned(),
        "{\"type\": \"send_chat\"".to_owned(),
        format!(r#"{{"type":"send_chat","id":8,"to":"sink@example.com","client_id":"f{n}","text":"flood"}}"#),
        big,
    ];
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut client) = Client::connect(&t.ws, Some(&t.origin)).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if !matches!(client.hello(&t.token(attacks::MALLORY)).await, Ok(ServerFrame::Welcome { .. })) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let (mut sink, mut stream) = client.into_stream().split();
        let reader = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            i += 1;
            let message = match i % (frames.len() + 2) {
                n if n < frames.len() => Message::text(frames[n].clone()),
                n if n == frames.len() => Message::binary(vec![0u8; 64]),
                _ => Message::Ping(vec![1u8; 16].into()),
            };
            if sink.send(message).await.is_err() {
                break;
            }
            written.fetch_add(1, Ordering::Relaxed);
        }
        reader.abort();
    }
}

/// The outcome lines, for the report.
pub fn describe(report: &SecurityReport) -> String {
    let mut out = String::new();
    for o in &report.outcomes {
        out.push_str(&format!("  {} {}: {}\n", if o.refused { "refused" } else { "NOT REFUSED" }, o.name, o.detail));
    }
    out
}
