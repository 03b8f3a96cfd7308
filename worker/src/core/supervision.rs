//! The supervisor's floor in the worker: alerts over the watched rosters while no panel need be
//! open, one notification per episode, the toolbar badge, the teams watched, dismissals shared by
//! every panel, and the full-tab floor page.
//!
//! The alert rules and thresholds are the `floor` crate's [`Alerts`], the same the panel keeps,
//! so both raise the same episodes; the worker keeps no board (the panel's concern).
//!
//! Decisions:
//! - A supervisor's connection subscribes to the rosters the policy's `roster` names (the
//!   floor's scope, [`Core::set_scope`]), else to every roster ([`ALL_ROSTERS`]), so the relay
//!   sends nothing, and delivers no help request, outside it. The alerts run over all of it; the
//!   teams chosen within it ([`Core::set_watch`], remembered under [`Key::Watch`])
//!   decide what notifies and counts. So narrowing the choice and widening it again keeps each
//!   episode's memory: nothing is notified twice, and an episode raised while its team was not
//!   watched is shown, not notified, when it is again.
//! - A notification is shown once per episode ([`AlertChange::Started`]), never while a panel
//!   reports its floor visible and focused (the supervisor is looking at the alert list). What
//!   was notified or dismissed is saved ([`Key::AlertsSeen`]), so a restarted worker does neither
//!   again.
//! - The badge counts a supervisor's active alerts when there are any, else unread messages
//!   ([`Core::badge`]): the alerts need acting on now, and unread messages stay counted on the
//!   dock's handle and the chat tab meanwhile. Open help requests count with the alerts.
//! - The toolbar action opens the full-tab floor ([`FLOOR_PAGE`]) for a supervisor, or brings
//!   the one open to the front; for an agent it toggles the dock, as the shortcut does.

use floor::{AlertChange, Alerts};
use protocol::{AlertKey, ClientFrame, Millis, Presence};

use super::{Core, Effect, PanelId, TabId, WorkerToPanel, session};
use crate::storage::{Key, Record};

/// The roster name that subscribes a supervisor to every roster.
pub const ALL_ROSTERS: &str = "*";

/// The full-tab floor, an extension page (the panel in its floor mode).
pub const FLOOR_PAGE: &str = "floor.html";

/// The teams chosen that are inside `scope` (`None` when none are left: all of the scope).
fn within(watch: Option<Vec<String>>, scope: Option<&Vec<String>>) -> Option<Vec<String>> {
    let mut watch = watch?;
    if let Some(scope) = scope {
        watch.retain(|team| scope.contains(team));
    }
    Some(watch).filter(|w| !w.is_empty())
}

/// Whether `watch` (the teams chosen, `None` for all) includes `roster`.
pub(super) fn watched(watch: Option<&Vec<String>>, roster: &str) -> bool {
    watch.is_none_or(|w| w.iter().any(|r| r == roster))
}

impl Core {
    /// A core holding what storage kept of the floor, and the policy's scope.
    pub(super) fn with_floor(mut self, alerts: Alerts, watch: Option<Vec<String>>, scope: Option<Vec<String>>) -> Self {
        self.alerts = alerts;
        self.watch = within(watch, scope.as_ref());
        self.scope = scope;
        self
    }

    /// The subscription of this person's connection: their own roster for an agent; for a
    /// supervisor the rosters of the floor's scope, or every roster.
    pub(super) fn subscription(&self, id: u64) -> ClientFrame {
        match (self.supervising(), &self.scope) {
            (false, _) => ClientFrame::Subscribe { id, roster: None, rosters: Vec::new() },
            (true, None) => ClientFrame::Subscribe { id, roster: Some(ALL_ROSTERS.to_owned()), rosters: Vec::new() },
            (true, Some(rosters)) => ClientFrame::Subscribe { id, roster: None, rosters: rosters.clone() },
        }
    }

