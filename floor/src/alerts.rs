//! Alert rules and their episodes, and [`Alerts`], the tracker the panel and the worker each
//! keep over the presence the relay sends.
//!
//! An **episode** is one occurrence of a state: the agent, the [`Rule`] and when the state (or
//! the contact's state) began ([`AlertKey`]). It is **raised** when the state has lasted its
//! threshold ([`AlertChange::Started`]: notify once), turns red at twice it, and **ends** by
//! itself when the agent leaves the state. A supervisor may **dismiss** an episode: it leaves the
//! list and the count, and the next episode of the same rule alerts again.
//!
//! The rules, from a presence:
//! - [`Rule::LongContact`]: a contact connected or on hold, from when it connected. Holds do not
//!   restart it; a connected contact reported with a new start is a new contact.
//! - [`Rule::LongHold`]: a contact on hold, from the hold's start, which the hook reports (the
//!   agent connection's state time; the contact's own does not change on hold). A report whose
//!   time is not later than the contact's start (an older extension's) is taken to start when
//!   this tracker first saw it.
//! - [`Rule::LongAcw`]: `AfterCallWork`, or a contact in after-contact work.
//! - [`Rule::NotRoutable`]: a not-routable state, by name.
//! - [`Rule::Missed`] (`MissedCallAgent`, or a contact reported missed) and
//!   [`Rule::ErrorState`] (any other error state, or a failed contact): at once, red.
//! - [`Rule::CcpClosed`]: Connect shows the agent routable in a state that began before their
//!   CCP with the extension closed (`presence.ccp_closed`): at once, red, always on; from the
//!   state's start, until the flag goes. The flag may go and come back within one state (the CCP
//!   opened and closed again): that is still the state's one episode, so it is remembered
//!   while the agent is online too, and comes back without a second notification.
//!
//! An agent who is offline has no alerts, nor has one whose state is `Unknown` (known only from
//! Connect data too old to say). Their episodes end, but are remembered: an agent back online in
//! the same state (a network blip past the relay's grace, Connect read again) continues the
//! episode without a second notification ([`AlertChange::Updated`]), dismissed if it was.
//! [`Alerts::seen`] and [`Alerts::restore`] carry the same memory across a restart of the worker.
//!
//! Cost: [`Alerts::update`] touches one agent, O(log n). Upcoming threshold crossings wait in a
//! time-ordered queue, so [`Alerts::tick`] costs O(log n) per crossing due, not a scan of the
//! floor; the shown alerts are kept in their list order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use protocol::{AlertKey, Channel, ContactState, ContactSummary, Millis, Presence, Rule, StateKind};
use serde::{Deserialize, Serialize};

use crate::thresholds::Thresholds;

/// How far over its threshold an episode is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// From the threshold.
    Amber,
    /// From twice the threshold; at once for a threshold of 0 (missed, error).
    Red,
}

impl Severity {
    /// The severity of a state `elapsed` ms old against `threshold` ms, if it is over it.
    pub fn at(elapsed: Millis, threshold: Millis) -> Option<Severity> {
        if threshold <= 0 || elapsed >= threshold.saturating_mul(2) {
            Some(Severity::Red)
        } else if elapsed >= threshold {
            Some(Severity::Amber)
        } else {
            None
        }
    }
}

/// A raised episode, as the list of active alerts shows it ("for how long" is `now - key.since`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub key: AlertKey,
    /// The agent's display name and team (roster).
    pub name: String,
    pub team: String,
    pub severity: Severity,
    /// The threshold in force, in milliseconds.
    pub threshold: Millis,
    /// When it crossed its threshold (`since + threshold`); the list is newest first.
    pub raised_at: Millis,
    pub dismissed: bool,
}

/// What changed in the list of active alerts. Dismissed episodes change nothing in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertChange {
    /// A new episode crossed its threshold: show it, count it, notify once (the caller decides
    /// whether a notification is due: not while the floor is visible and focused). Never twice
    /// for one episode.
    Started(Alert),
    /// Show this alert, or replace the one with its key, without notifying: a severity change,
    /// a threshold change, or an episode seen before (back online, after a restart).
    Updated(Alert),
    /// Gone from the list: the agent left the state, went offline, or the rule was turned off.
    Ended(AlertKey),
}

