//! `connect-realtime-bench`: behind `cargo xtask bench connect-realtime`. Starts the Connect
//! stand-in with a 5,000-agent instance, every agent logged in, and Connect's default quota (2
//! requests a second, burst 5); starts the relay (built with the `connect` feature) against it on
//! its defaults (the directory sync, then `GetCurrentUserData` paced within the quota) with
//! supervisors watching every roster; then changes one agent's status in the stand-in every few
//! seconds and times each change until it reaches a supervisor's floor. Prints one line of
//! figures on stdout, details on stderr.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use connect_fake::{AgentNow, Behaviour, FakeConnect, INSTANCE_ID, Shape, max_burst, max_rate};
use loadgen::client::Event;
use loadgen::process::RelayProcess;
use protocol::ServerFrame;

#[derive(Parser)]
#[command(about = "How fresh Connect's real-time data is on the supervisor's floor, within Connect's quota")]
struct Args {
    /// The relay binary, built with `--features connect`.
    #[arg(long)]
    relay: PathBuf,
    #[arg(long, default_value_t = 5_000)]
    agents: usize,
    /// Routing profiles the agents are spread over (the relay's filters).
    #[arg(long, default_value_t = 50)]
    profiles: usize,
    /// Supervisors watching every roster (one of them times the changes).
    #[arg(long, default_value_t = 20)]
    supervisors: usize,
    /// How long changes are made and timed, after the directory sync and the first reads.
    #[arg(long, default_value_t = 240)]
    seconds: u64,
    /// Time between two changes in the stand-in, in ms.
    #[arg(long, default_value_t = 3_000)]
    every_ms: u64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn agent(i: usize) -> String {
    format!("agent{i:05}@example.com")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0.0)
}

/// The next frame a supervisor gets, pinging every 20 s as the extension does (the relay closes
/// a silent connection); `None` once the connection is gone.
async fn watch(client: &mut loadgen::Client, pinged: &mut Instant) -> Option<ServerFrame> {
    loop {
        let ping = tokio::time::sleep_until((*pinged + Duration::from_secs(20)).into());
        tokio::select! {
            event = client.next() => return match event {
                Ok(Event::Frame(frame)) => Some(frame),
                _ => None,
            },
            () = ping => {
                *pinged = Instant::now();
                let id = client.id();
                client.send(&protocol::ClientFrame::Ping { id }).await.ok()?;
            }
        }
    }
}

