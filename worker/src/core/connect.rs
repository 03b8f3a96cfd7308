//! Amazon Connect's side of the floor in the worker: the relay's latest word on Connect's data
//! (the [`ConnectFeed`]: how fresh the presence from Connect is, the statuses a supervisor may
//! set), kept for every panel, and a supervisor's requests the relay carries out through Connect
//! (listen in or barge in on an agent's contact, set an agent's status), passed from the panel
//! that asked to the relay and their answers back to it.
//!
//! Decisions:
//! - The feed is kept across reconnects (the relay sends it again after each snapshot) and
//!   forgotten with the person who signed in.
//! - Each request gets the worker's own id on the relay; its answer reaches the panel that asked
//!   under the panel's id. Nothing is retried: listening in or changing someone's status later
//!   than asked would surprise the supervisor. A request that cannot be sent, or whose answer can
//!   no longer come (the connection went), is answered at once with `unavailable`, so no panel
//!   waits for ever.
//! - The relay decides who may do what (supervisors, over the rosters they watch); the worker
//!   does not guess.

use protocol::panel::Connection;
use protocol::{ClientFrame, ConnectFeed, ErrorBody, ErrorCode};

use super::{Core, Effect, PanelId, Waiting, WorkerToPanel};

/// A supervisor's request on its way to the relay, and who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Supervise {
    pub panel: PanelId,
    /// The panel's own id for the request.
    pub id: u64,
    pub agent: String,
    pub what: SuperviseWhat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SuperviseWhat {
    Monitor,
    /// The status id asked for.
    Status(String),
}

impl Core {
    /// The feed a panel's snapshot carries.
    pub(super) fn connect_feed(&self) -> Option<ConnectFeed> {
        self.connect_feed.clone()
    }

    /// The relay's `connect_feed` push.
    pub(super) fn feed_pushed(&mut self, feed: ConnectFeed) -> Vec<Effect> {
        if self.connect_feed.as_ref() == Some(&feed) {
            return Vec::new();
        }
        self.connect_feed = Some(feed.clone());
        vec![Effect::Panels(WorkerToPanel::ConnectFeed { feed: Some(feed) })]
    }

    /// Someone else signed in, or nobody is: the feed was theirs.
    pub(super) fn forget_feed(&mut self) -> Vec<Effect> {
        match self.connect_feed.take() {
            Some(_) => vec![Effect::Panels(WorkerToPanel::ConnectFeed { feed: None })],
            None => Vec::new(),
        }
    }

    /// A panel asks to listen in (or barge in) on `agent`'s contact.
    pub(super) fn monitor_agent(&mut self, panel: PanelId, id: u64, agent: String, barge: bool) -> Vec<Effect> {
        let ask = Supervise { panel, id, agent, what: SuperviseWhat::Monitor };
        self.supervise(ask, |id, agent| ClientFrame::MonitorAgent { id, agent, barge })
    }

    /// A panel asks to set `agent`'s Connect status to `status`.
    pub(super) fn set_agent_status(&mut self, panel: PanelId, id: u64, agent: String, status: String) -> Vec<Effect> {
        let ask = Supervise { panel, id, agent, what: SuperviseWhat::Status(status.clone()) };
        self.supervise(ask, move |id, agent| ClientFrame::SetAgentStatus { id, agent, status })
    }

    fn supervise(&mut self, ask: Supervise, frame: impl FnOnce(u64, String) -> ClientFrame) -> Vec<Effect> {
        if ask.agent.is_empty() {
            return vec![refused(ask, ErrorCode::Invalid, String::new())];
        }
        if self.connection != Connection::Online {
            return vec![refused(ask, ErrorCode::Unavailable, String::new())];
        }
        let id = self.id();
        let agent = ask.agent.clone();
        self.waiting.insert(id, Waiting::Supervise(ask));
        vec![Effect::Relay(frame(id, agent))]
    }

    /// The relay's `monitoring` answer.
    pub(super) fn monitoring(&mut self, id: u64, contact_id: String, barge: bool) -> Vec<Effect> {
        if !matches!(self.waiting.get(&id), Some(Waiting::Supervise(_))) {
            return Vec::new();
        }
        match self.waiting.remove(&id) {
            Some(Waiting::Supervise(Supervise { panel, id, agent, .. })) => {
                vec![Effect::Panel(panel, WorkerToPanel::Monitoring { id, agent, contact_id, barge })]
            }
            _ => Vec::new(),
        }
    }

    /// The relay's `ok` to a status change.
    pub(super) fn status_set(ask: Supervise) -> Vec<Effect> {
        match ask.what {
            SuperviseWhat::Status(status) => {
                vec![Effect::Panel(ask.panel, WorkerToPanel::AgentStatusSet { id: ask.id, agent: ask.agent, status })]
            }
            // `ok` is no answer to a listen-in: the panel is told it failed, not left waiting.
            SuperviseWhat::Monitor => vec![refused(ask, ErrorCode::Internal, String::new())],
        }
    }

    /// The relay refused a request.
    pub(super) fn supervise_refused(ask: Supervise, error: ErrorBody) -> Vec<Effect> {
        vec![refused(ask, error.code, error.message)]
    }

    /// The connection is gone: no answer will come to what was asked on it.
    pub(super) fn supervise_lost(&mut self) -> Vec<Effect> {
        let lost: Vec<u64> =
            self.waiting.iter().filter(|(_, w)| matches!(w, Waiting::Supervise(_))).map(|(id, _)| *id).collect();
        let mut out = Vec::new();
        for id in lost {
            if let Some(Waiting::Supervise(ask)) = self.waiting.remove(&id) {
                out.push(refused(ask, ErrorCode::Unavailable, String::new()));
            }
        }
        out
    }
}

fn refused(ask: Supervise, code: ErrorCode, message: String) -> Effect {
    Effect::Panel(ask.panel, WorkerToPanel::SupervisorRefused { id: ask.id, agent: ask.agent, code, message })
}
