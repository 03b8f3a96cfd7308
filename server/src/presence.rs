//! Presence: one entry per agent (not per socket), last-writer-wins by the state's own start
//! time, present only while a CCP reports on one of the agent's connections, Offline only
//! after a grace period with none, and fan-out to roster subscribers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use protocol::cluster::{NodeId, RemoteReport};
use protocol::{AgentState, ContactSummary, Millis, Presence, ServerFrame};

use crate::hub::{ConnId, Outbox, encode};
use crate::metrics::Metrics;
use crate::store::PresenceRecord;

/// The roster name that means every roster (supervisors only).
pub const EVERY_ROSTER: &str = "*";

/// Agents per `roster` frame: about 1.5 KiB, so that a client can process a large roster in
/// small steps.
pub const ROSTER_CHUNK: usize = 6;

/// A snapshot as the answer to request `id`: each roster's agents in frames of [`ROSTER_CHUNK`]
/// (at least one frame a roster, empty for an empty roster), each frame naming its roster, and
/// only the very last frame `complete`.
fn roster_frames(id: u64, groups: Vec<(String, Vec<Presence>)>) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    for (roster, agents) in groups {
        let chunks = agents.len().div_ceil(ROSTER_CHUNK).max(1);
        let mut agents = agents.into_iter();
        for _ in 0..chunks {
            let agents = agents.by_ref().take(ROSTER_CHUNK).collect();
            frames.push(ServerFrame::Roster { id, roster: roster.clone(), agents, complete: false });
        }
    }
    if let Some(ServerFrame::Roster { complete, .. }) = frames.last_mut() {
        *complete = true;
    }
    frames
}

/// A connection's roster subscription: where its pushes go, and whose connection it is (help
/// requests reach the supervisors whose subscriptions cover the asking agent's roster).
#[derive(Clone)]
pub struct Subscriber {
    pub outbox: Outbox,
    pub principal: Arc<str>,
    pub supervisor: bool,
}

/// The rosters a principal's supervisor subscriptions cover, over all their connections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Watched {
    /// A subscription to [`EVERY_ROSTER`].
    pub every: bool,
    pub rosters: BTreeSet<String>,
}

impl Watched {
    pub fn covers(&self, roster: &str) -> bool {
        self.every || self.rosters.contains(roster)
    }

    pub fn is_empty(&self) -> bool {
        !self.every && self.rosters.is_empty()
    }
}

/// A presence report from the agent's CCP.
#[derive(Debug, Clone)]
pub struct Report {
    pub state: AgentState,
    pub since: Millis,
    pub contact: Option<ContactSummary>,
    pub username: Option<String>,
}

/// Who reports: a connection of this relay (node [`LOCAL`]) or of another node of the cluster.
pub type Reporter = (NodeId, ConnId);

/// The node id of this relay's own connections.
pub const LOCAL: NodeId = 0;

/// The outcome of a report.
#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    /// Stored and, when it changed anything, sent to subscribers.
    Accepted(Option<PresenceRecord>),
    /// Older than the state already held; ignored.
    Stale,
}

struct Agent {
    /// The last reported presence (state as the CCP reported it, `online` as the relay sees it).
    presence: Presence,
    /// The connections on which a CCP of the agent's reports (`set_presence` without a later
    /// `clear_presence`), on this node or another, each with its last report. The agent is present only while one does (a
    /// socket kept open by the worker with no CCP tab does not count), and shows the latest of
    /// them by state start.
    reporting: Vec<(Reporter, Report)>,
    /// Since when no connection reports, while the relay still shows the agent online (the
    /// grace period runs from here).
    absent_since: Option<Millis>,
    /// The node that stores the Offline that follows the grace period: the node whose connection
    /// reported last (one write for a cluster, not one per node); [`LOCAL`] on every node when
    /// that node itself is gone or the state was held through a restart.
    offline_by: NodeId,
    offline_since: Millis,
}

/// The order of reports: by the state's start, then the contact's.
fn key(report: &Report) -> (Millis, Millis) {
    (report.since, report.contact.as_ref().map_or(0, |c| c.since))
}

impl Agent {
    /// Someone known (from the directory or a connection) who has not reported a state yet.
    fn unseen(principal: &str, display_name: &str, roster: &str) -> Self {
        Self {
            presence: Presence {
                principal: principal.to_owned(),
                username: None,
                display_name: display_name.to_owned(),
                roster: roster.to_owned(),
                state: AgentState::offline(),
                since: 0,
                contact: None,
                online: false,
            },
            reporting: Vec::new(),
            absent_since: None,
            offline_by: LOCAL,
            offline_since: 0,
        }
    }