/// An episode that was raised, as [`Alerts::seen`] keeps it across a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEpisode {
    pub key: AlertKey,
    pub dismissed: bool,
}

type Id = u32;

/// The ongoing contact of an agent, to measure a contact across holds and to date a hold.
#[derive(Debug, Clone)]
struct Track {
    channel: Channel,
    /// When the contact connected.
    started: Millis,
    state: ContactState,
    since: Millis,
    /// When the current hold began.
    hold: Option<Millis>,
}

impl Track {
    fn next(prev: Option<Track>, c: &ContactSummary, now: Millis) -> Track {
        use ContactState::{Connected, OnHold};
        let same_contact = prev.as_ref().is_some_and(|t| {
            t.channel == c.channel && !(t.state == Connected && c.state == Connected && t.since != c.since)
        });
        let prev = prev.filter(|_| same_contact);
        let same_hold = prev.as_ref().is_some_and(|t| t.state == OnHold && t.since == c.since);
        let started = prev.as_ref().map_or(c.since, |t| t.started);
        let hold = match c.state {
            OnHold if same_hold => prev.as_ref().and_then(|t| t.hold),
            // The hook reported the hold's own start.
            OnHold if c.since > started => Some(c.since),
            // The contact's start was reported for the hold: it began when first seen.
            OnHold => Some(now.max(c.since)),
            _ => None,
        };
        Track { channel: c.channel, started, state: c.state, since: c.since, hold }
    }
}

/// Whether the agent is there for the rules: online, in a state that is neither Offline nor
/// `Unknown` (Connect's data too old to say anything).
fn present(p: &Presence) -> bool {
    p.online && !matches!(p.state.kind, StateKind::Offline | StateKind::Unknown)
}

/// The states an agent is in that some rule watches, with when each began.
fn conditions(p: &Presence, track: &mut Option<Track>, now: Millis) -> Vec<(Rule, Millis)> {
    use ContactState::*;
    let mut out = Vec::new();
    if !present(p) {
        *track = None;
        return out;
    }
    if p.ccp_closed {
        out.push((Rule::CcpClosed, p.since));
    }
    match p.state.kind {
        StateKind::Error if p.state.name == "MissedCallAgent" => out.push((Rule::Missed, p.since)),
        StateKind::Error => out.push((Rule::ErrorState, p.since)),
        StateKind::NotRoutable => out.push((Rule::NotRoutable { state: p.state.name.clone() }, p.since)),
        _ if p.state.name == "AfterCallWork" => out.push((Rule::LongAcw, p.since)),
        _ => {}
    }
    let Some(c) = &p.contact else {
        *track = None;
        return out;
    };
    let failed = out.iter().any(|(r, _)| matches!(r, Rule::Missed | Rule::ErrorState));
    match c.state {
        Connected | OnHold => {
            let t = Track::next(track.take(), c, now);
            out.push((Rule::LongContact, t.started));
            if let Some(hold) = t.hold {
                out.push((Rule::LongHold, hold));
            }
            *track = Some(t);
            return out;
        }
        Missed if !failed => out.push((Rule::Missed, c.since)),
        Error if !failed => out.push((Rule::ErrorState, c.since)),
        AfterContactWork if !out.iter().any(|(r, _)| *r == Rule::LongAcw) => out.push((Rule::LongAcw, c.since)),
        _ => {}
    }
    *track = None;
    out
}

#[derive(Debug, Clone)]
struct Episode {
    rule: Rule,
    since: Millis,
    threshold: Millis,
    /// Set once raised.
    alert: Option<Alert>,
    /// Raised before (and whether dismissed then): raising it again does not notify.
    seen: Option<bool>,
    /// The next threshold crossing, as queued.
    next: Option<Millis>,
}

/// Who an agent is, as their alerts name them.
#[derive(Debug, Clone)]
struct Who {
    principal: String,
    name: String,
    team: String,
}

