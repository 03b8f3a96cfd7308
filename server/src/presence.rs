//! Presence: one entry per agent (not per socket), last-writer-wins by the state's own start
//! time, present only while a CCP reports on one of the agent's connections, Offline only
//! after a grace period with none, and fan-out to roster subscribers.
//!
//! Agents no extension reports for show Connect's real-time data instead (`source: connect`),
//! when the relay reads it: the extension's presence always wins while a CCP with the
//! extension reports (or within its grace period), so the two never alternate. Connect's rows
//! are as fresh as the last read: the feed turns stale after a few missed reads and its rows
//! fade to `Unknown` after `unknown_ms`, judged by every node from the read's time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use protocol::cluster::{NodeId, RemoteReport};
use protocol::{
    AgentState, ConnectFeed, ConnectRow, ConnectStatus, ContactState, ContactSummary, Millis, Presence, ServerFrame,
    Source, StateKind,
};

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
    /// The contact's id, kept for a supervisor's listen-in and never fanned out.
    pub contact_id: Option<String>,
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
    /// The contact id of the report shown.
    contact_id: Option<String>,
    /// The agent's row in Connect's real-time data, while Connect shows them logged in.
    connect: Option<ConnectRow>,
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
                source: Source::Extension,
                ccp_closed: false,
            },
            reporting: Vec::new(),
            absent_since: None,
            offline_by: LOCAL,
            offline_since: 0,
            contact_id: None,
            connect: None,
        }
    }

    /// When the agent's extension last went away (the relay's Offline after its grace period),
    /// if it ever reported.
    fn extension_gone_at(&self) -> Option<Millis> {
        (!self.presence.online && self.presence.since > 0 && self.offline_since > 0).then_some(self.offline_since)
    }

    /// What subscribers see: the extension's presence while a CCP reports (or within the grace
    /// period), else Connect's row when Connect shows the agent logged in (`Unknown` once the
    /// feed has `faded`), else Offline.
    fn effective(&self, feed: &Feed) -> Presence {
        if self.presence.online {
            return self.presence.clone();
        }
        if let Some(row) = &self.connect {
            let (state, since, contact) = if feed.faded {
                (AgentState::unknown(), feed.read_at.unwrap_or(row.since), None)
            } else {
                (row.state.clone(), row.since, row.contact.clone())
            };
            let ccp_closed = !feed.faded
                && row.state.kind == StateKind::Routable
                && self.extension_gone_at().is_some_and(|gone| row.since < gone);
            return Presence {
                online: state.kind != StateKind::Offline,
                state,
                since,
                contact,
                source: Source::Connect,
                ccp_closed,
                ..self.presence.clone()
            };
        }
        Presence {
            state: AgentState::offline(),
            since: self.offline_since,
            contact: None,
            online: false,
            ..self.presence.clone()
        }
    }

    /// The id of the contact shown, when it is one a supervisor can listen to (connected or on
    /// hold).
    fn monitorable_contact(&self, feed: &Feed) -> Option<String> {
        let shown = self.effective(feed);
        let live =
            shown.contact.as_ref().is_some_and(|c| matches!(c.state, ContactState::Connected | ContactState::OnHold));
        if !live {
            return None;
        }
        match shown.source {
            Source::Extension => self.contact_id.clone(),
            Source::Connect => self.connect.as_ref().and_then(|r| r.contact_id.clone()),
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
        self.contact_id = report.contact_id;
        if report.username.is_some() {
            self.presence.username = report.username;
        }
        self.presence.online = true;
    }

    /// `conn` no longer reports. With no other, the grace period starts; otherwise the latest
    /// report still made is shown (it may be older than the one that went away). Returns the
    /// presence shown when that changed it.
    fn stop_reporting(&mut self, conn: Reporter, now: Millis, feed: &Feed) -> Option<Presence> {
        let at = self.reporting.iter().position(|(c, _)| *c == conn)?;
        self.reporting.remove(at);
        self.offline_by = conn.0;
        self.after_stop(now, feed)
    }

    /// After a reporter went: the grace period when none is left, else the latest report shown.
    fn after_stop(&mut self, now: Millis, feed: &Feed) -> Option<Presence> {
        let Some((_, latest)) = self.reporting.iter().max_by_key(|(_, r)| key(r)).cloned() else {
            self.absent_since = Some(now);
            return None;
        };
        let before = self.effective(feed);
        self.show(latest);
        let after = self.effective(feed);
        (after != before).then_some(after)
    }
}

