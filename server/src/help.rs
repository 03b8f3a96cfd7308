//! Help requests: the rules of their life (what an ask must hold, who may change a request and
//! how), the live ones (open or taken) in memory, and the day's figures per roster. Nothing here
//! does I/O: the handlers in `requests/help.rs` store and deliver what these functions decide.
//!
//! A request only moves forward: `open` → `taken` → `closed`, or `open` → `cancelled`. Only the
//! asking agent cancels, only a supervisor watching the roster takes (never their own), only the
//! taker closes. Repeating a change one has already made changes nothing and is not an error,
//! so a client may resend after a lost reply.

use std::collections::{BTreeMap, BTreeSet};

use protocol::help::{MAX_NOTE_CHARS, MAX_REASON_CHARS};
use protocol::{ErrorCode, HelpRequest, HelpStats, HelpStatus, Millis};

pub use crate::chat::Refused;
use crate::chat::refused;

/// A change to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Cancel,
    Take,
    Close,
}

/// Who asks for a change, as the connection knows them.
pub struct Actor<'a> {
    pub principal: &'a str,
    pub display_name: &'a str,
    pub supervisor: bool,
    /// Whether a subscription of theirs covers the request's roster.
    pub watches: bool,
}

/// What a change leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The request as it now is, to store and announce.
    Changed(HelpRequest),
    /// The actor had already made this change: nothing to store or announce.
    Unchanged(HelpRequest),
}

/// How far back the day's figures may reach (a client's local midnight is always within a day).
pub const MAX_STATS_AGE_MS: Millis = 7 * 24 * 60 * 60 * 1000;

/// An ask holds a reason of 1 to [`MAX_REASON_CHARS`] characters (not blank) and a note of at
/// most [`MAX_NOTE_CHARS`]. Characters are Unicode scalar values, as clients count them.
pub fn check_ask(reason: &str, note: &str) -> Result<(), Refused> {
    if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return refused(ErrorCode::Invalid, format!("reason must be 1 to {MAX_REASON_CHARS} characters"));
    }
    let chars = note.chars().count();
    if chars > MAX_NOTE_CHARS {
        return refused(
            ErrorCode::TooLarge,
            format!("note of {chars} characters exceeds the limit of {MAX_NOTE_CHARS}"),
        );
    }
    Ok(())
}

/// The figures asked for start within the last [`MAX_STATS_AGE_MS`], and not after `now`.
pub fn check_since(since: Millis, now: Millis) -> Result<(), Refused> {
    if since > now || now - since > MAX_STATS_AGE_MS {
        return refused(ErrorCode::Invalid, "since must lie within the last 7 days");
    }
    Ok(())
}

/// Applies `action` by `actor` to `request` at `now`. Permission comes first, so nobody learns
/// more of a request they may not change than that it exists.
pub fn decide(request: &HelpRequest, action: Action, actor: &Actor<'_>, now: Millis) -> Result<Outcome, Refused> {
    let mut next = request.clone();
    let taken_by_actor = request.taken_by.as_deref() == Some(actor.principal);
    let ended = || refused(ErrorCode::AlreadyEnded, format!("the request is {}", request.status.as_str()));
    match action {
        Action::Cancel => {
            if request.agent != actor.principal {
                return refused(ErrorCode::Forbidden, "only the agent who asked may cancel a help request");
            }
            match request.status {
                HelpStatus::Open => {
                    next.status = HelpStatus::Cancelled;
                    next.ended_at = Some(now);
                }
                HelpStatus::Cancelled => return Ok(Outcome::Unchanged(next)),
                HelpStatus::Taken => return refused(ErrorCode::AlreadyTaken, taken_message(request)),
                HelpStatus::Closed => return ended(),
            }
        }
        Action::Take => {
            if !actor.supervisor {
                return refused(ErrorCode::Forbidden, "only supervisors take help requests");
            }
            if request.agent == actor.principal {
                return refused(ErrorCode::Forbidden, "nobody takes their own help request");
            }
            if !actor.watches {
                return refused(ErrorCode::Forbidden, "subscribe to the request's roster to take it");
            }
            match request.status {
                HelpStatus::Open => {
                    next.status = HelpStatus::Taken;
                    next.taken_by = Some(actor.principal.to_owned());
                    next.taken_by_name = Some(actor.display_name.to_owned());
                    next.taken_at = Some(now);
                }
                HelpStatus::Taken if taken_by_actor => return Ok(Outcome::Unchanged(next)),
                HelpStatus::Taken => return refused(ErrorCode::AlreadyTaken, taken_message(request)),
                HelpStatus::Closed | HelpStatus::Cancelled => return ended(),
            }
        }
        Action::Close => {
            if !taken_by_actor {
                return refused(ErrorCode::Forbidden, "only the supervisor who took a help request closes it");
            }
            match request.status {
                HelpStatus::Taken => {
                    next.status = HelpStatus::Closed;
                    next.ended_at = Some(now);
                }
                HelpStatus::Closed => return Ok(Outcome::Unchanged(next)),
                // A request with a taker is taken or closed; nothing else can follow.
                HelpStatus::Open | HelpStatus::Cancelled => return ended(),
            }
        }
    }
    Ok(Outcome::Changed(next))
}