#[derive(Debug, Clone)]
struct Agent {
    who: Who,
    online: bool,
    conditions: Vec<(Rule, Millis)>,
    track: Option<Track>,
    episodes: Vec<Episode>,
    /// Episodes that ended while the agent went offline (or before a restart).
    resumable: Vec<SeenEpisode>,
}

/// The queue of crossings and the list order of shown alerts.
#[derive(Debug, Clone, Default)]
struct Index {
    queue: BTreeSet<(Millis, Id, Rule)>,
    shown: BTreeSet<(Reverse<Millis>, Id, Rule)>,
}

/// Every watched agent's alert episodes.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    thresholds: Thresholds,
    ids: BTreeMap<String, Id>,
    agents: Vec<Agent>,
    index: Index,
}

impl Alerts {
    pub fn new(thresholds: Thresholds) -> Self {
        Self { thresholds, ..Self::default() }
    }

    /// A tracker that remembers the episodes a previous one had raised ([`Alerts::seen`]): they
    /// come back without a second notification, dismissed if they were.
    pub fn restore(thresholds: Thresholds, seen: Vec<SeenEpisode>) -> Self {
        let mut alerts = Self::new(thresholds);
        for episode in seen {
            let id = alerts.id(&episode.key.principal);
            alerts.agents[id as usize].resumable.push(episode);
        }
        alerts
    }