/// Connect's real-time feed as this node knows it (see the module's notes).
#[derive(Debug, Default)]
struct Feed {
    /// This relay reads Connect (`--connect-instance-id`): subscribers get `connect_feed`.
    configured: bool,
    read_at: Option<Millis>,
    /// How long after a read the feed turns stale: three of the reader's intervals (two reads
    /// missed).
    stale_after_ms: Millis,
    unknown_after_ms: Millis,
    stale: bool,
    /// Rows show `Unknown`.
    faded: bool,
    statuses: Vec<ConnectStatus>,
}

impl Feed {
    fn frame(&self) -> ServerFrame {
        ServerFrame::ConnectFeed {
            feed: ConnectFeed { read_at: self.read_at, stale: self.stale, statuses: self.statuses.clone() },
        }
    }
}

/// One read of Connect's real-time data, as [`PresenceHub::apply_connect`] takes it.
#[derive(Debug, Clone, Default)]
pub struct ConnectRead {
    pub read_at: Millis,
    /// The reader's interval between reads: the feed turns stale after a few missed ones.
    pub interval_ms: Millis,
    /// `rows` is every agent logged in: anyone else with a row has logged out.
    pub full: bool,
    pub rows: Vec<ConnectRow>,
    pub gone: Vec<String>,
    /// Empty: unchanged.
    pub statuses: Vec<ConnectStatus>,
}

#[derive(Default)]
struct Inner {
    agents: HashMap<String, Agent>,
    rosters: HashMap<String, HashMap<ConnId, Subscriber>>,
    everyone: HashMap<ConnId, Subscriber>,
    feed: Feed,
}

impl Inner {
    fn remove_subscriber(&mut self, id: ConnId) {
        self.everyone.remove(&id);
        self.rosters.retain(|_, subs| {
            subs.remove(&id);
            !subs.is_empty()
        });
    }

    /// Every subscriber, each once, for a frame all of them get.
    fn everybody(&self) -> Fanout {
        let mut seen = std::collections::HashSet::new();
        let targets = self
            .rosters
            .values()
            .flat_map(HashMap::values)
            .chain(self.everyone.values())
            .filter(|s| seen.insert(s.outbox.id))
            .map(|s| s.outbox.clone())
            .collect();
        Fanout { frame: encode(&self.feed.frame()), targets }
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
        contact_id: report.contact_id,
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
                    contact_id: None,
                    connect: None,
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
        let inner = &mut *inner;
        let agent = inner.agents.get_mut(principal)?;
        let shown = agent.stop_reporting(conn, now, &inner.feed)?;
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
        let RemoteReport { node, conn, principal, display_name, roster, state, since, contact, username, contact_id } =
            remote;
        let agent =
            inner.agents.entry(principal.clone()).or_insert_with(|| Agent::unseen(&principal, &display_name, &roster));
        agent.presence.display_name = display_name;
        agent.presence.roster = roster;
        let report = Report { state, since, contact, username, contact_id };
        self.apply(&mut inner, &principal, (node, conn), report, now, metrics);
    }

