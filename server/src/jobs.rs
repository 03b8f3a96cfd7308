//! The relay's background jobs: the Offline sweeper, the issuers' key refresh, retention
//! (deleting what is past `--retention-days`), the Connect directory sync, the cluster link and
//! the presence fan-out lanes (in a cluster, retention and the sync run on the node holding
//! their lease). Started once by `run`, stopped together after the connections are gone.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::Lease;
use crate::clock;
use crate::metrics::Metrics;
use crate::state::{App, StartError};

/// The running jobs.
pub struct Jobs {
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Jobs {
    /// Starts every job the configuration asks for, and hands the presence hub its lanes.
    pub async fn start(app: &Arc<App>) -> Result<Self, StartError> {
        let jobs = Self { tasks: TaskTracker::new(), stop: CancellationToken::new() };
        jobs.spawn(sweep(app.clone()));
        jobs.spawn(refresh_keys(app.clone()));
        if let Some(bus) = &app.bus {
            jobs.spawn(crate::cluster::run(app.clone(), bus.clone()));
        }
        if app.config.retention_days > 0 {
            jobs.spawn(expire(app.clone()));
        }
        match app.config.connect_instance_id.clone() {
            None => {}
            #[cfg(feature = "connect")]
            Some(instance_id) => {
                // One client, so one token bucket, for the sync, the reads and the actions.
                let connect = Arc::new(crate::sync::connect(app, &instance_id).await);
                let _ = app.actions.set(Arc::new(crate::realtime::Actions(connect.clone())));
                if app.config.connect_poll_s > 0 {
                    let unknown_after = app.config.connect_unknown_after_s.saturating_mul(1000);
                    app.presence.read_connect(i64::try_from(unknown_after).unwrap_or(i64::MAX));
                    jobs.spawn(crate::realtime::run(app.clone(), connect.clone()));
                }
                // The sync stops as soon as the relay starts shutting down. Without it (interval
                // 0) the directory file names each person's Connect user id.
                if app.config.connect_sync_interval_s > 0 {
                    jobs.tasks
                        .spawn(app.shutdown_token().run_until_cancelled_owned(crate::sync::run(app.clone(), connect)));
                }
            }
            #[cfg(not(feature = "connect"))]
            Some(_) => return Err(StartError::NoConnectSync),
        }
        let workers = tokio::runtime::Handle::current().metrics().num_workers().max(1);
        let mut lanes = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            lanes.push(tx);
            jobs.spawn(crate::presence::lane(rx, AppMetrics(app.clone())));
        }
        app.presence.set_lanes(lanes);
        Ok(jobs)
    }

    fn spawn(&self, job: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(self.stop.clone().run_until_cancelled_owned(job));
    }

    /// Stops every job and waits until they are gone.
    pub async fn stop(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// The metrics of a running relay, for tasks that hold the app.
struct AppMetrics(Arc<App>);

impl AsRef<Metrics> for AppMetrics {
    fn as_ref(&self) -> &Metrics {
        &self.0.metrics
    }
}

/// Turns agents Offline once their grace period has passed, and stores that.
async fn sweep(app: Arc<App>) {
    let period = Duration::from_millis((app.config.presence_grace_ms / 4).clamp(50, 1000));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A manual clock moved by a test is swept at once, not at the next tick.
        tokio::select! {
            _ = tick.tick() => {}
            () = app.clock.moved() => {}
        }
        for record in app.presence.sweep(app.clock.now_ms(), &app.metrics) {
            if let Err(e) = app.store.put_presence(&record).await {
                tracing::warn!(error = %e, "could not store presence");
            }
        }
    }
}

/// Fetches the issuers' keys again as they age, so that a key retired at the provider stops
/// being trusted without waiting for a token that names an unknown key.
async fn refresh_keys(app: Arc<App>) {
    let period = Duration::from_secs(app.config.jwks_ttl_s.max(2) / 2);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        app.verifier.refresh_keys(&app.metrics).await;
    }
}

/// Deletes chat messages, calls and ended help requests older than `--retention-days`, at start
/// and every hour, in small batches so that the writer is never held long.
async fn expire(app: Arc<App>) {
    const BATCH: u32 = 2000;
    let keep_ms = i64::from(app.config.retention_days) * 86_400_000;
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // In a cluster, the node holding the lease (and a node taking it over runs at once).
        app.wait_to_run(Lease::Retention).await;
        let before = clock::now_ms() - keep_ms;
        let (mut messages, mut calls) = (0, 0);
        loop {
            match app.store.expire(before, BATCH).await {
                Ok((m, c)) => {
                    (messages, calls) = (messages + m, calls + c);
                    if m < u64::from(BATCH) && c < u64::from(BATCH) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete expired messages; trying again in an hour");
                    break;
                }
            }
        }
        let mut help = 0;
        loop {
            match app.store.expire_help(before, BATCH).await {
                Ok(n) => {
                    help += n;
                    if n < u64::from(BATCH) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete expired help requests; trying again in an hour");
                    break;
                }
            }
        }
        app.metrics.expired_messages.inc_by(messages);
        app.metrics.expired_calls.inc_by(calls);
        app.metrics.expired_help.inc_by(help);
        if messages + calls + help > 0 {
            tracing::info!(messages, calls, help, "deleted what is past the retention period");
        }
    }
}