    /// The episodes raised so far (shown, dismissed, or below a threshold raised since) and the
    /// remembered ones, to keep across a restart.
    pub fn seen(&self) -> Vec<SeenEpisode> {
        let mut out = Vec::new();
        for agent in &self.agents {
            out.extend(agent.resumable.iter().cloned());
            for e in &agent.episodes {
                let dismissed = match &e.alert {
                    Some(alert) => alert.dismissed,
                    None => match e.seen {
                        Some(dismissed) => dismissed,
                        None => continue,
                    },
                };
                let key = AlertKey { principal: agent.who.principal.clone(), rule: e.rule.clone(), since: e.since };
                out.push(SeenEpisode { key, dismissed });
            }
        }
        out
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// New thresholds (policy or options changed): every agent is measured against them.
    pub fn set_thresholds(&mut self, thresholds: Thresholds, now: Millis) -> Vec<AlertChange> {
        self.thresholds = thresholds;
        let mut out = Vec::new();
        for id in 0..self.agents.len() as Id {
            self.reconcile(id, now, &mut out);
        }
        out
    }

    /// An agent's presence changed (or arrived in a snapshot).
    pub fn update(&mut self, presence: &Presence, now: Millis) -> Vec<AlertChange> {
        let id = self.id(&presence.principal);
        let agent = &mut self.agents[id as usize];
        if agent.who.name != presence.display_name || agent.who.team != presence.roster {
            agent.who.name.clone_from(&presence.display_name);
            agent.who.team.clone_from(&presence.roster);
            for alert in agent.episodes.iter_mut().filter_map(|e| e.alert.as_mut()) {
                alert.name.clone_from(&presence.display_name);
                alert.team.clone_from(&presence.roster);
            }
        }
        agent.online = present(presence);
        agent.conditions = conditions(presence, &mut agent.track, now);
        let mut out = Vec::new();
        self.reconcile(id, now, &mut out);
        out
    }

    /// An agent left the watched rosters: their alerts end and nothing of them is remembered.
    pub fn remove(&mut self, principal: &str, now: Millis) -> Vec<AlertChange> {
        let mut out = Vec::new();
        if let Some(&id) = self.ids.get(principal) {
            let agent = &mut self.agents[id as usize];
            agent.conditions.clear();
            agent.track = None;
            self.reconcile(id, now, &mut out);
            self.agents[id as usize].resumable.clear();
        }
        out
    }

    /// Time passed: the episodes whose threshold (or twice it) is now reached.
    pub fn tick(&mut self, now: Millis) -> Vec<AlertChange> {
        let mut out = Vec::new();
        while let Some((at, id, rule)) = self.index.queue.first().cloned() {
            if at > now {
                break;
            }
            self.index.queue.remove(&(at, id, rule.clone()));
            let agent = &mut self.agents[id as usize];
            if let Some(episode) = agent.episodes.iter_mut().find(|e| e.rule == rule) {
                episode.next = None;
                evaluate(episode, id, &agent.who, now, &mut self.index, &mut out);
            }
        }
        out
    }

    /// When the next threshold crossing is due (the earliest episode to turn amber or red), if
    /// any: the caller's timer for [`Alerts::tick`], so nothing ticks while nothing can change.
    pub fn next_due(&self) -> Option<Millis> {
        self.index.queue.first().map(|(at, _, _)| *at)
    }

    /// Hides one episode from the list and the count; `false` if it is not shown.
    pub fn dismiss(&mut self, key: &AlertKey) -> bool {
        let Some(&id) = self.ids.get(&key.principal) else { return false };
        let agent = &mut self.agents[id as usize];
        let alert = agent.episodes.iter_mut().filter_map(|e| e.alert.as_mut()).find(|a| a.key == *key);
        match alert {
            Some(alert) if !alert.dismissed => {
                alert.dismissed = true;
                self.index.shown.remove(&(Reverse(alert.raised_at), id, key.rule.clone()));
                true
            }
            _ => false,
        }
    }

    /// The shown alerts, newest first.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.index.shown.iter().filter_map(|(_, id, rule)| {
            self.agents[*id as usize].episodes.iter().find(|e| e.rule == *rule).and_then(|e| e.alert.as_ref())
        })
    }

    /// How many alerts are shown (the toolbar badge).
    pub fn count(&self) -> usize {
        self.index.shown.len()
    }

    /// The raised episodes of one agent, dismissed ones included.
    pub fn of(&self, principal: &str) -> impl Iterator<Item = &Alert> {
        let agent = self.ids.get(principal).map(|&id| &self.agents[id as usize]);
        agent.into_iter().flat_map(|a| a.episodes.iter().filter_map(|e| e.alert.as_ref()))
    }

    /// The colour of an agent's row: the highest severity of their raised episodes (a dismissed
    /// one still colours the row; the agent is still over the threshold).
    pub fn severity(&self, principal: &str) -> Option<Severity> {
        self.of(principal).map(|a| a.severity).max()
    }

    fn id(&mut self, principal: &str) -> Id {
        if let Some(&id) = self.ids.get(principal) {
            return id;
        }
        let id = self.agents.len() as Id;
        self.ids.insert(principal.to_owned(), id);
        self.agents.push(Agent {
            who: Who { principal: principal.to_owned(), name: String::new(), team: String::new() },
            online: false,
            conditions: Vec::new(),
            track: None,
            episodes: Vec::new(),
            resumable: Vec::new(),
        });
        id
    }

    /// Brings one agent's episodes in line with their conditions and the thresholds.
    fn reconcile(&mut self, id: Id, now: Millis, out: &mut Vec<AlertChange>) {
        let agent = &mut self.agents[id as usize];
        let wanted: Vec<(Rule, Millis, Millis)> = agent
            .conditions
            .iter()
            .filter_map(|(rule, since)| Some((rule.clone(), *since, self.thresholds.for_rule(rule)?)))
            .collect();
        let (kept, gone): (Vec<Episode>, Vec<Episode>) = std::mem::take(&mut agent.episodes)
            .into_iter()
            .partition(|e| wanted.iter().any(|(rule, since, _)| e.rule == *rule && e.since == *since));
        for episode in gone {
            end(episode, id, &mut agent.resumable, &mut self.index, out);
        }
        agent.episodes = kept;
        for (rule, since, threshold) in wanted {
            let i = match agent.episodes.iter().position(|e| e.rule == rule) {
                Some(i) => i,
                None => {
                    let key = AlertKey { principal: agent.who.principal.clone(), rule: rule.clone(), since };
                    let seen =
                        agent.resumable.iter().position(|s| s.key == key).map(|i| agent.resumable.remove(i).dismissed);
                    agent.episodes.push(Episode { rule, since, threshold, alert: None, seen, next: None });
                    agent.episodes.len() - 1
                }
            };
            let episode = &mut agent.episodes[i];
            episode.threshold = threshold;
            evaluate(episode, id, &agent.who, now, &mut self.index, out);
        }
        // Episodes resume only across an absence; a CCP-closed episode also when the flag comes
        // back within its state (the latest one is kept, so this stays one entry an agent).
        if agent.online {
            let last = agent.resumable.iter().rposition(|s| s.key.rule == Rule::CcpClosed);
            let last = last.map(|i| agent.resumable.swap_remove(i));
            agent.resumable.clear();
            agent.resumable.extend(last);
        }
    }
}