    /// The policy's scope changed while signed in as the same person: a supervisor's connection
    /// subscribes again (the relay's snapshot replaces the floor, and agents outside the new
    /// scope leave the alerts with it), the live help requests are read again for the new
    /// scope, and the teams chosen keep only those inside it.
    pub(super) fn set_scope(&mut self, scope: Option<Vec<String>>) -> Vec<Effect> {
        if scope == self.scope {
            return Vec::new();
        }
        self.scope = scope;
        let mut out = self.set_watch(self.watch.clone());
        if self.supervising() && self.connection == protocol::panel::Connection::Online {
            let id = self.id();
            out.push(Effect::Relay(self.subscription(id)));
            out.extend(self.help_refresh());
        }
        out
    }

    pub(super) fn supervising(&self) -> bool {
        self.me.as_ref().is_some_and(|m| m.supervisor)
    }

    /// The toolbar badge: a supervisor's active alerts and open help requests in the teams
    /// watched when there are any, else unread messages.
    pub(super) fn badge(&self) -> Effect {
        let alerts = match (self.supervising(), &self.watch) {
            (false, _) => 0,
            (true, None) => self.alerts.count(),
            (true, watch) => self.alerts.active().filter(|a| watched(watch.as_ref(), &a.team)).count(),
        } + self.help_open();
        Effect::Badge(if alerts > 0 { alerts as u64 } else { self.unread() })
    }

    /// The episodes dismissed and not forgotten yet (for a panel's snapshot).
    pub(super) fn dismissed(&self) -> Vec<AlertKey> {
        if !self.supervising() {
            return Vec::new();
        }
        self.alerts.seen().into_iter().filter(|s| s.dismissed).map(|s| s.key).collect()
    }

    /// One presence (a push).
    pub(super) fn floor_presence(&mut self, presence: &Presence, now: Millis) -> Vec<Effect> {
        if !self.supervising() {
            return Vec::new();
        }
        let changes = self.alerts.update(presence, now);
        self.alerts_changed(changes, now)
    }

    /// The roster was replaced (a snapshot after a subscribe): every agent measured again, those
    /// `gone` from it out of the alerts.
    pub(super) fn floor_roster(&mut self, gone: Vec<String>, now: Millis) -> Vec<Effect> {
        if !self.supervising() {
            return Vec::new();
        }
        let mut changes = Vec::new();
        for principal in gone {
            changes.extend(self.alerts.remove(&principal, now));
        }
        for presence in self.roster.values() {
            changes.extend(self.alerts.update(presence, now));
        }
        self.alerts_changed(changes, now)
    }

