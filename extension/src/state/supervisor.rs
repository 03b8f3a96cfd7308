//! A supervisor's floor in the panel (plain Rust, host-tested in `state/tests.rs`): the board
//! and the alerts over the presence the worker sends, the query the Floor view shows, the teams
//! watched, dismissals, and whether the floor is being looked at.
//!
//! The alerts are the `floor` crate's, as the worker's are, so both raise the same episodes;
//! dismissals go through the worker, which tells every panel ([`FloorState::dismissed`]).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use ::floor::{AlertChange, Alerts, Board, Category, Query, Row, Sort, Thresholds};
use protocol::{AlertKey, Channel, Millis, Presence};

/// The floor as the panel keeps it.
#[derive(Debug, Clone, Default)]
pub struct FloorState {
    pub board: Board,
    pub alerts: Alerts,
    /// Filters, sort and collapsed teams; `query.teams` are the teams watched.
    pub query: Query,
    /// The episodes dismissed (told by the worker, or here).
    dismissed: BTreeSet<AlertKey>,
    /// The rows of the last query, by board version: the view asks on every tick.
    rows: RefCell<Option<Rows>>,
}

/// Rows as computed for a board version and a query.
type Rows = (u64, Query, Rc<Vec<Row>>);

impl FloorState {
    /// Everything again: a snapshot, or the panel became a supervisor's.
    pub fn reset(&mut self, roster: &[Presence], watch: Option<Vec<String>>, dismissed: Vec<AlertKey>, now: Millis) {
        let thresholds = self.alerts.thresholds().clone();
        let seen = dismissed.iter().map(|key| ::floor::alerts::SeenEpisode { key: key.clone(), dismissed: true });
        self.alerts = Alerts::restore(thresholds, seen.collect());
        self.dismissed = dismissed.into_iter().collect();
        self.board = Board::new();
        self.watching(watch);
        self.roster(&[], roster, now);
    }

    /// The whole roster replaced (`before`, by `roster`).
    pub fn roster(&mut self, before: &[Presence], roster: &[Presence], now: Millis) {
        let kept: BTreeSet<&str> = roster.iter().map(|p| p.principal.as_str()).collect();
        let mut board = Board::new();
        for p in roster {
            board.upsert(p.clone());
        }
        self.board = board;
        let mut changes = Vec::new();
        for p in before.iter().filter(|p| !kept.contains(p.principal.as_str())) {
            changes.extend(self.alerts.remove(&p.principal, now));
        }
        for p in roster {
            changes.extend(self.alerts.update(p, now));
        }
        self.absorb(changes);
    }

    /// One agent's presence.
    pub fn presence(&mut self, presence: &Presence, now: Millis) {
        let changes = self.alerts.update(presence, now);
        self.absorb(changes);
        self.board.upsert(presence.clone());
    }

    /// The clock moved: the crossings due. Whether the alerts changed.
    pub fn tick(&mut self, now: Millis) -> bool {
        let changes = self.alerts.tick(now);
        let changed = !changes.is_empty();
        self.absorb(changes);
        changed
    }

    pub fn set_thresholds(&mut self, thresholds: Thresholds, now: Millis) {
        if &thresholds != self.alerts.thresholds() {
            let changes = self.alerts.set_thresholds(thresholds, now);
            self.absorb(changes);
        }
    }

    /// Episodes dismissed in some panel.
    pub fn dismissed(&mut self, keys: Vec<AlertKey>) {
        for key in keys {
            self.alerts.dismiss(&key);
            self.dismissed.insert(key);
        }
    }

    /// The teams the worker says are watched (`None`: all).
    pub fn watching(&mut self, rosters: Option<Vec<String>>) {
        self.query.teams = rosters.unwrap_or_default().into_iter().collect();
    }

    /// An episode dismissed in a panel stays hidden when this panel raises it later (its clock
    /// or its first sight of the agent may differ from the worker's by a moment).
    fn absorb(&mut self, changes: Vec<AlertChange>) {
        for change in changes {
            if let AlertChange::Started(a) | AlertChange::Updated(a) = change
                && self.dismissed.contains(&a.key)
            {
                self.alerts.dismiss(&a.key);
            }
        }
    }

    /// The list's rows for the query now (computed again only when the board or the query
    /// changed).
    pub fn rows(&self) -> Rc<Vec<Row>> {
        let version = self.board.version();
        let mut cached = self.rows.borrow_mut();
        if let Some((v, q, rows)) = cached.as_ref()
            && *v == version
            && *q == self.query
        {
            return rows.clone();
        }
        let rows = Rc::new(self.board.rows(&self.query));
        *cached = Some((version, self.query.clone(), rows.clone()));
        rows
    }

    /// The shown alerts of the teams watched, newest first.
    pub fn active(&self) -> impl Iterator<Item = &::floor::Alert> {
        self.alerts.active().filter(|a| self.query.teams.is_empty() || self.query.teams.contains(&a.team))
    }

    /// Every team on the floor, by name (for the team filter).
    pub fn teams(&self) -> Vec<String> {
        self.board.teams().map(|t| t.name.clone()).collect()
    }

    pub fn set_sort(&mut self, sort: Sort) {
        self.query.sort = sort;
    }

    /// Only `category` (by [`category_key`]), or every category for `""`.
    pub fn filter(&mut self, key: &str) {
        self.query.categories = parse_category(key).into_iter().collect();
    }

    pub fn search(&mut self, text: String) {
        self.query.text = text;
    }

    pub fn toggle_team(&mut self, team: &str) {
        if !self.query.collapsed.remove(team) {
            self.query.collapsed.insert(team.to_owned());
        }
    }
}

/// A category as a form value: `available`, `contact:voice`, `acw`, `not_routable:休憩`,
/// `error`, `offline`, `other`.
pub fn category_key(category: &Category) -> String {
    match category {
        Category::Available => "available".into(),
        Category::OnContact(channel) => format!("contact:{}", channel_key(*channel)),
        Category::Acw => "acw".into(),
        Category::NotRoutable(state) => format!("not_routable:{state}"),
        Category::ErrorOrMissed => "error".into(),
        Category::Offline => "offline".into(),
        Category::Other => "other".into(),
    }
}

/// The category of a form value ([`category_key`]); `None` for anything else (all).
pub fn parse_category(key: &str) -> Option<Category> {
    Some(match key {
        "available" => Category::Available,
        "acw" => Category::Acw,
        "error" => Category::ErrorOrMissed,
        "offline" => Category::Offline,
        "other" => Category::Other,
        _ => match key.split_once(':')? {
            ("contact", channel) => Category::OnContact(Channel::ALL.into_iter().find(|c| channel_key(*c) == channel)?),
            ("not_routable", state) if !state.is_empty() => Category::NotRoutable(state.to_owned()),
            _ => return None,
        },
    })
}

/// A channel's name in message keys (`cat_contact_voice`).
pub fn channel_key(channel: Channel) -> &'static str {
    match channel {
        Channel::Voice => "voice",
        Channel::Chat => "chat",
        Channel::Task => "task",
        Channel::Email => "email",
    }
}