fn taken_message(request: &HelpRequest) -> String {
    let name = request.taken_by_name.as_deref().or(request.taken_by.as_deref()).unwrap_or("a supervisor");
    format!("{name} has already taken the request")
}

/// The live requests (open or taken), by id: what the relay serves without reading the store.
#[derive(Debug, Default)]
pub struct HelpDesk {
    live: BTreeMap<u64, HelpRequest>,
    /// Requests seen ending, latest last: news of one from another node may arrive after its
    /// end, and must not bring it back.
    ended: std::collections::VecDeque<u64>,
}

/// How many ended requests a desk remembers (a day's worth many times over).
const ENDED_KEPT: usize = 4096;

/// How far along a request is; changes only move forward.
fn rank(status: HelpStatus) -> u8 {
    match status {
        HelpStatus::Open => 0,
        HelpStatus::Taken => 1,
        HelpStatus::Closed | HelpStatus::Cancelled => 2,
    }
}

impl HelpDesk {
    /// The desk as the store left it (its live requests, after a restart).
    pub fn new(live: Vec<HelpRequest>) -> Self {
        let mut desk = Self::default();
        for request in live {
            desk.apply(request);
        }
        desk
    }

    pub fn get(&self, id: u64) -> Option<&HelpRequest> {
        self.live.get(&id)
    }

    /// The agent's open request: asking again while one waits answers with it.
    pub fn open_of(&self, agent: &str) -> Option<&HelpRequest> {
        self.live.values().find(|r| r.agent == agent && r.status == HelpStatus::Open)
    }

    /// Takes a stored request: kept while live, dropped once ended. Forward only: news older
    /// than what the desk holds (from another node, out of order) changes nothing.
    pub fn apply(&mut self, request: HelpRequest) {
        if request.status.live() {
            let behind = self.live.get(&request.id).is_some_and(|held| rank(held.status) > rank(request.status));
            if !behind && !self.ended.contains(&request.id) {
                self.live.insert(request.id, request);
            }
        } else {
            self.live.remove(&request.id);
            if !self.ended.contains(&request.id) {
                if self.ended.len() == ENDED_KEPT {
                    self.ended.pop_front();
                }
                self.ended.push_back(request.id);
            }
        }
    }

    /// The live requests `principal` may see, oldest first: their own, and those of rosters
    /// `watches` (a supervisor's subscriptions) covers.
    pub fn visible(&self, principal: &str, watches: impl Fn(&str) -> bool) -> Vec<HelpRequest> {
        self.live.values().filter(|r| r.agent == principal || watches(&r.roster)).cloned().collect()
    }
}

/// Per roster, the figures of `asked` (the requests asked since a moment) for the rosters
/// `watches` covers, and a row of zeros for each roster in `named` that had none; by roster name.
pub fn stats(asked: &[HelpRequest], watches: impl Fn(&str) -> bool, named: &BTreeSet<String>) -> Vec<HelpStats> {
    let mut by_roster: BTreeMap<&str, Vec<&HelpRequest>> = named.iter().map(|r| (r.as_str(), Vec::new())).collect();
    for request in asked.iter().filter(|r| watches(&r.roster)) {
        by_roster.entry(request.roster.as_str()).or_default().push(request);
    }
    by_roster
        .into_iter()
        .map(|(roster, requests)| {
            let mut waits: Vec<Millis> = requests.iter().filter_map(|r| r.wait_ms()).collect();
            waits.sort_unstable();
            let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            HelpStats {
                roster: roster.to_owned(),
                asked: count(requests.len()),
                taken: count(waits.len()),
                cancelled: count(requests.iter().filter(|r| r.status == HelpStatus::Cancelled).count()),
                median_wait_ms: median(&waits),
                longest_wait_ms: waits.last().copied(),
            }
        })
        .collect()
}

