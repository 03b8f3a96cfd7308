//! Amazon Connect in the panel (plain Rust, host-tested in `state/tests.rs`): the relay's feed
//! (how fresh the rows from Connect are, the statuses a supervisor may set), the age a row from
//! Connect shows while the feed is stale, and a supervisor's listen-in, barge-in and status change
//! with their outcome, in words whatever happens (never a spinner left turning).

use protocol::panel::PanelToWorker;
use protocol::{ConnectStatus, ErrorCode, Millis, Presence, Source};

use super::{Effect, PanelState};

/// What a supervisor asked Connect to do for an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuperviseAsk {
    Listen,
    Barge,
    /// Set the agent's status to the one named (as the feed names it).
    Status(String),
}

/// How it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuperviseOutcome {
    /// Sent; no answer yet.
    Pending,
    /// Connect put the supervisor on the agent's contact: their CCP has the monitoring contact.
    Listening { barge: bool },
    /// The agent's status is set.
    StatusSet,
    /// Refused or failed, by code; `detail` is the relay's message (Connect's own words for
    /// `connect_failed`), shown beside the panel's words.
    Refused { code: ErrorCode, detail: String },
}

/// The supervisor's last request through Connect, for the line under the floor's tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervising {
    /// The panel's id for it: an answer to an earlier request does not change this one.
    pub id: u64,
    pub agent: String,
    pub ask: SuperviseAsk,
    pub outcome: SuperviseOutcome,
}

impl Supervising {
    pub fn pending(&self) -> bool {
        self.outcome == SuperviseOutcome::Pending
    }
}

impl PanelState {
    /// The statuses a supervisor may set, as Connect lists them (none: the relay does not read
    /// Connect, or has not read it yet).
    pub fn connect_statuses(&self) -> &[ConnectStatus] {
        self.worker.connect_feed.as_ref().map(|f| f.statuses.as_slice()).unwrap_or_default()
    }

    /// Whether the relay reads Connect (it has sent a feed on this sign-in).
    pub fn reads_connect(&self) -> bool {
        self.worker.connect_feed.is_some()
    }

    /// When the presence of a row from Connect (`source: connect`) was read, while the feed is
    /// stale: the row shows its age then. `None` for a row from the extension, or a fresh feed.
    pub fn connect_as_of(&self, p: &Presence) -> Option<Millis> {
        let feed = self.worker.connect_feed.as_ref().filter(|f| f.stale)?;
        (p.source == Source::Connect).then_some(feed.read_at).flatten()
    }

    /// Listen in (or barge in) on `agent`'s contact.
    pub fn monitor(&mut self, agent: String, barge: bool) -> Vec<Effect> {
        if agent.is_empty() || self.supervise_pending() {
            return Vec::new();
        }
        let id = self.request_id();
        let ask = if barge { SuperviseAsk::Barge } else { SuperviseAsk::Listen };
        self.supervising = Some(Supervising { id, agent: agent.clone(), ask, outcome: SuperviseOutcome::Pending });
        vec![Effect::Post(PanelToWorker::MonitorAgent { id, agent, barge })]
    }

    /// Set `agent`'s Connect status to the status `status` (an id the feed lists).
    pub fn set_agent_status(&mut self, agent: String, status: String) -> Vec<Effect> {
        let Some(name) = self.connect_statuses().iter().find(|s| s.id == status).map(|s| s.name.clone()) else {
            return Vec::new();
        };
        if agent.is_empty() || self.supervise_pending() {
            return Vec::new();
        }
        let id = self.request_id();
        let ask = SuperviseAsk::Status(name);
        self.supervising = Some(Supervising { id, agent: agent.clone(), ask, outcome: SuperviseOutcome::Pending });
        vec![Effect::Post(PanelToWorker::SetAgentStatus { id, agent, status })]
    }

    /// Whether a request is on its way (the actions wait for its answer: one at a time).
    pub fn supervise_pending(&self) -> bool {
        self.supervising.as_ref().is_some_and(Supervising::pending)
    }

    /// The supervisor closed the outcome line.
    pub fn dismiss_supervising(&mut self) {
        if !self.supervise_pending() {
            self.supervising = None;
        }
    }

    /// The answer to request `id`, if it is the one shown.
    pub(super) fn supervised(&mut self, id: u64, outcome: SuperviseOutcome) {
        if let Some(s) = self.supervising.as_mut().filter(|s| s.id == id && s.pending()) {
            s.outcome = outcome;
        }
    }

    /// A new snapshot: the worker was restarted (or the panel reconnected to it), so no answer to
    /// a request on its way will come.
    pub(super) fn supervise_reset(&mut self) {
        if let Some(s) = self.supervising.as_mut().filter(|s| s.pending()) {
            s.outcome = SuperviseOutcome::Refused { code: ErrorCode::Unavailable, detail: String::new() };
        }
    }
}
