//! Connect's real-time data (feature `connect`): who is logged in now, their status and
//! contacts (`GetCurrentUserData`), read every few seconds by the node holding the sync lease,
//! through the sync's token bucket, and turned into presence for agents no extension reports
//! (see `presence`). The reader tells the other nodes what changed. Also the supervisor actions
//! in Connect ([`ConnectActions`] for the Connect client).
//!
//! Pacing: a read costs one call per hundred routing profiles and per hundred agents logged in,
//! never more with more people watching. Reads use at most [`SHARE`] of `--connect-rate` on
//! average, so the directory sync and supervisors' actions always find room in the quota: the
//! interval is `max(--connect-poll-s, calls / (rate × SHARE))` (51 calls for 5,000 agents at 2/s:
//! a read every 51 s; 2 calls for 150 agents: every 5 s).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_sync::Connect;
use protocol::ConnectRow;
use protocol::cluster::NodeEvent;

use crate::actions::{ActionError, ActionFuture, ConnectActions};
use crate::bus::Lease;
use crate::metrics::Metrics;
use crate::presence::ConnectRead;
use crate::state::App;

/// The share of the Connect rate the reads use on average.
pub const SHARE: f64 = 0.5;
/// Every this many reads the reader tells the other nodes every row, not only changes.
const FULL_EVERY: u32 = 12;
/// How often the statuses are read again when the directory sync is off.
const STATUSES_EVERY: Duration = Duration::from_secs(900);

/// The time between two reads that made `calls` calls: at least `min`, and long enough that
/// the reads use at most [`SHARE`] of `rate` on average.
pub fn interval(calls: u64, rate: f64, min: Duration) -> Duration {
    let paced = Duration::from_secs_f64(calls as f64 / (rate * SHARE));
    paced.max(min)
}

/// What changed between two reads: rows new or different, and principals no longer listed.
pub fn diff(before: &HashMap<String, ConnectRow>, now: &HashMap<String, ConnectRow>) -> (Vec<ConnectRow>, Vec<String>) {
    let changed = now.values().filter(|row| before.get(&row.principal) != Some(*row)).cloned().collect();
    let gone = before.keys().filter(|p| !now.contains_key(*p)).cloned().collect();
    (changed, gone)
}

/// Reads Connect's real-time data for ever (the jobs stop it), on the node holding the sync
/// lease. Each read is applied here and published to the other nodes.
pub async fn run(app: Arc<App>, connect: Arc<Connect>) {
    let min = Duration::from_secs(app.config.connect_poll_s.max(1));
    let mut last: Option<HashMap<String, ConnectRow>> = None;
    let mut reads = 0u32;
    let mut nodes = 0u64;
    let mut statuses_read: Option<Instant> = None;
    loop {
        if !app.runs_here(Lease::Sync) {
            last = None; // Another node reads: start whole when this one reads again.
            app.wait_to_run(Lease::Sync).await;
        }
        let started = Instant::now();
        let calls_before = connect.calls();
        // Without the directory sync, the statuses a supervisor may set are read here.
        if app.config.connect_sync_interval_s == 0 && statuses_read.is_none_or(|at| at.elapsed() > STATUSES_EVERY) {
            match connect.agent_statuses().await {
                Ok(statuses) => {
                    statuses_read = Some(Instant::now());
                    let statuses = connect_sync::join::connect_statuses(&statuses);
                    app.presence.set_connect_statuses(statuses, &app.metrics);
                }
                Err(e) => tracing::warn!(error = %e, "could not read Connect's agent statuses"),
            }
        }
        let result = read(&app, &connect).await;
        Metrics::set_total(&app.metrics.connect_calls, connect.calls());
        let calls = connect.calls() - calls_before;
        let pause = interval(calls, app.config.connect_rate, min);
        app.metrics.realtime_interval_ms.set(pause.as_millis() as i64);
        match result {
            Ok(rows) => {
                app.metrics.realtime_reads.inc();
                app.metrics.realtime_agents.set(rows.len() as i64);
                let cluster_nodes = app.bus.as_ref().map_or(0, |b| b.nodes());
                let full = last.is_none() || reads.is_multiple_of(FULL_EVERY) || cluster_nodes != nodes;
                nodes = cluster_nodes;
                reads = reads.wrapping_add(1);
                let (changed, gone) = match &last {
                    Some(before) if !full => diff(before, &rows),
                    _ => (rows.values().cloned().collect(), Vec::new()),
                };
                let read = ConnectRead {
                    read_at: app.clock.now_ms(),
                    interval_ms: pause.as_millis() as i64,
                    full,
                    rows: changed,
                    gone,
                    statuses: if full { app.presence.connect_feed().unwrap_or_default().statuses } else { Vec::new() },
                };
                if let Some(bus) = &app.bus {
                    bus.publish(NodeEvent::Connect {
                        node: bus.node,
                        read_at: read.read_at,
                        interval_ms: read.interval_ms,
                        full: read.full,
                        rows: read.rows.clone(),
                        gone: read.gone.clone(),
                        statuses: read.statuses.clone(),
                    });
                }
                let changed = app.presence.apply_connect(read, |p| place(&app, p), &app.metrics);
                tracing::debug!(
                    agents = rows.len(),
                    changed,
                    calls,
                    ms = started.elapsed().as_millis() as u64,
                    "read Connect's real-time data"
                );
                last = Some(rows);
            }
            Err(e) => {
                app.metrics.realtime_failures.inc();
                tracing::warn!(error = %e, "reading Connect's real-time data failed; rows from Connect age");
            }
        }
        tokio::time::sleep(pause.saturating_sub(started.elapsed())).await;
    }
}