/// The median of sorted values: the middle one, or the mean of the two middle ones.
fn median(sorted: &[Millis]) -> Option<Millis> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(id: u64, agent: &str, roster: &str, asked_at: Millis) -> HelpRequest {
        HelpRequest {
            id,
            agent: agent.into(),
            display_name: agent.into(),
            roster: roster.into(),
            reason: "complaint".into(),
            note: String::new(),
            asked_at,
            status: HelpStatus::Open,
            taken_by: None,
            taken_by_name: None,
            taken_at: None,
            ended_at: None,
        }
    }

    fn actor(principal: &str, supervisor: bool, watches: bool) -> Actor<'_> {
        Actor { principal, display_name: "Taro", supervisor, watches }
    }

    fn changed(outcome: Result<Outcome, Refused>) -> HelpRequest {
        match outcome {
            Ok(Outcome::Changed(r)) => r,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn code(outcome: Result<Outcome, Refused>) -> ErrorCode {
        outcome.expect_err("refused").code
    }

    #[test]
    fn an_ask_holds_a_reason_and_a_short_note() {
        assert!(check_ask("complaint", "").is_ok());
        assert!(check_ask("お客様からの苦情", &"あ".repeat(MAX_NOTE_CHARS)).is_ok(), "counted in characters");
        assert_eq!(check_ask(" ", "").unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_ask(&"x".repeat(MAX_REASON_CHARS + 1), "").unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_ask("other", &"x".repeat(MAX_NOTE_CHARS + 1)).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn a_request_is_taken_once_then_closed_by_its_taker() {
        let request = open(1, "aiko", "tokyo", 1_000);
        let taro = actor("taro", true, true);
        let taken = changed(decide(&request, Action::Take, &taro, 4_000));
        assert_eq!(
            (taken.status, taken.taken_by.as_deref(), taken.taken_at),
            (HelpStatus::Taken, Some("taro"), Some(4_000))
        );
        assert_eq!(taken.taken_by_name.as_deref(), Some("Taro"));
        assert_eq!(taken.wait_ms(), Some(3_000));
        // Taking it again (a resend) changes nothing; anyone else is told who has it.
        assert_eq!(decide(&taken, Action::Take, &taro, 5_000), Ok(Outcome::Unchanged(taken.clone())));
        let refusal = decide(&taken, Action::Take, &actor("hana", true, true), 5_000).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::AlreadyTaken);
        assert!(refusal.message.contains("Taro"), "{}", refusal.message);
        // Only the taker closes it; the agent can no longer cancel it.
        assert_eq!(code(decide(&taken, Action::Close, &actor("hana", true, true), 6_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&taken, Action::Cancel, &actor("aiko", false, false), 6_000)), ErrorCode::AlreadyTaken);
        let closed = changed(decide(&taken, Action::Close, &taro, 9_000));
        assert_eq!((closed.status, closed.ended_at), (HelpStatus::Closed, Some(9_000)));
        assert_eq!(decide(&closed, Action::Close, &taro, 9_500), Ok(Outcome::Unchanged(closed.clone())));
        assert_eq!(code(decide(&closed, Action::Take, &actor("hana", true, true), 9_500)), ErrorCode::AlreadyEnded);
    }

    #[test]
    fn only_supervisors_watching_the_roster_take_and_only_the_agent_cancels() {
        let request = open(1, "aiko", "tokyo", 1_000);
        assert_eq!(code(decide(&request, Action::Take, &actor("ben", false, true), 2_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&request, Action::Take, &actor("sam", true, false), 2_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&request, Action::Take, &actor("aiko", true, true), 2_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&request, Action::Cancel, &actor("ben", false, false), 2_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&request, Action::Cancel, &actor("taro", true, true), 2_000)), ErrorCode::Forbidden);
        assert_eq!(code(decide(&request, Action::Close, &actor("taro", true, true), 2_000)), ErrorCode::Forbidden);
        let cancelled = changed(decide(&request, Action::Cancel, &actor("aiko", false, false), 2_000));
        assert_eq!((cancelled.status, cancelled.ended_at), (HelpStatus::Cancelled, Some(2_000)));
        let again = decide(&cancelled, Action::Cancel, &actor("aiko", false, false), 3_000);
        assert_eq!(again, Ok(Outcome::Unchanged(cancelled.clone())));
        assert_eq!(code(decide(&cancelled, Action::Take, &actor("taro", true, true), 3_000)), ErrorCode::AlreadyEnded);
    }

    #[test]
    fn the_desk_keeps_live_requests_and_shows_each_person_theirs() {
        let mut desk = HelpDesk::new(vec![open(1, "aiko", "tokyo", 1), open(2, "chen", "osaka", 2)]);
        assert_eq!(desk.open_of("aiko").map(|r| r.id), Some(1));
        let ids = |v: Vec<HelpRequest>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(desk.visible("aiko", |_| false)), [1], "an agent sees their own");
        assert_eq!(ids(desk.visible("sam", |r| r == "osaka")), [2], "a supervisor the rosters watched");
        assert_eq!(ids(desk.visible("sam", |_| true)), [1, 2]);
        let taken =
            HelpRequest { status: HelpStatus::Taken, taken_by: Some("sam".into()), ..open(1, "aiko", "tokyo", 1) };
        desk.apply(taken);
        assert!(desk.open_of("aiko").is_none(), "taken is no longer open");
        assert!(desk.get(1).is_some(), "but still live");
        desk.apply(HelpRequest { status: HelpStatus::Closed, ..open(1, "aiko", "tokyo", 1) });
        assert!(desk.get(1).is_none(), "ended requests leave the desk");
    }

    #[test]
    fn news_from_another_node_out_of_order_never_moves_a_request_back() {
        let mut desk = HelpDesk::default();
        let taken =
            HelpRequest { status: HelpStatus::Taken, taken_by: Some("sam".into()), ..open(1, "aiko", "tokyo", 1) };
        desk.apply(taken.clone());
        desk.apply(open(1, "aiko", "tokyo", 1));
        assert_eq!(desk.get(1), Some(&taken), "the open news came after the take");
        desk.apply(HelpRequest { status: HelpStatus::Cancelled, ..open(2, "ben", "tokyo", 2) });
        desk.apply(open(2, "ben", "tokyo", 2));
        assert!(desk.get(2).is_none(), "an ended request does not come back");
        assert!(desk.open_of("ben").is_none());
    }

    #[test]
    fn the_figures_count_asks_takes_and_cancels_with_median_and_longest_wait() {
        let taken = |id, roster: &str, asked_at, taken_at| HelpRequest {
            status: HelpStatus::Closed,
            taken_by: Some("sam".into()),
            taken_at: Some(taken_at),
            ..open(id, "aiko", roster, asked_at)
        };
        let asked = vec![
            taken(1, "tokyo", 1_000, 11_000),
            taken(2, "tokyo", 2_000, 32_000),
            taken(3, "tokyo", 3_000, 23_000),
            HelpRequest { status: HelpStatus::Cancelled, ..open(4, "ben", "tokyo", 4_000) },
            open(5, "ben", "tokyo", 5_000),
            taken(6, "osaka", 1_000, 2_000),
            taken(7, "nagoya", 1_000, 9_000),
        ];
        let named: BTreeSet<String> = ["tokyo", "sapporo"].map(String::from).into();
        let stats = stats(&asked, |r| r != "nagoya", &named);
        let rosters: Vec<_> = stats.iter().map(|s| s.roster.as_str()).collect();
        assert_eq!(rosters, ["osaka", "sapporo", "tokyo"], "watched rosters only, named ones even when quiet");
        let tokyo = &stats[2];
        assert_eq!((tokyo.asked, tokyo.taken, tokyo.cancelled), (5, 3, 1));
        assert_eq!((tokyo.median_wait_ms, tokyo.longest_wait_ms), (Some(20_000), Some(30_000)));
        assert_eq!((stats[1].asked, stats[1].median_wait_ms), (0, None));
        assert_eq!(median(&[10, 20]), Some(15));
    }

    #[test]
    fn the_figures_reach_back_a_week_at_most() {
        assert!(check_since(1_000, 1_000 + MAX_STATS_AGE_MS).is_ok());
        assert!(check_since(999, 1_000 + MAX_STATS_AGE_MS).is_err());
        assert!(check_since(2_000, 1_000).is_err(), "not in the future");
    }
}