/// Measures one episode at `now`: raises, changes or lowers it, and queues its next crossing.
fn evaluate(e: &mut Episode, id: Id, who: &Who, now: Millis, index: &mut Index, out: &mut Vec<AlertChange>) {
    let severity = Severity::at(now.saturating_sub(e.since), e.threshold);
    let raised_at = e.since.saturating_add(e.threshold);
    match (e.alert.as_mut(), severity) {
        (None, None) => {}
        (None, Some(severity)) => {
            let dismissed = e.seen.unwrap_or(false);
            let key = AlertKey { principal: who.principal.clone(), rule: e.rule.clone(), since: e.since };
            let alert = Alert {
                key,
                name: who.name.clone(),
                team: who.team.clone(),
                severity,
                threshold: e.threshold,
                raised_at,
                dismissed,
            };
            if !dismissed {
                index.shown.insert((Reverse(raised_at), id, e.rule.clone()));
                out.push(if e.seen.is_some() {
                    AlertChange::Updated(alert.clone())
                } else {
                    AlertChange::Started(alert.clone())
                });
            }
            e.seen = Some(dismissed);
            e.alert = Some(alert);
        }
        (Some(alert), Some(severity)) => {
            if alert.severity != severity || alert.raised_at != raised_at {
                if !alert.dismissed {
                    index.shown.remove(&(Reverse(alert.raised_at), id, e.rule.clone()));
                    index.shown.insert((Reverse(raised_at), id, e.rule.clone()));
                }
                alert.severity = severity;
                alert.threshold = e.threshold;
                alert.raised_at = raised_at;
                if !alert.dismissed {
                    out.push(AlertChange::Updated(alert.clone()));
                }
            }
        }
        // A higher threshold than when it was raised: no longer over it.
        (Some(_), None) => {
            if let Some(alert) = e.alert.take() {
                e.seen = Some(alert.dismissed);
                if !alert.dismissed {
                    index.shown.remove(&(Reverse(alert.raised_at), id, e.rule.clone()));
                    out.push(AlertChange::Ended(alert.key));
                }
            }
        }
    }
    let next = match severity {
        None => Some(raised_at),
        Some(Severity::Amber) => Some(e.since.saturating_add(e.threshold.saturating_mul(2))),
        Some(Severity::Red) => None,
    };
    if next != e.next {
        if let Some(at) = e.next {
            index.queue.remove(&(at, id, e.rule.clone()));
        }
        if let Some(at) = next {
            index.queue.insert((at, id, e.rule.clone()));
        }
        e.next = next;
    }
}

/// An episode is over: off the queue and the list, remembered in case the agent comes back.
fn end(e: Episode, id: Id, resumable: &mut Vec<SeenEpisode>, index: &mut Index, out: &mut Vec<AlertChange>) {
    if let Some(at) = e.next {
        index.queue.remove(&(at, id, e.rule.clone()));
    }
    if let Some(alert) = e.alert {
        if !alert.dismissed {
            index.shown.remove(&(Reverse(alert.raised_at), id, e.rule.clone()));
            out.push(AlertChange::Ended(alert.key.clone()));
        }
        resumable.push(SeenEpisode { key: alert.key, dismissed: alert.dismissed });
    }
}

#[cfg(test)]
mod tests;