    fn effective(&self) -> Presence {
        if self.presence.online {
            self.presence.clone()
        } else {
            Presence {
                state: AgentState::offline(),
                since: self.offline_since,
                contact: None,
                online: false,
                ..self.presence.clone()
            }
        }
    }

    fn record(&self, seen_at: Millis) -> PresenceRecord {
        PresenceRecord { presence: self.presence.clone(), seen_at }
    }

    /// Shows `report` (from a live connection).
    fn show(&mut self, report: Report) {
        self.presence.state = report.state;
        self.presence.since = report.since;
        self.presence.contact = report.contact;
        if report.username.is_some() {
            self.presence.username = report.username;
        }
        self.presence.online = true;
    }

    /// `conn` no longer reports. With no other, the grace period starts; otherwise the latest
    /// report still made is shown (it may be older than the one that went away). Returns the
    /// presence shown when that changed it.
    fn stop_reporting(&mut self, conn: Reporter, now: Millis) -> Option<Presence> {
        let at = self.reporting.iter().position(|(c, _)| *c == conn)?;
        self.reporting.remove(at);
        self.offline_by = conn.0;
        self.after_stop(now)
    }

    /// After a reporter went: the grace period when none is left, else the latest report shown.
    fn after_stop(&mut self, now: Millis) -> Option<Presence> {
        let Some((_, latest)) = self.reporting.iter().max_by_key(|(_, r)| key(r)).cloned() else {
            self.absent_since = Some(now);
            return None;
        };
        let before = self.effective();
        self.show(latest);
        let after = self.effective();
        (after != before).then_some(after)
    }
}

#[derive(Default)]
struct Inner {
    agents: HashMap<String, Agent>,
    rosters: HashMap<String, HashMap<ConnId, Subscriber>>,
    everyone: HashMap<ConnId, Subscriber>,
}

impl Inner {
    fn remove_subscriber(&mut self, id: ConnId) {
        self.everyone.remove(&id);
        self.rosters.retain(|_, subs| {
            subs.remove(&id);
            !subs.is_empty()
        });
    }

    /// Who must hear of a change, taken under the lock; the lanes write it.
    fn fanout(&self, presence: Presence) -> Fanout {
        let roster = self.rosters.get(&presence.roster);
        let targets = roster
            .into_iter()
            .flat_map(HashMap::values)
            .chain(self.everyone.values())
            .map(|s| s.outbox.clone())
            .collect();
        Fanout { frame: encode(&ServerFrame::Presence { presence }), targets }
    }
}

/// One presence frame and the connections it goes to.
struct Fanout {
    frame: bytes::Bytes,
    targets: Vec<Outbox>,
}

/// `report`, made on connection `conn` of `node` by `principal` (shown as `display_name`, in
/// `roster`), as other nodes are told it.
pub fn remote_report(
    (node, conn): Reporter,
    principal: &str,
    display_name: &str,
    roster: &str,
    report: Report,
) -> RemoteReport {
    RemoteReport {
        node,
        conn,
        principal: principal.to_owned(),
        display_name: display_name.to_owned(),
        roster: roster.to_owned(),
        state: report.state,
        since: report.since,
        contact: report.contact,
        username: report.username,
    }
}

/// Writes the frame to every target. Lanes run it outside the presence lock: the writes are
/// system calls, and other agents' reports must not wait for them.
pub fn write_all(frame: &bytes::Bytes, targets: &[Outbox], metrics: &Metrics) {
    let started = Instant::now();
    for outbox in targets {
        outbox.push(frame.clone(), metrics);
    }
    metrics.presence_pushes.inc_by(targets.len() as u64);
    metrics.presence_fanout_seconds.observe(started.elapsed());
}

/// A share of a fan-out for one lane.
pub type LaneJob = (bytes::Bytes, Vec<Outbox>);

/// Runs one fan-out lane until the relay stops: writes each job's frame to its connections.
pub async fn lane(mut jobs: tokio::sync::mpsc::UnboundedReceiver<LaneJob>, metrics: impl AsRef<Metrics>) {
    while let Some((frame, targets)) = jobs.recv().await {
        write_all(&frame, &targets, metrics.as_ref());
    }
}