/// Where an agent the presence hub has not seen goes: the directory's name and roster.
pub fn place(app: &App, principal: &str) -> Option<(String, String)> {
    let user = app.directory.user(principal)?;
    Some((user.display_name, app.directory.roster_of(principal)))
}

/// One read: every routing profile the directory's users are in, and each agent listed mapped
/// to a principal by the directory's Connect user ids (agents the directory does not hold are
/// left out).
async fn read(app: &App, connect: &Connect) -> Result<HashMap<String, ConnectRow>, connect_sync::SyncError> {
    let users = app.directory.users();
    let principal_of: HashMap<&str, &str> =
        users.iter().filter_map(|u| Some((u.connect_user_id.as_deref()?, u.id.as_str()))).collect();
    let profiles: Vec<String> =
        users.iter().filter_map(|u| u.routing_profile.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    if profiles.is_empty() {
        return Ok(HashMap::new());
    }
    let agents = connect.current_agents(&profiles).await?;
    let statuses = app.presence.connect_feed().unwrap_or_default().statuses;
    Ok(agents
        .iter()
        .filter_map(|a| {
            let principal = principal_of.get(a.user_id.as_str())?;
            Some(((*principal).to_owned(), connect_sync::join::connect_row(a, principal, &statuses)))
        })
        .collect())
}

/// The Connect client as the handlers' [`ConnectActions`].
pub struct Actions(pub Arc<Connect>);

fn action_error(e: connect_sync::SyncError) -> ActionError {
    let throttled = e.detail.contains("TooManyRequests") || e.detail.contains("Throttl");
    ActionError { throttled, message: e.detail }
}

impl ConnectActions for Actions {
    fn monitor<'a>(&'a self, contact_id: &'a str, user_id: &'a str, barge: bool) -> ActionFuture<'a, String> {
        Box::pin(async move { self.0.monitor_contact(contact_id, user_id, barge).await.map_err(action_error) })
    }

    fn set_status<'a>(&'a self, user_id: &'a str, status_id: &'a str) -> ActionFuture<'a, ()> {
        Box::pin(async move { self.0.put_user_status(user_id, status_id).await.map_err(action_error) })
    }
}

#[cfg(test)]
mod tests {
    use protocol::{AgentState, StateKind};

    use super::*;

    #[test]
    fn reads_use_half_the_rate_and_never_come_faster_than_the_minimum() {
        let min = Duration::from_secs(5);
        assert_eq!(interval(2, 2.0, min), min, "150 agents: two calls");
        assert_eq!(interval(51, 2.0, min), Duration::from_secs(51), "5,000 agents over 51 calls at 2/s");
        assert_eq!(interval(51, 10.0, min), Duration::from_secs_f64(10.2));
    }

    #[test]
    fn a_diff_lists_new_and_changed_rows_and_who_logged_out() {
        let row = |p: &str, state: &str| ConnectRow {
            principal: p.into(),
            state: AgentState { name: state.into(), kind: StateKind::Routable },
            since: 1,
            contact: None,
            contact_id: None,
        };
        let map = |rows: Vec<ConnectRow>| rows.into_iter().map(|r| (r.principal.clone(), r)).collect();
        let before = map(vec![row("a", "Available"), row("b", "Available"), row("c", "Break")]);
        let now = map(vec![row("a", "Available"), row("b", "Break"), row("d", "Available")]);
        let (mut changed, gone) = diff(&before, &now);
        changed.sort_by(|x, y| x.principal.cmp(&y.principal));
        assert_eq!(changed, vec![row("b", "Break"), row("d", "Available")]);
        assert_eq!(gone, vec!["c".to_owned()]);
    }
}
