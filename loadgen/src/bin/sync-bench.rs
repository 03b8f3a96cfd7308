//! `sync-bench`: behind `cargo xtask bench sync`. Starts the local fake of the Connect API with
//! a 10,000-user instance and Connect's default quota, starts the relay (built with the
//! `connect` feature) against it, and measures one directory sync through the real AWS SDK as
//! the fake's request log sees it; then 1,000 agents ask for their caller IDs at once. Prints
//! one line of figures on stdout, details on stderr.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use connect_fake::{Behaviour, FakeConnect, INSTANCE_ID, PageLimits, Shape, max_burst, max_rate};
use loadgen::process::RelayProcess;

#[derive(Parser)]
#[command(about = "Directory sync and caller-ID benchmark for the CCP Sidecar relay")]
struct Args {
    /// The relay binary, built with `--features connect`.
    #[arg(long)]
    relay: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    #[arg(long, default_value_t = 400)]
    queues: usize,
    #[arg(long, default_value_t = 250)]
    numbers: usize,
    #[arg(long, default_value_t = 150)]
    profiles: usize,
    /// Agents asking for their caller IDs at once.
    #[arg(long, default_value_t = 1000)]
    agents: usize,
    /// Rounds of agents asking at once.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

fn pages(items: usize, page: usize) -> usize {
    items.div_ceil(page).max(1)
}

/// The upper bound (ms) of the bucket holding the 99th percentile of a Prometheus histogram.
fn histogram_p99(metrics: &str, name: &str) -> String {
    let prefix = format!("{name}_bucket{{le=\"");
    let buckets: Vec<(String, f64)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| l.split_once("\"} ").map(|(le, n)| (le.to_owned(), n.trim().parse().unwrap_or(0.0))))
        .collect();
    let total = buckets.last().map_or(0.0, |b| b.1);
    buckets
        .iter()
        .find(|(_, n)| *n >= total * 0.99)
        .map(|(le, _)| le.parse::<f64>().map_or(le.clone(), |s| format!("{}", s * 1000.0)))
        .unwrap_or_else(|| "?".into())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = Shape {
        users: args.users,
        queues: args.queues,
        numbers: args.numbers,
        profiles: args.profiles,
        queues_per_profile: 4,
    };
    let fake = FakeConnect::start(shape, Behaviour::default()).await?;
    let data = tempfile::tempdir()?;
    let relay_args = [
        "--dev-issuer",
        "--connect-instance-id",
        INSTANCE_ID,
        "--connect-endpoint",
        &fake.url,
        "--connect-region",
        "ap-northeast-1",
        "--max-connections-per-principal",
        "64",
    ];
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDFAKE"),
        ("AWS_SECRET_ACCESS_KEY", "fake-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let relay = RelayProcess::start_with_env(&args.relay, data.path(), &relay_args, &env, None).await?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.agents).build()?;
    let started = Instant::now();
    let synced_ms = loop {
        let metrics = http.get(format!("{}/metrics", relay.base)).send().await?.text().await?;
        let duration = metrics
            .lines()
            .find_map(|l| l.strip_prefix("sidecar_directory_sync_duration_ms "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if duration > 0 {
            break duration;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "the sync did not finish in 5 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let log = fake.log();
    let refused = log.iter().filter(|l| l.status != 200).count();
    let limits = PageLimits::CONNECT;
    let minimum = pages(args.users, limits.users)
        + pages(fake.instance().statuses.len(), limits.statuses)
        + pages(args.queues, limits.queues)
        + pages(args.numbers, limits.numbers)
        + pages(args.profiles, limits.profiles);

    // 1,000 agents, each with their own token, ask at once; a few rounds.
    let mut tokens = Vec::with_capacity(args.agents);
    for i in 0..args.agents {
        let email = format!("agent{:05}@example.com", i * (args.users / args.agents).max(1));
        tokens.push(loadgen::tokens::dev_token(&http, &relay.base, &email, "Agent", &[]).await?);
    }
    let mut latencies = Vec::with_capacity(args.agents * args.rounds);
    let mut rounds_p99 = Vec::with_capacity(args.rounds);
    let mut empty = 0;
    for _ in 0..args.rounds {
        let mut round = Vec::with_capacity(args.agents);
        let asks = tokens.iter().map(|token| {
            let (http, url) = (http.clone(), format!("{}/api/v1/caller-ids", relay.base));
            let token = token.clone();
            tokio::spawn(async move {
                let sent = Instant::now();
                let ids: protocol::CallerIds =
                    http.get(url).bearer_auth(token).send().await?.error_for_status()?.json().await?;
                anyhow::Ok((sent.elapsed().as_secs_f64() * 1000.0, ids.caller_ids.is_empty()))
            })
        });
        for ask in futures_util::future::join_all(asks).await {
            let (ms, no_ids) = ask??;
            round.push(ms);
            empty += usize::from(no_ids);
        }
        round.sort_by(f64::total_cmp);
        rounds_p99.push(percentile(&round, 0.99));
        latencies.extend(round);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::ensure!(empty == 0, "{empty} answers had no caller IDs");
    let metrics = http.get(format!("{}/metrics", relay.base)).send().await?.text().await?;
    let own_p99 = histogram_p99(&metrics, "sidecar_rest_seconds");
    latencies.sort_by(f64::total_cmp);
    println!(
        "sync-bench users={} queues={} numbers={} connect_calls={} max_rps={:.2} max_burst={} sync_s={:.1} caller_ids_p99_ms={:.2}",
        args.users,
        args.queues,
        args.numbers,
        log.len(),
        max_rate(&log, 5),
        max_burst(&log, 2.0),
        synced_ms as f64 / 1000.0,
        percentile(&latencies, 0.99),
    );
    eprintln!(
        "sync-bench: fewest calls the page sizes allow {minimum}; refused by the fake's quota {refused}; \
         caller IDs p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms over {} asks ({} at once, {} rounds); \
         p99 by round (the first with tokens never seen) {:?}; the relay's own p99 <= {} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        latencies.last().copied().unwrap_or(0.0),
        latencies.len(),
        args.agents,
        args.rounds,
        rounds_p99.iter().map(|p| (p * 100.0).round() / 100.0).collect::<Vec<_>>(),
        own_p99,
    );
    drop(relay);
    Ok(())
}
