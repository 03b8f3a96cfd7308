//! The cluster link (`--redis-url`): one task per node that connects to Redis, publishes what
//! this node's handlers hand to the [`Bus`] (in order, pipelined), applies what the other nodes
//! publish, and keeps the node's lease, its reports and supervisors, and the job leases.
//!
//! - Joining (and joining again after Redis was away): subscribe first, then write this node's
//!   lease, reports and supervisors, publish its reports (nodes that dropped it meanwhile take
//!   them back), then read the other nodes' reports; events that arrive meanwhile wait in the
//!   subscription and are applied after, so none is missed. Deliveries made while Redis was
//!   away are published then, in order (at most [`KEPT`]).
//! - Every third of the lease: renew the lease (a node that finds its own lease gone publishes
//!   its reports again: the others may have dropped them), the job leases, and drop the nodes
//!   whose lease ran out: their agents start the grace period on every node.
//! - Redis away: this node serves its own connections, says so in `/readyz` and `/metrics`, holds
//!   no job lease, and tries again with backoff.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use protocol::ServerFrame;
use protocol::cluster::{NodeEvent, NodeId, Watching};
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands as _, RedisResult};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::bus::{Bus, Keys, Lease, Out};
use crate::hub::encode;
use crate::state::App;
use crate::ws;

/// Deliveries kept for the other nodes while Redis is away.
pub const KEPT: usize = 10_000;
/// Events in one pipeline.
const BATCH: usize = 512;

/// Takes a lease or renews this node's hold on it: 1 if held after.
const LEASE_SCRIPT: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0";

/// Forgets a node whose lease is gone (KEYS: its lease, the node set, its reports, its
/// supervisors; ARGV: its id): 1 if forgotten, 0 if its lease is back.
const FORGET_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3], KEYS[4])
return 1";

/// Deliveries waiting for Redis, oldest first.
#[derive(Default)]
struct Waiting {
    events: VecDeque<NodeEvent>,
}

impl Waiting {
    /// Keeps what must still reach the other nodes: deliveries (bounded), not reports (the hub
    /// holds the current ones, and they are published again on joining).
    fn keep(&mut self, out: Out, app: &App) {
        let Out::Event(event) = out else { return };
        if matches!(event, NodeEvent::Report(_) | NodeEvent::Clear { .. }) {
            return;
        }
        if self.events.len() == KEPT {
            self.events.pop_front();
            app.metrics.cluster_dropped.inc();
        }
        self.events.push_back(event);
    }
}

/// Runs the link until the relay stops.
pub async fn run(app: Arc<App>, bus: Arc<Bus>) {
    let Some(mut out) = bus.take_receiver() else { return };
    let mut waiting = Waiting::default();
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = link(&app, &bus, &mut out, &mut waiting).await;
        let was_up = bus.set_up(false, None);
        app.metrics.cluster_up.set(0);
        match result {
            Ok(()) => return,
            Err(e) if was_up => {
                app.metrics.cluster_disconnects.inc();
                tracing::warn!(error = %e, "lost Redis: serving this node's connections alone until it is back");
                backoff = Duration::from_millis(100);
            }
            Err(e) => {
                app.metrics.cluster_join_failures.inc();
                tracing::warn!(error = %e, "could not join the cluster; trying again");
            }
        }
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                next = out.recv() => match next {
                    Some(next) => waiting.keep(next, &app),
                    None => return,
                },
            }
        }
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// One connection to Redis, from joining until it fails.
async fn link(app: &Arc<App>, bus: &Bus, out: &mut UnboundedReceiver<Out>, waiting: &mut Waiting) -> RedisResult<()> {
    let timeout = Some(Duration::from_secs(2));
    let config = redis::AsyncConnectionConfig::new().set_connection_timeout(timeout).set_response_timeout(timeout);
    let mut conn = bus.client.get_multiplexed_async_connection_with_config(&config).await?;
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), bus.client.get_async_pubsub())
        .await
        .map_err(|_| io_error("timed out subscribing"))??;
    pubsub.subscribe(bus.keys.events()).await?;
    let mut messages = pubsub.into_on_message();
    // What was queued before now is in the hub (reports) or kept (deliveries).
    while let Ok(next) = out.try_recv() {
        waiting.keep(next, app);
    }
    heartbeat(app, bus, &mut conn, true).await?;
    load_others(app, bus, &mut conn).await?;
    while !waiting.events.is_empty() {
        let count = waiting.events.len().min(BATCH);
        let batch: Vec<Out> = waiting.events.iter().take(count).cloned().map(Out::Event).collect();
        // Off the queue only once sent: a failure keeps them for the next attempt.
        send(app, bus, &mut conn, &batch).await?;
        waiting.events.drain(..count);
    }
    bus.set_up(true, Some(conn.clone()));
    app.metrics.cluster_up.set(1);
    tracing::info!(node = bus.node, nodes = bus.nodes(), "joined the cluster");
    let mut tick = tokio::time::interval(bus.lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else { return Err(io_error("the subscription ended")) };
                receive(app, bus, message.get_payload_bytes()).await;
            }
            next = out.recv() => {
                let Some(next) = next else { return Ok(()) };
                let mut batch = vec![next];
                while batch.len() < BATCH {
                    match out.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                if let Err(e) = send(app, bus, &mut conn, &batch).await {
                    for next in batch {
                        waiting.keep(next, app);
                    }
                    return Err(e);
                }
            }
            _ = tick.tick() => heartbeat(app, bus, &mut conn, false).await?,
        }
    }
}