/// Every agent's presence and every roster subscription.
pub struct PresenceHub {
    inner: Mutex<Inner>,
    /// Fan-out lanes, one per runtime worker: a connection always falls in the same lane (by its
    /// id), so its pushes keep their order, and the lanes spread one change's writes over the
    /// cores. Without lanes (before they start), the caller writes.
    lanes: std::sync::OnceLock<Vec<tokio::sync::mpsc::UnboundedSender<LaneJob>>>,
    grace_ms: Millis,
}

impl PresenceHub {
    pub fn new(grace_ms: u64) -> Self {
        Self {
            inner: Mutex::default(),
            lanes: std::sync::OnceLock::new(),
            grace_ms: Millis::try_from(grace_ms).unwrap_or(Millis::MAX),
        }
    }

    /// Hands fan-outs to these lanes from now on.
    pub fn set_lanes(&self, lanes: Vec<tokio::sync::mpsc::UnboundedSender<LaneJob>>) {
        let _ = self.lanes.set(lanes);
    }

    fn deliver(&self, fanout: Fanout, metrics: &Metrics) {
        let Some(lanes) = self.lanes.get().filter(|l| l.len() > 1) else {
            write_all(&fanout.frame, &fanout.targets, metrics);
            return;
        };
        let mut shares: Vec<Vec<Outbox>> = vec![Vec::new(); lanes.len()];
        for outbox in fanout.targets {
            shares[(outbox.id % lanes.len() as u64) as usize].push(outbox);
        }
        for (lane, share) in lanes.iter().zip(shares) {
            if !share.is_empty() {
                let _ = lane.send((fanout.frame.clone(), share));
            }
        }
    }

    /// Seeds presence from the store and the directory at start. Agents who were online when
    /// the relay stopped keep their last state through the grace period (from `now`), so a
    /// restart shows no one Offline who reconnects in time; the others go Offline then.
    pub fn load(&self, records: Vec<PresenceRecord>, directory: &[(String, String, String)], now: Millis) {
        let Ok(mut inner) = self.inner.lock() else { return };
        for (principal, display_name, roster) in directory {
            inner.agents.entry(principal.clone()).or_insert_with(|| Agent::unseen(principal, display_name, roster));
        }
        let placed: HashMap<&str, (&String, &String)> =
            directory.iter().map(|(p, name, roster)| (p.as_str(), (name, roster))).collect();
        for record in records {
            let mut presence = record.presence;
            if let Some((name, roster)) = placed.get(presence.principal.as_str()) {
                presence.display_name.clone_from(name);
                presence.roster.clone_from(roster);
            }
            let online = presence.online;
            inner.agents.insert(
                presence.principal.clone(),
                Agent {
                    presence,
                    reporting: Vec::new(),
                    absent_since: online.then_some(now),
                    offline_by: LOCAL,
                    offline_since: record.seen_at,
                },
            );
        }
    }