    /// What follows changes of the alerts: a notification per new episode of a team watched
    /// (unless a floor is being looked at), what is remembered, the badge, and the timer for
    /// the next crossing.
    fn alerts_changed(&mut self, changes: Vec<AlertChange>, now: Millis) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut remember = false;
        for change in &changes {
            match change {
                AlertChange::Started(alert) => {
                    remember = true;
                    if self.looking.is_empty() && watched(self.watch.as_ref(), &alert.team) {
                        out.push(Effect::NotifyAlert(alert.clone()));
                    }
                }
                AlertChange::Ended(_) => remember = true,
                AlertChange::Updated(_) => {}
            }
        }
        if remember {
            out.push(Effect::Save(Record::AlertsSeen(self.alerts.seen())));
        }
        if !changes.is_empty() {
            out.push(self.badge());
        }
        out.extend(self.alert_timer(now));
        out
    }

    /// Sets the alert timer to the next crossing, if that changed.
    fn alert_timer(&mut self, now: Millis) -> Option<Effect> {
        let due = self.alerts.next_due();
        if due == self.alert_due {
            return None;
        }
        self.alert_due = due;
        Some(match due {
            Some(at) => session::set_timer(session::Timer::Alerts, at - now),
            None => Effect::CancelTimer(session::Timer::Alerts),
        })
    }

    /// The alert timer fired: the crossings due.
    pub(super) fn alerts_due(&mut self, now: Millis) -> Vec<Effect> {
        self.alert_due = None;
        let changes = self.alerts.tick(now);
        self.alerts_changed(changes, now)
    }

    /// New thresholds (policy or the options page): every watched agent measured against them.
    pub(super) fn set_thresholds(&mut self, thresholds: floor::Thresholds, now: Millis) -> Vec<Effect> {
        if &thresholds == self.alerts.thresholds() {
            return Vec::new();
        }
        let changes = self.alerts.set_thresholds(thresholds, now);
        self.alerts_changed(changes, now)
    }

    /// A panel chose the teams its floor shows (`None` or none chosen: all); remembered, told to
    /// every panel, and counted by the badge.
    pub(super) fn set_watch(&mut self, rosters: Option<Vec<String>>) -> Vec<Effect> {
        let rosters = rosters.map(|mut r| {
            r.sort();
            r.dedup();
            r
        });
        let rosters = within(rosters, self.scope.as_ref());
        if !self.supervising() || rosters == self.watch {
            return Vec::new();
        }
        self.watch = rosters.clone();
        vec![
            match &rosters {
                Some(r) => Effect::Save(Record::Watch(r.clone())),
                None => Effect::Remove(Key::Watch),
            },
            Effect::Panels(WorkerToPanel::Watching { rosters }),
            self.badge(),
        ]
    }

    /// A panel dismissed an episode: hidden in every panel and from the badge, and remembered.
    pub(super) fn dismiss_alert(&mut self, key: &AlertKey) -> Vec<Effect> {
        if !self.supervising() || !self.alerts.dismiss(key) {
            return Vec::new();
        }
        vec![
            Effect::Panels(WorkerToPanel::Dismissed { keys: vec![key.clone()] }),
            Effect::Save(Record::AlertsSeen(self.alerts.seen())),
            self.badge(),
        ]
    }

    /// Someone else signed in, or nobody is: the floor's alerts and choices are theirs alone.
    pub(super) fn forget_floor(&mut self) -> Vec<Effect> {
        self.alerts = Alerts::new(self.alerts.thresholds().clone());
        self.watch = None;
        self.alert_due = None;
        vec![Effect::Remove(Key::Watch), Effect::Remove(Key::AlertsSeen), Effect::CancelTimer(session::Timer::Alerts)]
    }

    /// The full-tab floor page connected.
    pub fn floor_opened(&mut self, panel: PanelId, tab: Option<TabId>) -> Vec<Effect> {
        self.floors.insert(panel, tab);
        self.panel_opened(panel, tab)
    }

    /// Opens the full-tab floor for a supervisor, or brings the open one to the front.
    pub(super) fn open_floor(&self) -> Vec<Effect> {
        if !self.supervising() {
            return Vec::new();
        }
        match self.floors.values().find_map(|tab| *tab) {
            Some(tab) => vec![Effect::FocusTab(tab)],
            None => vec![Effect::OpenPage(FLOOR_PAGE)],
        }
    }

    /// The toolbar action was clicked: the full-tab floor for a supervisor, else the dock.
    pub fn action_clicked(&self) -> Vec<Effect> {
        if self.supervising() { self.open_floor() } else { self.toggle_dock() }
    }

    /// A notification was clicked: an alert's opens the floor.
    pub fn notification_clicked(&self, id: &str) -> Vec<Effect> {
        if id.starts_with(ALERT_NOTIFICATION) || id.starts_with(super::HELP_NOTIFICATION) {
            self.open_floor()
        } else {
            Vec::new()
        }
    }
}

/// The prefix of an alert notification's id (`alert:<principal>`).
pub const ALERT_NOTIFICATION: &str = "alert:";

/// The notification id of an alert: one per agent, so a new alert replaces the agent's last.
pub fn alert_notification_id(alert: &floor::Alert) -> String {
    format!("{ALERT_NOTIFICATION}{}", alert.key.principal)
}