fn io_error(message: &str) -> redis::RedisError {
    std::io::Error::other(message.to_owned()).into()
}

/// Publishes a batch in one pipeline, keeping this node's reports hash in step.
async fn send(app: &App, bus: &Bus, conn: &mut MultiplexedConnection, batch: &[Out]) -> RedisResult<()> {
    let keys = &bus.keys;
    let mut pipe = redis::pipe();
    let mut watch = false;
    for out in batch {
        match out {
            Out::Event(event) => {
                let text = event.encode();
                match event {
                    NodeEvent::Report(r) => {
                        pipe.hset(keys.reports(bus.node), Keys::report_field(&r.principal, r.conn), &text).ignore();
                    }
                    NodeEvent::Clear { principal, conn, .. } => {
                        pipe.hdel(keys.reports(bus.node), Keys::report_field(principal, *conn)).ignore();
                    }
                    _ => {}
                }
                pipe.publish(keys.events(), text).ignore();
            }
            Out::Watch => watch = true,
        }
    }
    if watch {
        write_watch(app, bus, &mut pipe);
    }
    pipe.query_async::<()>(conn).await?;
    app.metrics.cluster_events_out.inc_by(batch.iter().filter(|o| matches!(o, Out::Event(_))).count() as u64);
    Ok(())
}

/// Rewrites this node's supervisors (what their subscriptions cover) into `pipe`.
fn write_watch(app: &App, bus: &Bus, pipe: &mut redis::Pipeline) {
    let key = bus.keys.watch(bus.node);
    pipe.del(&key).ignore();
    for (principal, watched) in app.presence.supervisors() {
        let watching = Watching { every: watched.every, rosters: watched.rosters.into_iter().collect() };
        pipe.hset(&key, principal, serde_json::to_string(&watching).unwrap_or_default()).ignore();
    }
    pipe.pexpire(&key, lease_ms(bus)).ignore();
}

fn lease_ms(bus: &Bus) -> i64 {
    i64::try_from(bus.lease.as_millis()).unwrap_or(i64::MAX)
}