/// Changes made in the stand-in and not yet seen: the principal's new status and when.
type Pending = Arc<Mutex<HashMap<String, (String, Instant)>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = Shape { users: args.agents, queues: 20, numbers: 10, profiles: args.profiles, queues_per_profile: 3 };
    let fake = FakeConnect::start(shape, Behaviour::default()).await?;
    let mut status: Vec<&str> = (0..args.agents).map(|i| if i % 4 == 0 { "Break" } else { "Available" }).collect();
    for (user, s) in status.iter().enumerate() {
        fake.set_agent(AgentNow { user, status: (*s).into(), since_ms: now_ms() - 600_000, contacts: Vec::new() });
    }
    let data = tempfile::tempdir()?;
    let relay_args = [
        "--dev-issuer",
        "--connect-instance-id",
        INSTANCE_ID,
        "--connect-endpoint",
        &fake.url,
        "--connect-region",
        "ap-northeast-1",
        "--roster-by",
        "routing-profile",
        "--max-connections-per-principal",
        "64",
    ];
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let relay = RelayProcess::start_with_env(&args.relay, data.path(), &relay_args, &env, None).await?;
    let http = reqwest::Client::new();
    let metrics = || async { http.get(format!("{}/metrics", relay.base)).send().await?.text().await };

    // The directory synced, and two reads of the real-time data since (every agent is on the floor).
    let started = Instant::now();
    let sync_ms = loop {
        let text = metrics().await?;
        let sync = metric(&text, "sidecar_directory_sync_duration_ms");
        if sync > 0.0 && metric(&text, "sidecar_connect_realtime_reads_total") >= 2.0 {
            break sync;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "no sync and reads in 10 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut watchers = Vec::with_capacity(args.supervisors);
    for i in 0..args.supervisors.max(1) {
        let token =
            loadgen::tokens::dev_token(&http, &relay.base, &format!("boss{i}@example.com"), "Boss", &["supervisors"])
                .await?;
        let (mut client, _) = loadgen::Client::login(&relay.url, &token).await?;
        let (_, roster) = client.subscribe(Some("*")).await?;
        if i == 0 {
            let online = roster.iter().filter(|p| p.online).count();
            anyhow::ensure!(online == args.agents, "{online} of {} agents on the floor", args.agents);
        }
        watchers.push(client);
    }

    // The first supervisor times every change; the others only keep up.
    let pending: Pending = Arc::default();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<f64>();
    let mut watchers = watchers.into_iter();
    let mut timer = watchers.next().expect("one supervisor");
    let watching = pending.clone();
    tokio::spawn(async move {
        let mut pinged = Instant::now();
        while let Some(frame) = watch(&mut timer, &mut pinged).await {
            if let ServerFrame::Presence { presence } = frame {
                let mut pending = watching.lock().expect("pending");
                if pending.get(&presence.principal).is_some_and(|(want, _)| *want == presence.state.name)
                    && let Some((_, at)) = pending.remove(&presence.principal)
                {
                    let _ = seen_tx.send(at.elapsed().as_secs_f64());
                }
            }
        }
    });
    for mut other in watchers {
        tokio::spawn(async move {
            let mut pinged = Instant::now();
            while watch(&mut other, &mut pinged).await.is_some() {}
        });
    }

    let text = metrics().await?;
    let reads_before = metric(&text, "sidecar_connect_realtime_reads_total");
    let calls_before = fake.log().len();
    let window = Instant::now();
    let mut changes = 0usize;
    // Agents spread over the pages: a stride prime to the agent count.
    let mut next = 0usize;
    while window.elapsed() < Duration::from_secs(args.seconds) {
        next = (next + 997) % args.agents;
        let to = if status[next] == "Available" { "Break" } else { "Available" };
        status[next] = to;
        pending.lock().expect("pending").insert(agent(next), (to.to_owned(), Instant::now()));
        fake.set_agent(AgentNow { user: next, status: to.into(), since_ms: now_ms(), contacts: Vec::new() });
        changes += 1;
        tokio::time::sleep(Duration::from_millis(args.every_ms)).await;
    }
    let measured = window.elapsed();
    let calls = fake.log().len() - calls_before;
    let text = metrics().await?;
    let reads = metric(&text, "sidecar_connect_realtime_reads_total") - reads_before;
    // The last changes get up to two read intervals to arrive.
    let interval_s = metric(&text, "sidecar_connect_realtime_interval_ms") / 1000.0;
    let drain = Instant::now() + Duration::from_secs_f64(interval_s * 2.0 + 5.0);
    while !pending.lock().expect("pending").is_empty() && Instant::now() < drain {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut staleness = Vec::new();
    while let Ok(s) = seen_rx.try_recv() {
        staleness.push(s);
    }
    staleness.sort_by(f64::total_cmp);
    let unseen = pending.lock().expect("pending").len();
    let log = fake.log();
    let throttled = log.iter().filter(|l| l.status == 429).count();
    let minutes = measured.as_secs_f64() / 60.0;
    println!(
        "connect-realtime-bench agents={} poll_s={:.1} calls_per_min={:.1} max_rps={:.2} staleness_p95_s={:.1}",
        args.agents,
        interval_s,
        calls as f64 / minutes,
        max_rate(&log, 5),
        percentile(&staleness, 0.95),
    );
    eprintln!(
        "connect-realtime-bench: {} supervisors watching; {reads} reads done and {calls} calls in {:.0} s; staleness over \
         {} of {changes} changes: p50 {:.1} s, max {:.1} s ({unseen} not seen); the whole log (sync of {:.0} s \
         included): {} calls, max burst {} at 2/s, {throttled} throttled",
        args.supervisors,
        measured.as_secs_f64(),
        staleness.len(),
        percentile(&staleness, 0.5),
        staleness.last().copied().unwrap_or(f64::NAN),
        sync_ms / 1000.0,
        log.len(),
        max_burst(&log, 2.0),
    );
    anyhow::ensure!(unseen == 0, "{unseen} changes never reached the floor");
    drop(relay);
    Ok(())
}
