//! The floor: every watched agent, grouped by team (the roster), with counts per [`Category`]
//! for each team and for the whole floor, and the rows a virtual list shows for a filter, a sort
//! and the collapsed teams.
//!
//! Cost, so that a floor of thousands stays smooth: [`Board::upsert`] changes one agent in
//! O(log n) (its team's counts and the floor's, and its place in two per-team orders kept
//! sorted: by name and by time in state). [`Board::rows`] walks the teams in those orders,
//! filtering as it goes, with no sort: O(n) for the visible list, run when the view needs it
//! ([`Board::version`] says whether anything changed). Names are folded for search once, when
//! they change.

use std::collections::{BTreeMap, BTreeSet};

use protocol::{Millis, Presence};

use crate::category::Category;
use crate::text::{contains_words, fold};

/// An agent's place on the board; stable while the board lives (also across a removal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId(u32);

/// A team's place on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamId(u32);

/// How many agents are in each category, and in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    total: u32,
    by: BTreeMap<Category, u32>,
}

impl Counts {
    pub fn total(&self) -> u32 {
        self.total
    }

    pub fn get(&self, category: &Category) -> u32 {
        self.by.get(category).copied().unwrap_or(0)
    }

    /// On a contact of any channel.
    pub fn on_contact(&self) -> u32 {
        self.by.iter().filter(|(c, _)| matches!(c, Category::OnContact(_))).map(|(_, n)| n).sum()
    }

    /// The categories with anyone in them, in the floor's order (available, on contact by
    /// channel, ACW, not-routable states by name, error or missed, offline, other).
    pub fn iter(&self) -> impl Iterator<Item = (&Category, u32)> {
        self.by.iter().map(|(c, n)| (c, *n))
    }

    fn add(&mut self, category: &Category) {
        self.total += 1;
        *self.by.entry(category.clone()).or_default() += 1;
    }

    fn remove(&mut self, category: &Category) {
        self.total -= 1;
        if let Some(n) = self.by.get_mut(category) {
            *n -= 1;
            if *n == 0 {
                self.by.remove(category);
            }
        }
    }
}

/// One agent on the board.
#[derive(Debug, Clone)]
pub struct Agent {
    pub presence: Presence,
    pub category: Category,
    pub team: TeamId,
    /// The display name folded, for the name order.
    name_key: String,
    /// Display name, username and principal folded, for search.
    hay: String,
}

impl Agent {
    fn by_time(&self, id: AgentId) -> (bool, Millis, AgentId) {
        (self.category == Category::Offline, self.presence.since, id)
    }
}

/// One team (roster).
#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    pub counts: Counts,
    by_name: BTreeSet<(String, AgentId)>,
    /// Online before offline, then the earliest start (the longest in state) first.
    by_time: BTreeSet<(bool, Millis, AgentId)>,
}

/// The order of agents within a team.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Name,
    /// The longest in their state first; offline agents last.
    LongestInState,
}

/// What the floor shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only these categories (none: all).
    pub categories: BTreeSet<Category>,
    /// Only these teams (none: all).
    pub teams: BTreeSet<String>,
    /// Every word in the name, username or principal, folded (case, width, kana).
    pub text: String,
    pub sort: Sort,
    /// Teams shown by their header alone.
    pub collapsed: BTreeSet<String>,
}

/// One row of the floor's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A team's header: `shown` of its agents match the query.
    Team {
        team: TeamId,
        shown: u32,
        collapsed: bool,
    },
    Agent(AgentId),
}

#[derive(Debug, Clone, Default)]
pub struct Board {
    ids: BTreeMap<String, AgentId>,
    agents: Vec<Option<Agent>>,
    team_ids: BTreeMap<String, TeamId>,
    teams: Vec<Team>,
    total: Counts,
    version: u64,
}

impl Board {
    pub fn new() -> Self {
        Self::default()
    }

    /// An agent's presence arrived or changed.
    pub fn upsert(&mut self, presence: Presence) -> AgentId {
        let next = AgentId(self.agents.len() as u32);
        let id = *self.ids.entry(presence.principal.clone()).or_insert(next);
        if id == next {
            self.agents.push(None);
        }
        let old = self.agents[id.0 as usize].take();
        if old.as_ref().is_some_and(|a| a.presence == presence) {
            self.agents[id.0 as usize] = old;
            return id;
        }
        let names_of = |p: &Presence| (p.display_name.clone(), p.username.clone(), p.principal.clone());
        let (name_key, hay) = match old {
            Some(old) => {
                self.detach(id, &old);
                if names_of(&old.presence) == names_of(&presence) { (old.name_key, old.hay) } else { keys(&presence) }
            }
            None => keys(&presence),
        };
        let team = self.team_id(&presence.roster);
        let agent = Agent { category: Category::of(&presence), presence, team, name_key, hay };
        self.attach(id, &agent);
        self.agents[id.0 as usize] = Some(agent);
        self.version += 1;
        id
    }