/// Renews this node's lease (announcing it again when it had run out, or when joining), the job
/// leases it wants, and drops the nodes whose lease ran out.
async fn heartbeat(app: &App, bus: &Bus, conn: &mut MultiplexedConnection, joining: bool) -> RedisResult<()> {
    let keys = &bus.keys;
    let me = bus.node;
    let started = std::time::Instant::now();
    let previous: Option<String> =
        redis::cmd("SET").arg(keys.node(me)).arg("1").arg("PX").arg(lease_ms(bus)).arg("GET").query_async(conn).await?;
    if joining || previous.is_none() {
        if !joining {
            tracing::warn!("this node's lease had run out: announcing its connections again");
        }
        announce(app, bus, conn).await?;
    } else {
        let mut pipe = redis::pipe();
        pipe.sadd(keys.nodes(), me).ignore();
        pipe.pexpire(keys.reports(me), lease_ms(bus)).ignore();
        pipe.pexpire(keys.watch(me), lease_ms(bus)).ignore();
        pipe.query_async::<()>(conn).await?;
    }
    let script = redis::Script::new(LEASE_SCRIPT);
    for lease in Lease::ALL {
        if wants(app, lease) {
            let held: i64 = script.key(keys.lease(lease)).arg(me).arg(lease_ms(bus)).invoke_async(conn).await?;
            if held == 1 && !bus.holds(lease) {
                tracing::info!(?lease, "this node now runs the job");
            }
            // Held until a little before the lease runs out, unless renewed: a node whose
            // heartbeats are late stops the job before another may take it.
            bus.set_held(lease, (held == 1).then(|| started + bus.lease * 2 / 3));
        }
    }
    // The nodes to check: those that joined, and those whose reports this node holds (after
    // Redis lost its data, only the latter are known).
    let mut nodes: BTreeSet<NodeId> = conn.smembers(keys.nodes()).await?;
    nodes.extend(app.presence.remote_nodes());
    nodes.remove(&me);
    let mut pipe = redis::pipe();
    for node in &nodes {
        pipe.exists(keys.node(*node));
    }
    let alive: Vec<bool> = if nodes.is_empty() { Vec::new() } else { pipe.query_async(conn).await? };
    let mut live = 1;
    let forget = redis::Script::new(FORGET_SCRIPT);
    for (node, alive) in nodes.into_iter().zip(alive) {
        if alive {
            live += 1;
            continue;
        }
        // Checked again and forgotten in one step: a node that renewed its lease meanwhile keeps
        // its keys.
        let forgot: i64 = forget
            .key(keys.node(node))
            .key(keys.nodes())
            .key(keys.reports(node))
            .key(keys.watch(node))
            .arg(node)
            .invoke_async(conn)
            .await?;
        if forgot == 0 {
            live += 1;
            continue;
        }
        app.presence.drop_node(node, app.clock.now_ms(), &app.metrics);
        app.metrics.cluster_nodes_lost.inc();
        tracing::warn!(node, "a node's lease ran out: its agents go Offline unless they reconnect");
    }
    bus.set_nodes(live);
    app.metrics.cluster_nodes.set(i64::try_from(live).unwrap_or(i64::MAX));
    Ok(())
}

fn wants(app: &App, lease: Lease) -> bool {
    match lease {
        Lease::Sync => app.config.connect_instance_id.is_some(),
        Lease::Retention => app.config.retention_days > 0,
    }
}

/// Writes this node's reports and supervisors afresh and publishes the reports, so that every
/// node holds them (again).
async fn announce(app: &App, bus: &Bus, conn: &mut MultiplexedConnection) -> RedisResult<()> {
    let keys = &bus.keys;
    let me = bus.node;
    let reports = app.presence.local_reports(me);
    let mut pipe = redis::pipe();
    pipe.del(keys.reports(me)).ignore();
    write_watch(app, bus, &mut pipe);
    pipe.sadd(keys.nodes(), me).ignore();
    pipe.publish(keys.events(), NodeEvent::Reset { node: me }.encode()).ignore();
    pipe.query_async::<()>(conn).await?;
    for chunk in reports.chunks(BATCH) {
        let batch: Vec<Out> = chunk.iter().cloned().map(|r| Out::Event(NodeEvent::Report(r))).collect();
        send(app, bus, conn, &batch).await?;
    }
    let mut pipe = redis::pipe();
    pipe.pexpire(keys.reports(me), lease_ms(bus)).ignore();
    pipe.query_async::<()>(conn).await?;
    tracing::info!(reports = reports.len(), "announced this node's connections");
    Ok(())
}