    /// A node is gone (its lease ran out): its connections report no more. Agents with no other
    /// reporting connection start their grace period, so those who reconnect to another node in
    /// time never show Offline.
    pub fn drop_node(&self, node: NodeId, now: Millis, metrics: &Metrics) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let inner = &mut *inner;
        let mut shown = Vec::new();
        for agent in inner.agents.values_mut() {
            let before = agent.reporting.len();
            agent.reporting.retain(|((n, _), _)| *n != node);
            if agent.offline_by == node {
                // The node that would have stored the Offline is the one gone: every node does.
                agent.offline_by = LOCAL;
            }
            if agent.reporting.len() != before
                && let Some(presence) = agent.after_stop(now, &inner.feed)
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
        let feed = &inner.feed;
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
        let before = agent.effective(feed);
        agent.show(report);
        let after = agent.effective(feed);
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
        let inner = &mut *inner;
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
                    gone.push((agent.effective(&inner.feed), (agent.offline_by == LOCAL).then(|| agent.record(at))));
                }
            }
        }
        let (mut fanouts, records): (Vec<Fanout>, Vec<Option<PresenceRecord>>) =
            gone.into_iter().map(|(presence, record)| (inner.fanout(presence), record)).unzip();
        let records = records.into_iter().flatten().collect();
        fanouts.extend(Self::age_feed(inner, now));
        for fanout in fanouts {
            self.deliver(fanout, metrics);
        }
        records
    }

    /// Turns the Connect feed stale, and its rows `Unknown`, when the last read is old enough.
    fn age_feed(inner: &mut Inner, now: Millis) -> Vec<Fanout> {
        let feed = &inner.feed;
        let Some(read_at) = feed.read_at.filter(|_| feed.configured) else { return Vec::new() };
        let age = now.saturating_sub(read_at);
        let stale = age >= feed.stale_after_ms;
        let faded = age >= feed.unknown_after_ms.max(feed.stale_after_ms);
        if stale == feed.stale && faded == feed.faded {
            return Vec::new();
        }
        let before: Vec<Presence> = if faded != feed.faded {
            inner.agents.values().filter(|a| a.connect.is_some()).map(|a| a.effective(feed)).collect()
        } else {
            Vec::new()
        };
        let feed_changed = stale != inner.feed.stale;
        inner.feed.stale = stale;
        inner.feed.faded = faded;
        let mut fanouts = Vec::new();
        for was in before {
            let now_shown = inner.agents[&was.principal].effective(&inner.feed);
            if now_shown != was {
                fanouts.push(inner.fanout(now_shown));
            }
        }
        if feed_changed {
            fanouts.push(inner.everybody());
        }
        fanouts
    }

    /// This relay reads Connect's real-time data: subscribers get `connect_feed`, and its rows
    /// fade to `Unknown` `unknown_after_ms` after the last read.
    pub fn read_connect(&self, unknown_after_ms: Millis) {
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.feed.configured = true;
        inner.feed.unknown_after_ms = unknown_after_ms;
        inner.feed.stale_after_ms = unknown_after_ms;
    }

    /// Applies a read of Connect's real-time data (this node's, or the reading node's). Agents
    /// the hub has not seen are placed by `place` (display name, roster), or skipped. Returns
    /// how many agents' presence changed.
    pub fn apply_connect(
        &self,
        read: ConnectRead,
        place: impl Fn(&str) -> Option<(String, String)>,
        metrics: &Metrics,
    ) -> usize {
        let Ok(mut inner) = self.inner.lock() else { return 0 };
        let inner = &mut *inner;
        if inner.feed.read_at.is_some_and(|at| at > read.read_at) {
            return 0; // An older read arriving late (a reader that lost its lease).
        }
        let mut touched: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut before: HashMap<String, Presence> = HashMap::new();
        let listed: std::collections::HashSet<&str> = read.rows.iter().map(|r| r.principal.as_str()).collect();
        let note = |agent: &Agent, feed: &Feed, before: &mut HashMap<String, Presence>| {
            before.entry(agent.presence.principal.clone()).or_insert_with(|| agent.effective(feed));
        };
        // Agents whose row goes.
        let mut leaving: Vec<String> = read.gone.clone();
        if read.full {
            leaving.extend(
                inner
                    .agents
                    .iter()
                    .filter(|(p, a)| a.connect.is_some() && !listed.contains(p.as_str()))
                    .map(|(p, _)| p.clone()),
            );
        }
        let unfades = inner.feed.faded || inner.feed.stale;
        if unfades {
            for agent in inner.agents.values().filter(|a| a.connect.is_some()) {
                note(agent, &inner.feed, &mut before);
            }
        }
        for principal in &leaving {
            if let Some(agent) = inner.agents.get(principal) {
                note(agent, &inner.feed, &mut before);
            }
        }
        for row in &read.rows {
            if !inner.agents.contains_key(&row.principal) {
                let Some((name, roster)) = place(&row.principal) else { continue };
                inner.agents.insert(row.principal.clone(), Agent::unseen(&row.principal, &name, &roster));
            }
            note(&inner.agents[&row.principal], &inner.feed, &mut before);
        }
        for principal in leaving {
            if let Some(agent) = inner.agents.get_mut(&principal) {
                agent.connect = None;
                touched.insert(principal);
            }
        }
        for row in read.rows {
            if let Some(agent) = inner.agents.get_mut(&row.principal) {
                touched.insert(row.principal.clone());
                agent.connect = Some(row);
            }
        }
        let feed_was = (inner.feed.stale, inner.feed.read_at.is_none(), inner.feed.statuses.clone());
        inner.feed.read_at = Some(read.read_at);
        inner.feed.stale_after_ms = (read.interval_ms * 3).min(inner.feed.unknown_after_ms.max(1));
        inner.feed.stale = false;
        inner.feed.faded = false;
        if !read.statuses.is_empty() {
            inner.feed.statuses = read.statuses;
        }
        // The feed first: a client never shows a fresh row marked as old.
        let mut fanouts = Vec::new();
        if feed_was != (inner.feed.stale, false, inner.feed.statuses.clone()) {
            fanouts.push(inner.everybody());
        }
        let feed_frames = fanouts.len();
        for (principal, was) in before {
            let shown = inner.agents[&principal].effective(&inner.feed);
            if shown != was {
                fanouts.push(inner.fanout(shown));
            }
        }
        let changed = fanouts.len() - feed_frames;
        metrics.presence_updates.inc_by(changed as u64);
        for fanout in fanouts {
            self.deliver(fanout, metrics);
        }
        changed
    }

    /// The agent statuses a supervisor may set (the directory sync read them); subscribers hear
    /// of a change.
    pub fn set_connect_statuses(&self, statuses: Vec<ConnectStatus>, metrics: &Metrics) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.feed.statuses == statuses || statuses.is_empty() {
            return;
        }
        inner.feed.statuses = statuses;
        if inner.feed.configured {
            let fanout = inner.everybody();
            self.deliver(fanout, metrics);
        }
    }

    /// Every agent's Connect row now, for a node that joins (the reader sends them whole).
    pub fn connect_rows(&self) -> Vec<ConnectRow> {
        let Ok(inner) = self.inner.lock() else { return Vec::new() };
        inner.agents.values().filter_map(|a| a.connect.clone()).collect()
    }

    /// The feed as subscribers see it.
    pub fn connect_feed(&self) -> Option<ConnectFeed> {
        let inner = self.inner.lock().ok()?;
        inner.feed.configured.then(|| ConnectFeed {
            read_at: inner.feed.read_at,
            stale: inner.feed.stale,
            statuses: inner.feed.statuses.clone(),
        })
    }

    /// The presence subscribers see for `principal`, and the id of the contact a supervisor can
    /// listen to, if the agent is on one.
    pub fn shown(&self, principal: &str) -> Option<(Presence, Option<String>)> {
        let inner = self.inner.lock().ok()?;
        let agent = inner.agents.get(principal)?;
        Some((agent.effective(&inner.feed), agent.monitorable_contact(&inner.feed)))
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
        let feed = &inner.feed;
        let mut groups: Vec<(String, Vec<Presence>)> = if every {
            vec![(EVERY_ROSTER.to_owned(), inner.agents.values().map(|a| a.effective(feed)).collect())]
        } else {
            let mut by_roster: HashMap<&str, Vec<Presence>> =
                rosters.iter().map(|r| (r.as_str(), Vec::new())).collect();
            for agent in inner.agents.values() {
                if let Some(group) = by_roster.get_mut(agent.presence.roster.as_str()) {
                    group.push(agent.effective(feed));
                }
            }
            rosters.iter().map(|r| (r.clone(), by_roster.remove(r.as_str()).unwrap_or_default())).collect()
        };
        for (_, agents) in &mut groups {
            agents.sort_by(|a, b| a.display_name.cmp(&b.display_name).then_with(|| a.principal.cmp(&b.principal)));
        }
        // One write for the whole snapshot: its frames back to back, then how fresh Connect's
        // rows are.
        let mut frames = roster_frames(id, groups);
        if inner.feed.configured {
            frames.push(inner.feed.frame());
        }
        let frames: Vec<u8> = frames.iter().flat_map(|f| encode(f).to_vec()).collect();
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
        Report { state, since, contact: None, username: None, contact_id: None }
    }

    fn seen(hub: &PresenceHub, principal: &str) -> Presence {
        let inner = hub.inner.lock().unwrap();
        inner.agents[principal].effective(&inner.feed)
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
                source: Source::Extension,
                ccp_closed: false,
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
    fn row(principal: &str, state: &str, kind: StateKind, since: Millis) -> ConnectRow {
        ConnectRow {
            principal: principal.into(),
            state: AgentState { name: state.into(), kind },
            since,
            contact: None,
            contact_id: None,
        }
    }

    fn read(read_at: Millis, full: bool, rows: Vec<ConnectRow>) -> ConnectRead {
        ConnectRead { read_at, interval_ms: 5_000, full, rows, gone: Vec::new(), statuses: Vec::new() }
    }

    fn nowhere(_: &str) -> Option<(String, String)> {
        None
    }

    /// A hub that reads Connect, rows fading after a minute.
    fn reading() -> (PresenceHub, Metrics) {
        let (hub, metrics) = hub();
        hub.read_connect(60_000);
        (hub, metrics)
    }

    #[test]
    fn an_agent_only_in_connect_shows_connects_state_and_follows_it() {
        let (hub, metrics) = reading();
        let place = |p: &str| (p == "ben").then(|| ("Ben".to_owned(), "r".to_owned()));
        let ben = row("ben", "Available", StateKind::Routable, 1_000);
        assert_eq!(hub.apply_connect(read(2_000, true, vec![ben.clone()]), place, &metrics), 1);
        let shown = seen(&hub, "ben");
        assert_eq!(
            (shown.source, shown.online, shown.state.name.as_str(), shown.display_name.as_str()),
            (Source::Connect, true, "Available", "Ben")
        );
        assert!(!shown.ccp_closed, "Ben never used the extension: Connect's Available is his CCP elsewhere");
        // The same row again changes nothing; a new state does.
        assert_eq!(hub.apply_connect(read(7_000, false, vec![ben]), place, &metrics), 0);
        assert_eq!(
            hub.apply_connect(
                read(12_000, false, vec![row("ben", "休憩", StateKind::NotRoutable, 11_000)]),
                place,
                &metrics
            ),
            1
        );
        assert_eq!(seen(&hub, "ben").state.name, "休憩");
        // A full read without him: he logged out of Connect.
        assert_eq!(hub.apply_connect(read(17_000, true, Vec::new()), place, &metrics), 1);
        let gone = seen(&hub, "ben");
        assert_eq!((gone.source, gone.online), (Source::Extension, false));
        // Someone the directory does not place is left out.
        assert_eq!(
            hub.apply_connect(
                read(22_000, true, vec![row("eve", "Available", StateKind::Routable, 1)]),
                nowhere,
                &metrics
            ),
            0
        );
    }

    #[test]
    fn the_extension_wins_while_it_reports_and_connect_never_flaps_against_it() {
        let (hub, metrics) = reading();
        hub.apply_connect(
            read(1_000, true, vec![row("aiko", "Available", StateKind::Routable, 500)]),
            nowhere,
            &metrics,
        );
        assert_eq!(seen(&hub, "aiko").source, Source::Connect);
        // Her extension connects: its report wins at once.
        hub.report("aiko", 1, report("Busy", 2_000), 2_000, &metrics);
        assert_eq!(
            (seen(&hub, "aiko").source, seen(&hub, "aiko").state.name.clone()),
            (Source::Extension, "Busy".to_owned())
        );
        // Connect's reads, older or newer, change nothing she sees while the extension reports
        // and through its grace period.
        for (at, state) in [(6_000, "Available"), (11_000, "Break"), (16_000, "Available")] {
            let changed = hub.apply_connect(
                read(at, false, vec![row("aiko", state, StateKind::Routable, at)]),
                nowhere,
                &metrics,
            );
            assert_eq!(changed, 0, "read at {at}");
        }
        hub.clear("aiko", 1, 20_000, &metrics);
        assert!(hub.sweep(20_000 + GRACE as Millis - 1, &metrics).is_empty());
        assert_eq!(seen(&hub, "aiko").source, Source::Extension, "within the grace period");
        // The extension is gone: Connect's row shows (its state began before she closed her CCP
        // and is routable: Available in Connect but CCP closed).
        hub.sweep(20_000 + GRACE as Millis, &metrics);
        let after = seen(&hub, "aiko");
        assert_eq!((after.source, after.state.name.as_str(), after.ccp_closed), (Source::Connect, "Available", true));
        // She sets a state after that on another device: no warning.
        hub.apply_connect(
            read(40_000, false, vec![row("aiko", "Available", StateKind::Routable, 39_000)]),
            nowhere,
            &metrics,
        );
        assert!(!seen(&hub, "aiko").ccp_closed);
    }

    #[test]
    fn rows_from_connect_turn_stale_then_unknown_and_recover_with_the_next_read() {
        let (hub, metrics) = reading();
        hub.apply_connect(
            read(10_000, true, vec![row("aiko", "Available", StateKind::Routable, 1_000)]),
            nowhere,
            &metrics,
        );
        assert_eq!(hub.connect_feed().map(|f| (f.read_at, f.stale)), Some((Some(10_000), false)));
        // Stale after three intervals (two reads missed): the state is still shown.
        hub.sweep(10_000 + 14_999, &metrics);
        assert!(!hub.connect_feed().unwrap().stale);
        hub.sweep(10_000 + 15_000, &metrics);
        assert!(hub.connect_feed().unwrap().stale);
        assert_eq!(seen(&hub, "aiko").state.name, "Available");
        // Unknown after the limit: never a wrong Available.
        hub.sweep(10_000 + 60_000, &metrics);
        let faded = seen(&hub, "aiko");
        assert_eq!((faded.state.kind, faded.since, faded.source), (StateKind::Unknown, 10_000, Source::Connect));
        // The next read: fresh again, with its state.
        hub.apply_connect(read(80_000, false, Vec::new()), nowhere, &metrics);
        assert_eq!(hub.connect_feed().map(|f| (f.read_at, f.stale)), Some((Some(80_000), false)));
        assert_eq!(seen(&hub, "aiko").state.name, "Available");
        // A late read older than the one applied is ignored.
        assert_eq!(hub.apply_connect(read(70_000, true, Vec::new()), nowhere, &metrics), 0);
        assert_eq!(seen(&hub, "aiko").source, Source::Connect);
    }

    #[test]
    fn the_contact_to_listen_to_is_the_one_shown_and_only_while_in_progress() {
        let (hub, metrics) = reading();
        let on = |state| Some(ContactSummary { channel: protocol::Channel::Voice, state, since: 1_500 });
        let mut ben = row("ben", "Available", StateKind::Routable, 1_000);
        ben.contact = on(ContactState::Connected);
        ben.contact_id = Some("c-connect".into());
        let place = |_: &str| Some(("Ben".to_owned(), "r".to_owned()));
        hub.apply_connect(read(2_000, true, vec![ben.clone()]), place, &metrics);
        assert_eq!(hub.shown("ben").unwrap().1.as_deref(), Some("c-connect"));
        ben.contact = on(ContactState::AfterContactWork);
        hub.apply_connect(read(3_000, true, vec![ben]), place, &metrics);
        assert_eq!(hub.shown("ben").unwrap().1, None, "after-contact work: nothing to listen to");
        // The extension's report names its own contact.
        let mut busy = report("Busy", 2_000);
        busy.contact = on(ContactState::OnHold);
        busy.contact_id = Some("c-ccp".into());
        hub.report("aiko", 1, busy, 2_000, &metrics);
        assert_eq!(hub.shown("aiko").unwrap().1.as_deref(), Some("c-ccp"));
        assert!(hub.shown("nobody").is_none());
    }
}