    /// A connection of `principal` opened. It counts for presence once its CCP reports.
    pub fn connect(&self, principal: &str, display_name: &str, roster: &str) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let agent =
            inner.agents.entry(principal.to_owned()).or_insert_with(|| Agent::unseen(principal, display_name, roster));
        agent.presence.display_name = display_name.to_owned();
        agent.presence.roster = roster.to_owned();
    }

    /// No CCP reports on this connection any more: `clear_presence` (the last CCP tab closed), or
    /// the connection closed. If it was the last one reporting, Offline follows after the grace
    /// period unless a CCP reports again. Returns the record to store when another connection's
    /// report is shown instead.
    pub fn clear(&self, principal: &str, conn: ConnId, now: Millis, metrics: &Metrics) -> Option<PresenceRecord> {
        self.clear_from(principal, (LOCAL, conn), now, metrics)
    }

    /// Another node's connection no longer reports (its `clear_presence` or close).
    pub fn clear_remote(&self, node: NodeId, conn: ConnId, principal: &str, now: Millis, metrics: &Metrics) {
        self.clear_from(principal, (node, conn), now, metrics);
    }

    fn clear_from(&self, principal: &str, conn: Reporter, now: Millis, metrics: &Metrics) -> Option<PresenceRecord> {
        let Ok(mut inner) = self.inner.lock() else { return None };
        let agent = inner.agents.get_mut(principal)?;
        let shown = agent.stop_reporting(conn, now)?;
        let record = agent.record(now);
        metrics.presence_updates.inc();
        let fanout = inner.fanout(shown);
        self.deliver(fanout, metrics);
        Some(record)
    }

    /// Applies a report from `principal`'s CCP.
    ///
    /// The agent shows the latest report (by state start) among the connections reporting now
    /// (two devices; a lagging report on one connection is older than that connection's own
    /// last and is ignored). A state no connection reports any more (its device closed, within
    /// the grace period; held through a restart; the relay's Offline) gives way to any report,
    /// and when the connection showing the latest goes, the latest of the others is shown: a
    /// device whose clock or start time differs is never held to a state nobody reports.
    pub fn report(&self, principal: &str, conn: ConnId, report: Report, now: Millis, metrics: &Metrics) -> Applied {
        let Ok(mut inner) = self.inner.lock() else { return Applied::Stale };
        self.apply(&mut inner, principal, (LOCAL, conn), report, now, metrics)
    }

    /// Applies a report made on another node's connection, as [`Self::report`] applies this
    /// node's: every node holds every reporting connection, so all show the same presence. The
    /// node where the report was made stores it.
    pub fn report_remote(&self, remote: RemoteReport, now: Millis, metrics: &Metrics) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let RemoteReport { node, conn, principal, display_name, roster, state, since, contact, username } = remote;
        let agent =
            inner.agents.entry(principal.clone()).or_insert_with(|| Agent::unseen(&principal, &display_name, &roster));
        agent.presence.display_name = display_name;
        agent.presence.roster = roster;
        let report = Report { state, since, contact, username };
        self.apply(&mut inner, &principal, (node, conn), report, now, metrics);
    }

    /// A node is gone (its lease ran out): its connections report no more. Agents with no other
    /// reporting connection start their grace period, so those who reconnect to another node in
    /// time never show Offline.
    pub fn drop_node(&self, node: NodeId, now: Millis, metrics: &Metrics) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let mut shown = Vec::new();
        for agent in inner.agents.values_mut() {
            let before = agent.reporting.len();
            agent.reporting.retain(|((n, _), _)| *n != node);
            if agent.offline_by == node {
                // The node that would have stored the Offline is the one gone: every node does.
                agent.offline_by = LOCAL;
            }
            if agent.reporting.len() != before
                && let Some(presence) = agent.after_stop(now)
            {
                shown.push(presence);
            }
        }
        metrics.presence_updates.inc_by(shown.len() as u64);
        let fanouts: Vec<Fanout> = shown.into_iter().map(|p| inner.fanout(p)).collect();
        for fanout in fanouts {
            self.deliver(fanout, metrics);
        }
    }

    /// Every report this node's connections make now, as other nodes are told them.
    pub fn local_reports(&self, node: NodeId) -> Vec<RemoteReport> {
        let Ok(inner) = self.inner.lock() else { return Vec::new() };
        let mut reports = Vec::new();
        for agent in inner.agents.values() {
            for ((n, conn), report) in &agent.reporting {
                if *n == LOCAL {
                    let Presence { principal, display_name, roster, .. } = &agent.presence;
                    reports.push(remote_report((node, *conn), principal, display_name, roster, report.clone()));
                }
            }
        }
        reports
    }

    /// The other nodes whose connections report now.
    pub fn remote_nodes(&self) -> BTreeSet<NodeId> {
        let Ok(inner) = self.inner.lock() else { return BTreeSet::new() };
        inner.agents.values().flat_map(|a| a.reporting.iter().map(|((n, _), _)| *n)).filter(|n| *n != LOCAL).collect()
    }

    fn apply(
        &self,
        inner: &mut Inner,
        principal: &str,
        conn: Reporter,
        report: Report,
        now: Millis,
        metrics: &Metrics,
    ) -> Applied {
        let Some(agent) = inner.agents.get_mut(principal) else { return Applied::Stale };
        agent.absent_since = None;
        let stale = || {
            metrics.presence_stale.inc();
            Applied::Stale
        };
        match agent.reporting.iter_mut().find(|(c, _)| *c == conn) {
            Some((_, own)) if key(&report) < key(own) => return stale(),
            Some((_, own)) => *own = report.clone(),
            None => agent.reporting.push((conn, report.clone())),
        }
        let others = agent.reporting.iter().filter(|(c, _)| *c != conn).map(|(_, r)| key(r)).max();
        if others.is_some_and(|latest| key(&report) < latest) {
            return stale();
        }
        let before = agent.effective();
        agent.show(report);
        let after = agent.effective();
        if after == before {
            return Applied::Accepted(None);
        }
        let record = agent.record(now);
        metrics.presence_updates.inc();
        // Handed to the lanes before the lock is released, so that two reports for one agent
        // (two tabs) reach every subscriber in the order they were applied.
        let fanout = inner.fanout(after);
        self.deliver(fanout, metrics);
        Applied::Accepted(Some(record))
    }

    /// Marks Offline every agent with no reporting connection for more than the grace period,
    /// everywhere. Returns the records this node stores (see `offline_by`).
    pub fn sweep(&self, now: Millis, metrics: &Metrics) -> Vec<PresenceRecord> {
        let Ok(mut inner) = self.inner.lock() else { return Vec::new() };
        let mut gone = Vec::new();
        for agent in inner.agents.values_mut() {
            if let Some(at) = agent.absent_since
                && agent.reporting.is_empty()
                && now.saturating_sub(at) >= self.grace_ms
            {
                agent.absent_since = None;
                if agent.presence.online {
                    agent.presence.online = false;
                    agent.offline_since = at;
                    gone.push((agent.effective(), (agent.offline_by == LOCAL).then(|| agent.record(at))));
                }
            }
        }
        let (fanouts, records): (Vec<Fanout>, Vec<Option<PresenceRecord>>) =
            gone.into_iter().map(|(presence, record)| (inner.fanout(presence), record)).unzip();
        let records = records.into_iter().flatten().collect();
        for fanout in fanouts {
            self.deliver(fanout, metrics);
        }
        drop(inner);
        records
    }

    /// Subscribes a connection to `rosters` (distinct names, or [`EVERY_ROSTER`] alone: all of
    /// them) and writes its snapshot, the answer to request `id`, in frames of [`ROSTER_CHUNK`]
    /// agents, roster after roster.
    /// Registration and snapshot happen under one lock, so no change falls between them, and the
    /// snapshot is written while the lock is held, so every change computed after the
    /// registration reaches the socket after the snapshot. A connection has one subscription
    /// (of one or several rosters): a new one replaces the old. An agent is in one roster, so no
    /// push comes twice.
    pub fn subscribe(&self, subscriber: &Subscriber, id: u64, rosters: &[String], metrics: &Metrics) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let conn = subscriber.outbox.id;
        inner.remove_subscriber(conn);
        let every = rosters.iter().any(|r| r == EVERY_ROSTER);
        if every {
            inner.everyone.insert(conn, subscriber.clone());
        } else {
            for roster in rosters {
                inner.rosters.entry(roster.clone()).or_default().insert(conn, subscriber.clone());
            }
        }
        let mut groups: Vec<(String, Vec<Presence>)> = if every {
            vec![(EVERY_ROSTER.to_owned(), inner.agents.values().map(Agent::effective).collect())]
        } else {
            let mut by_roster: HashMap<&str, Vec<Presence>> =
                rosters.iter().map(|r| (r.as_str(), Vec::new())).collect();
            for agent in inner.agents.values() {
                if let Some(group) = by_roster.get_mut(agent.presence.roster.as_str()) {
                    group.push(agent.effective());
                }
            }
            rosters.iter().map(|r| (r.clone(), by_roster.remove(r.as_str()).unwrap_or_default())).collect()
        };
        for (_, agents) in &mut groups {
            agents.sort_by(|a, b| a.display_name.cmp(&b.display_name).then_with(|| a.principal.cmp(&b.principal)));
        }
        // One write for the whole snapshot: its frames back to back.
        let frames: Vec<u8> = roster_frames(id, groups).iter().flat_map(|f| encode(f).to_vec()).collect();
        subscriber.outbox.push(frames.into(), metrics);
    }

    /// The supervisors' connections whose subscriptions cover `roster`, each once.
    pub fn watchers(&self, roster: &str) -> Vec<Subscriber> {
        let Ok(inner) = self.inner.lock() else { return Vec::new() };
        inner
            .rosters
            .get(roster)
            .into_iter()
            .flat_map(HashMap::values)
            .chain(inner.everyone.values())
            .filter(|s| s.supervisor)
            .cloned()
            .collect()
    }

    /// The rosters `principal`'s supervisor subscriptions cover, over all their connections.
    pub fn watched_by(&self, principal: &str) -> Watched {
        let mut watched = Watched::default();
        let Ok(inner) = self.inner.lock() else { return watched };
        let mine = |s: &Subscriber| s.supervisor && &*s.principal == principal;
        watched.every = inner.everyone.values().any(mine);
        for (roster, subs) in &inner.rosters {
            if subs.values().any(mine) {
                watched.rosters.insert(roster.clone());
            }
        }
        watched
    }

    /// Every supervisor subscribed on this node, with the rosters their subscriptions cover.
    pub fn supervisors(&self) -> BTreeMap<String, Watched> {
        let mut all: BTreeMap<String, Watched> = BTreeMap::new();
        let Ok(inner) = self.inner.lock() else { return all };
        for s in inner.everyone.values().filter(|s| s.supervisor) {
            all.entry(s.principal.to_string()).or_default().every = true;
        }
        for (roster, subs) in &inner.rosters {
            for s in subs.values().filter(|s| s.supervisor) {
                all.entry(s.principal.to_string()).or_default().rosters.insert(roster.clone());
            }
        }
        all
    }

    /// Drops every subscription of a connection.
    pub fn unsubscribe(&self, id: ConnId) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.remove_subscriber(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::StateKind;

    use super::*;

    const GRACE: u64 = 10_000;

    fn report(name: &str, since: Millis) -> Report {
        let state = AgentState { name: name.into(), kind: StateKind::Routable };
        Report { state, since, contact: None, username: None }
    }

    fn seen(hub: &PresenceHub, principal: &str) -> Presence {
        let inner = hub.inner.lock().unwrap();
        inner.agents[principal].effective()
    }

    fn hub() -> (PresenceHub, Metrics) {
        let hub = PresenceHub::new(GRACE);
        hub.connect("aiko", "Aiko", "r");
        (hub, Metrics::default())
    }

    #[test]
    fn a_snapshot_of_several_rosters_is_complete_once_after_the_last() {
        let agents = |n: usize| -> Vec<Presence> {
            (0..n).map(|i| stored(&format!("a{i}"), "Available", 1, true).presence).collect()
        };
        let frames = roster_frames(9, vec![("r1".into(), agents(ROSTER_CHUNK + 1)), ("r2".into(), Vec::new())]);
        let shape: Vec<(String, usize, bool)> = frames
            .into_iter()
            .map(|f| match f {
                ServerFrame::Roster { id: 9, roster, agents, complete } => (roster, agents.len(), complete),
                other => panic!("{other:?}"),
            })
            .collect();
        let expected = [("r1", ROSTER_CHUNK, false), ("r1", 1, false), ("r2", 0, true)];
        assert_eq!(shape, expected.map(|(r, n, c)| (r.to_owned(), n, c)), "an empty roster still has its frame");
    }

    #[test]
    fn an_open_connection_without_a_reporting_ccp_is_not_presence() {
        let (hub, metrics) = hub();
        assert!(!seen(&hub, "aiko").online, "connected, but no CCP has reported");
        hub.report("aiko", 1, report("Available", 1_000), 2_000, &metrics);
        assert!(seen(&hub, "aiko").online);
        // The last CCP tab closed; the worker's socket stays open.
        hub.clear("aiko", 1, 3_000, &metrics);
        assert!(hub.sweep(3_000 + GRACE as Millis - 1, &metrics).is_empty(), "still within the grace period");
        assert!(seen(&hub, "aiko").online);
        let gone = hub.sweep(3_000 + GRACE as Millis, &metrics);
        assert_eq!(gone.len(), 1);
        assert!(!seen(&hub, "aiko").online, "no CCP reports: Offline after the grace period");
    }

    #[test]
    fn a_reloaded_tab_within_the_grace_period_does_not_flap() {
        let (hub, metrics) = hub();
        hub.report("aiko", 1, report("Available", 1_000), 2_000, &metrics);
        hub.clear("aiko", 1, 3_000, &metrics);
        hub.report("aiko", 1, report("Available", 1_000), 4_000, &metrics);
        assert!(hub.sweep(3_000 + GRACE as Millis * 2, &metrics).is_empty());
        assert!(seen(&hub, "aiko").online);
    }

    #[test]
    fn one_reporting_connection_of_two_keeps_the_agent_present() {
        let (hub, metrics) = hub();
        hub.report("aiko", 1, report("Available", 1_000), 2_000, &metrics);
        hub.report("aiko", 2, report("Available", 1_000), 2_000, &metrics);
        hub.clear("aiko", 1, 3_000, &metrics);
        assert!(hub.sweep(3_000 + GRACE as Millis, &metrics).is_empty());
        hub.clear("aiko", 2, 4_000, &metrics);
        assert_eq!(hub.sweep(4_000 + GRACE as Millis, &metrics).len(), 1);
    }

    #[test]
    fn after_a_restart_agents_keep_their_last_state_through_the_grace_period() {
        let hub = PresenceHub::new(GRACE);
        let metrics = Metrics::default();
        let stored = |principal: &str, online: bool| stored(principal, "管理業務中", 1_000, online);
        hub.load(vec![stored("aiko", true), stored("ben", false)], &[], 50_000);
        let aiko = seen(&hub, "aiko");
        assert_eq!((aiko.state.name.as_str(), aiko.since, aiko.online), ("管理業務中", 1_000, true));
        assert!(!seen(&hub, "ben").online, "Offline before the restart stays Offline");
        // Aiko's CCP reports again in time; Ben never comes back (he was already Offline).
        hub.connect("aiko", "aiko", "r");
        hub.report("aiko", 7, report("管理業務中", 1_000), 52_000, &metrics);
        assert!(hub.sweep(50_000 + GRACE as Millis, &metrics).is_empty());
        assert!(seen(&hub, "aiko").online);

        // Someone who does not come back goes Offline when the grace period ends.
        let hub = PresenceHub::new(GRACE);
        hub.load(vec![stored("aiko", true)], &[], 50_000);
        assert!(hub.sweep(50_000 + GRACE as Millis - 1, &metrics).is_empty());
        assert_eq!(hub.sweep(50_000 + GRACE as Millis, &metrics).len(), 1);
        assert!(!seen(&hub, "aiko").online);
    }

    #[test]
    fn a_state_nobody_reports_any_more_gives_way_to_an_older_start() {
        let (hub, metrics) = hub();
        // Device B (clock ahead) reported; it closes; within the grace period device A reports
        // a start before B's: A's state is shown, not B's dead one.
        hub.report("aiko", 2, report("Busy", 9_000), 9_000, &metrics);
        hub.clear("aiko", 2, 9_500, &metrics);
        let applied = hub.report("aiko", 1, report("Available", 5_000), 10_000, &metrics);
        assert!(matches!(applied, Applied::Accepted(Some(_))), "{applied:?}");
        assert_eq!(seen(&hub, "aiko").state.name, "Available");
        // The same after a restart, when the stored state came from the other device.
        let hub = PresenceHub::new(GRACE);
        hub.load(vec![stored("aiko", "Busy", 9_000, true)], &[], 20_000);
        let applied = hub.report("aiko", 1, report("Available", 5_000), 21_000, &metrics);
        assert!(matches!(applied, Applied::Accepted(Some(_))), "{applied:?}");
    }

    #[test]
    fn when_the_device_shown_goes_the_other_devices_state_is_shown() {
        let (hub, metrics) = hub();
        hub.report("aiko", 1, report("Busy", 9_000), 9_000, &metrics);
        // Device 2's start is older (its clock is behind): not shown while device 1 reports.
        assert_eq!(hub.report("aiko", 2, report("Available", 5_000), 9_100, &metrics), Applied::Stale);
        // Device 1 closes: device 2's state is shown at once, with no Offline and no need for it
        // to report again.
        let stored = hub.clear("aiko", 1, 9_500, &metrics).expect("the change is stored");
        assert_eq!(stored.presence.state.name, "Available");
        let aiko = seen(&hub, "aiko");
        assert_eq!((aiko.state.name.as_str(), aiko.since, aiko.online), ("Available", 5_000, true));
        assert!(hub.sweep(9_500 + GRACE as Millis * 2, &metrics).is_empty(), "device 2 still reports");
    }

    fn remote(node: NodeId, conn: ConnId, state: &str, since: Millis) -> RemoteReport {
        remote_report((node, conn), "aiko", "Aiko", "r", report(state, since))
    }

    #[test]
    fn connections_on_two_nodes_are_one_agent() {
        let (hub, metrics) = hub();
        hub.report("aiko", 1, report("Available", 1_000), 1_000, &metrics);
        // The same connection number on another node is another connection.
        hub.report_remote(remote(5, 1, "Busy", 2_000), 2_000, &metrics);
        assert_eq!(seen(&hub, "aiko").state.name, "Busy", "the latest start, whichever node");
        assert!(hub.clear("aiko", 1, 3_000, &metrics).is_none(), "node 5's report is still the one shown");
        assert!(hub.sweep(3_000 + GRACE as Millis * 2, &metrics).is_empty(), "node 5 still reports");
        assert_eq!(hub.remote_nodes(), BTreeSet::from([5]));
        hub.clear_remote(5, 1, "aiko", 4_000, &metrics);
        hub.sweep(4_000 + GRACE as Millis - 1, &metrics);
        assert!(seen(&hub, "aiko").online, "the grace period, as for a local close");
        assert!(hub.sweep(4_000 + GRACE as Millis, &metrics).is_empty(), "node 5's to store");
        assert!(!seen(&hub, "aiko").online);
    }

    #[test]
    fn the_offline_after_a_close_is_stored_by_the_node_of_the_connection_alone() {
        let (hub, metrics) = hub();
        hub.connect("ben", "Ben", "r");
        hub.report("aiko", 1, report("Available", 1_000), 1_000, &metrics);
        hub.report_remote(
            RemoteReport { principal: "ben".into(), ..remote(5, 2, "Available", 1_000) },
            1_000,
            &metrics,
        );
        hub.clear("aiko", 1, 2_000, &metrics);
        hub.clear_remote(5, 2, "ben", 2_000, &metrics);
        let stored = hub.sweep(2_000 + GRACE as Millis, &metrics);
        assert_eq!(
            stored.iter().map(|r| r.presence.principal.as_str()).collect::<Vec<_>>(),
            ["aiko"],
            "node 5 stores Ben's"
        );
        assert!(!seen(&hub, "ben").online, "but Ben shows Offline here too");
    }

    #[test]
    fn a_node_gone_starts_the_grace_period_and_a_reconnect_elsewhere_ends_it() {
        let (hub, metrics) = hub();
        hub.report_remote(remote(5, 1, "Available", 1_000), 1_000, &metrics);
        hub.report_remote(RemoteReport { principal: "ben".into(), ..remote(5, 2, "Busy", 1_000) }, 1_000, &metrics);
        assert_eq!(hub.local_reports(9), Vec::new(), "none of them is this node's");
        hub.drop_node(5, 10_000, &metrics);
        assert!(seen(&hub, "aiko").online, "not Offline at once");
        // Aiko's worker reconnects here within the grace period; Ben's does not.
        hub.report("aiko", 3, report("Available", 1_000), 12_000, &metrics);
        let gone = hub.sweep(10_000 + GRACE as Millis, &metrics);
        assert_eq!(gone.iter().map(|r| r.presence.principal.as_str()).collect::<Vec<_>>(), ["ben"]);
        assert!(seen(&hub, "aiko").online, "never Offline");
        let mine = hub.local_reports(9);
        assert_eq!((mine.len(), mine[0].node, mine[0].conn, mine[0].principal.as_str()), (1, 9, 3, "aiko"));
    }

    /// A record as the store keeps it, for `load`.
    fn stored(principal: &str, state: &str, since: Millis, online: bool) -> PresenceRecord {
        PresenceRecord {
            presence: Presence {
                principal: principal.into(),
                username: None,
                display_name: principal.into(),
                roster: "r".into(),
                state: AgentState { name: state.into(), kind: StateKind::NotRoutable },
                since,
                contact: None,
                online,
            },
            seen_at: since + 500,
        }
    }

    #[test]
    fn an_agent_held_offline_takes_a_report_with_an_older_start() {
        let (hub, metrics) = hub();
        hub.report("aiko", 1, report("Available", 5_000), 6_000, &metrics);
        // While online, the later start wins (another device with an older state is ignored).
        assert_eq!(hub.report("aiko", 2, report("Busy", 4_000), 6_100, &metrics), Applied::Stale);
        hub.clear("aiko", 1, 7_000, &metrics);
        hub.clear("aiko", 2, 7_000, &metrics);
        hub.sweep(7_000 + GRACE as Millis, &metrics);
        assert!(!seen(&hub, "aiko").online);
        // A device whose CCP reports a start before the one held: the Offline was the relay's,
        // so the report is taken rather than leaving the agent Offline.
        let applied = hub.report("aiko", 3, report("Available", 4_500), 30_000, &metrics);
        assert!(matches!(applied, Applied::Accepted(Some(_))), "{applied:?}");
        let aiko = seen(&hub, "aiko");
        assert_eq!((aiko.state.name.as_str(), aiko.since, aiko.online), ("Available", 4_500, true));
    }
}
