//! The Connect directory sync job (feature `connect`): reads users and caller IDs from Amazon
//! Connect at start and then every `--connect-sync-interval-s`, stores them through the
//! [`Store`](crate::store::Store) (so every relay node serves the same directory) and swaps
//! them into memory. A failed read keeps the last good directory; `/readyz` and `/metrics` say
//! how old it is. The number of Connect calls depends on the size of the instance only.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use connect_sync::{Connect, Settings};
use protocol::cluster::NodeEvent;

use crate::bus::Lease;
use crate::clock;
use crate::metrics::Metrics;
use crate::state::App;

/// The Connect client for the configured instance (credentials from the default chain).
pub async fn connect(app: &App, instance_id: &str) -> Connect {
    let config = &app.config;
    let settings = Settings {
        region: config.connect_region.clone(),
        endpoint: config.connect_endpoint.clone(),
        rate: config.connect_rate,
        burst: config.connect_burst,
        ..Settings::new(instance_id)
    };
    Connect::from_default_chain(&settings).await
}

/// Reads the directory now and then every interval, for ever (the jobs stop it at shutdown). In
/// a cluster only the node holding the sync lease reads, so that the fleet as a whole keeps to
/// Connect's quota, and tells the other nodes to load what it stored.
pub async fn run(app: Arc<App>, connect: Arc<Connect>) {
    let interval = Duration::from_secs(app.config.connect_sync_interval_s.max(1));
    loop {
        app.wait_to_run(Lease::Sync).await;
        if once(&app, &connect).await
            && let Some(bus) = &app.bus
        {
            bus.publish(NodeEvent::Directory { node: bus.node });
        }
        tokio::time::sleep(interval).await;
    }
}

/// One read; on success the new directory is stored and served (and true is returned).
pub async fn once(app: &App, connect: &Connect) -> bool {
    let started = Instant::now();
    let result = connect.read().await;
    Metrics::set_total(&app.metrics.connect_calls, connect.calls());
    Metrics::set_total(&app.metrics.connect_retries, connect.retries());
    let snapshot = match result {
        Ok(snapshot) => snapshot,
        Err(e) => {
            app.metrics.directory_sync_failures.inc();
            tracing::warn!(error = %e, "Connect directory sync failed; serving the last good directory");
            return false;
        }
    };
    let synced_at = clock::now_ms();
    let stored = async {
        app.store.put_directory(&snapshot.users).await?;
        app.store.put_routing_profiles(&snapshot.routing_profiles, Some(synced_at)).await
    };
    if let Err(e) = stored.await {
        app.metrics.directory_sync_failures.inc();
        tracing::warn!(error = %e, "could not store the Connect directory; serving the last good one");
        return false;
    }
    tracing::info!(
        users = snapshot.users.len(),
        routing_profiles = snapshot.routing_profiles.len(),
        queues = snapshot.queues,
        numbers = snapshot.numbers,
        agent_statuses = snapshot.agent_statuses.len(),
        calls = snapshot.calls,
        ms = started.elapsed().as_millis() as u64,
        "Connect directory synced"
    );
    app.presence.set_connect_statuses(connect_sync::join::connect_statuses(&snapshot.agent_statuses), &app.metrics);
    app.directory.replace(snapshot.users);
    app.caller_ids.replace(snapshot.routing_profiles, Some(synced_at));
    app.metrics.directory_synced_at_ms.store(synced_at, Relaxed);
    app.metrics.directory_sync_ms.set(started.elapsed().as_millis() as i64);
    true
}