/// Reads the reports of every other live node, in place of those held for it: a report whose
/// clear was published while this node was away ends here too.
async fn load_others(app: &App, bus: &Bus, conn: &mut MultiplexedConnection) -> RedisResult<()> {
    let nodes: BTreeSet<NodeId> = conn.smembers(bus.keys.nodes()).await?;
    let now = app.clock.now_ms();
    for node in nodes.into_iter().filter(|n| *n != bus.node) {
        let reports: Vec<(String, String)> = conn.hgetall(bus.keys.reports(node)).await?;
        app.presence.drop_node(node, now, &app.metrics);
        for (_, text) in reports {
            if let Ok(NodeEvent::Report(report)) = NodeEvent::decode(text.as_bytes()) {
                app.presence.report_remote(report, now, &app.metrics);
            }
        }
    }
    Ok(())
}

/// Applies an event another node published.
async fn receive(app: &Arc<App>, bus: &Bus, payload: &[u8]) {
    let event = match NodeEvent::decode(payload) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(error = %e, "an event on the cluster channel could not be read");
            return;
        }
    };
    if event.node() == bus.node {
        return;
    }
    app.metrics.cluster_events_in.inc();
    let now = app.clock.now_ms();
    match event {
        NodeEvent::Report(report) => app.presence.report_remote(report, now, &app.metrics),
        NodeEvent::Clear { node, conn, principal } => {
            app.presence.clear_remote(node, conn, &principal, now, &app.metrics);
        }
        // The reports that follow replace these: agents still reported never leave, and a
        // connection that closed while Redis was away (its clear lost) starts its grace period.
        NodeEvent::Reset { node } => app.presence.drop_node(node, now, &app.metrics),
        NodeEvent::Deliver { principals, frame, .. } => {
            let frame = ws::frame(ws::OP_TEXT, frame.as_bytes());
            for principal in &principals {
                app.hub.send_to(principal, &frame, None, &app.metrics);
            }
        }
        // Both wait for locks or the store: off the link, so that presence never waits for them.
        // Out of order is fine: the desk and the clients keep a request's furthest status.
        NodeEvent::Help { request, .. } => drop(tokio::spawn(help_changed(app.clone(), request))),
        NodeEvent::Directory { .. } => drop(tokio::spawn(reload_directory(app.clone()))),
        NodeEvent::Connect { read_at, interval_ms, full, rows, gone, statuses, .. } => {
            let read = crate::presence::ConnectRead { read_at, interval_ms, full, rows, gone, statuses };
            let place = |principal: &str| {
                let user = app.directory.user(principal)?;
                Some((user.display_name, app.directory.roster_of(principal)))
            };
            app.presence.apply_connect(read, place, &app.metrics);
        }
    }
}

/// A help request another node changed: into this node's desk, and to the agent's connections
/// and the supervisors watching its roster here.
async fn help_changed(app: Arc<App>, request: Box<protocol::HelpRequest>) {
    app.help.lock().await.apply((*request).clone());
    let mut seen = std::collections::HashSet::new();
    let targets = app
        .hub
        .connections(&request.agent)
        .into_iter()
        .chain(app.presence.watchers(&request.roster).into_iter().map(|w| w.outbox))
        .filter(|o| seen.insert(o.id));
    let frame = encode(&ServerFrame::Help { request });
    for outbox in targets {
        outbox.push(frame.clone(), &app.metrics);
    }
}

/// Loads the directory and caller IDs another node stored.
async fn reload_directory(app: Arc<App>) {
    let loaded = async {
        Ok::<_, crate::store::StoreError>((app.store.directory().await?, app.store.routing_profiles().await?))
    };
    match loaded.await {
        Ok((users, (profiles, synced_at))) => {
            app.directory.replace(users);
            app.caller_ids.replace(profiles, synced_at);
            app.metrics.directory_synced_at_ms.store(synced_at.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
            tracing::info!("loaded the directory another node read from Connect");
        }
        Err(e) => tracing::warn!(error = %e, "could not load the directory another node stored"),
    }
}