    /// An agent left the watched rosters; `false` if they were not on the board.
    pub fn remove(&mut self, principal: &str) -> bool {
        let Some(&id) = self.ids.get(principal) else { return false };
        let Some(old) = self.agents[id.0 as usize].take() else { return false };
        self.detach(id, &old);
        self.version += 1;
        true
    }

    pub fn id(&self, principal: &str) -> Option<AgentId> {
        self.ids.get(principal).copied().filter(|id| self.agents[id.0 as usize].is_some())
    }

    pub fn agent(&self, id: AgentId) -> Option<&Agent> {
        self.agents.get(id.0 as usize).and_then(Option::as_ref)
    }

    pub fn team(&self, id: TeamId) -> &Team {
        &self.teams[id.0 as usize]
    }

    /// The teams with anyone in them, by name.
    pub fn teams(&self) -> impl Iterator<Item = &Team> {
        self.team_ids.values().map(|id| self.team(*id)).filter(|t| t.counts.total > 0)
    }

    /// The whole floor's counts (the total line).
    pub fn total(&self) -> &Counts {
        &self.total
    }

    pub fn len(&self) -> usize {
        self.total.total as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes whenever an agent does: the view asks for rows again only then (and when its
    /// query changes).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The list for `query`: each team with a match (every team with anyone, with no filter),
    /// by name, as a header and then, unless collapsed, its matching agents in the sort order.
    pub fn rows(&self, query: &Query) -> Vec<Row> {
        let words = fold(&query.text);
        let filtering = !query.categories.is_empty() || !words.trim().is_empty();
        let matches = |id: &AgentId| {
            self.agent(*id).is_some_and(|a| {
                (query.categories.is_empty() || query.categories.contains(&a.category))
                    && contains_words(&a.hay, &words)
            })
        };
        let mut rows = Vec::new();
        for (name, &team_id) in &self.team_ids {
            let team = self.team(team_id);
            if team.counts.total == 0 || !(query.teams.is_empty() || query.teams.contains(name)) {
                continue;
            }
            let collapsed = query.collapsed.contains(name);
            let header = rows.len();
            rows.push(Row::Team { team: team_id, shown: 0, collapsed });
            let shown = match (filtering, collapsed, query.sort) {
                (false, true, _) => team.counts.total,
                (_, _, Sort::Name) => {
                    push(&mut rows, team.by_name.iter().map(|(_, id)| *id).filter(matches), collapsed)
                }
                (_, _, Sort::LongestInState) => {
                    push(&mut rows, team.by_time.iter().map(|(_, _, id)| *id).filter(matches), collapsed)
                }
            };
            if shown == 0 {
                rows.truncate(header);
            } else {
                rows[header] = Row::Team { team: team_id, shown, collapsed };
            }
        }
        rows
    }

    fn team_id(&mut self, name: &str) -> TeamId {
        if let Some(&id) = self.team_ids.get(name) {
            return id;
        }
        let id = TeamId(self.teams.len() as u32);
        self.team_ids.insert(name.to_owned(), id);
        self.teams.push(Team {
            name: name.to_owned(),
            counts: Counts::default(),
            by_name: BTreeSet::new(),
            by_time: BTreeSet::new(),
        });
        id
    }

    fn attach(&mut self, id: AgentId, agent: &Agent) {
        self.total.add(&agent.category);
        let team = &mut self.teams[agent.team.0 as usize];
        team.counts.add(&agent.category);
        team.by_name.insert((agent.name_key.clone(), id));
        team.by_time.insert(agent.by_time(id));
    }

    fn detach(&mut self, id: AgentId, agent: &Agent) {
        self.total.remove(&agent.category);
        let team = &mut self.teams[agent.team.0 as usize];
        team.counts.remove(&agent.category);
        team.by_name.remove(&(agent.name_key.clone(), id));
        team.by_time.remove(&agent.by_time(id));
    }
}

/// The folded name (for order) and search text of a presence.
fn keys(p: &Presence) -> (String, String) {
    let username = p.username.as_deref().unwrap_or_default();
    (fold(&p.display_name), fold(&format!("{} {username} {}", p.display_name, p.principal)))
}

/// Pushes the agents unless `collapsed`; how many there were.
fn push(rows: &mut Vec<Row>, ids: impl Iterator<Item = AgentId>, collapsed: bool) -> u32 {
    let mut n = 0;
    for id in ids {
        n += 1;
        if !collapsed {
            rows.push(Row::Agent(id));
        }
    }
    n
}

#[cfg(test)]
mod tests;
