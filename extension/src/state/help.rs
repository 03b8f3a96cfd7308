//! Help requests in the panel (plain Rust, host-tested in `state/tests.rs`): an agent's ask
//! (the form, then their request until it is closed), a supervisor's list of requests with take
//! and close, who is helping whom, the chat a take opens with the note as its context, and the
//! day's figures from the panel's local midnight.

use protocol::panel::PanelToWorker;
use protocol::{ErrorCode, HelpRequest, HelpStats, HelpStatus, Millis};

use super::{Effect, PanelState};

/// The form an agent fills in to ask for help.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelpForm {
    pub reason: String,
    pub note: String,
}

/// What the agent's help card shows.
#[derive(Debug, PartialEq, Eq)]
pub enum AgentHelp<'a> {
    /// The "Ask for help" button.
    Idle,
    /// The form is open.
    Form(&'a HelpForm),
    /// Sent; the relay has not answered yet.
    Asking,
    /// Waiting for a supervisor; `reach`: how many were told (0: none is connected).
    Open(&'a HelpRequest, Option<u32>),
    /// A supervisor is on it.
    Taken(&'a HelpRequest),
}

/// The day's figures summed over teams: requests asked and, over those taken, the longest wait.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DayTotal {
    pub asked: u32,
    pub taken: u32,
    pub cancelled: u32,
    pub longest_wait_ms: Option<Millis>,
}

impl PanelState {
    /// The reasons offered: the policy's, else the defaults (keys the panel translates).
    pub fn help_reasons(&self) -> Vec<String> {
        if self.help_reasons.is_empty() {
            protocol::help::DEFAULT_HELP_REASONS.iter().map(|r| (*r).to_owned()).collect()
        } else {
            self.help_reasons.clone()
        }
    }

    /// The reasons managed policy sets (none: the defaults).
    pub fn set_help_reasons(&mut self, reasons: Vec<String>) {
        let reasons: Vec<String> = reasons
            .into_iter()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty() && r.chars().count() <= protocol::help::MAX_REASON_CHARS)
            .collect();
        if let Some(form) = &mut self.help_form
            && !reasons.is_empty()
            && !reasons.contains(&form.reason)
        {
            form.reason = reasons[0].clone();
        }
        self.help_reasons = reasons;
    }

    /// This person's own live request.
    pub fn my_help(&self) -> Option<&HelpRequest> {
        let me = self.me();
        self.worker.help.iter().find(|r| r.agent == me)
    }

    /// What the agent's help card shows now.
    pub fn agent_help(&self) -> AgentHelp<'_> {
        match self.my_help() {
            Some(r) if r.status == HelpStatus::Taken => AgentHelp::Taken(r),
            Some(r) => AgentHelp::Open(r, self.worker.help_reach),
            None if self.worker.help_asking => AgentHelp::Asking,
            None => match &self.help_form {
                Some(form) => AgentHelp::Form(form),
                None => AgentHelp::Idle,
            },
        }
    }

    /// Opens the form (the first reason chosen) or closes it.
    pub fn show_help_form(&mut self, open: bool) {
        self.help_refused = None;
        self.help_form = open.then(|| HelpForm { reason: self.help_reasons()[0].clone(), note: String::new() });
    }

    pub fn help_reason(&mut self, reason: String) {
        if let Some(form) = &mut self.help_form {
            form.reason = reason;
        }
    }

    pub fn help_note(&mut self, note: String) {
        if let Some(form) = &mut self.help_form {
            form.note = note;
        }
    }

    /// Sends the form: the worker holds the ask until the relay has it.
    pub fn ask_help(&mut self) -> Vec<Effect> {
        let Some(form) = &self.help_form else { return Vec::new() };
        let note = form.note.trim().to_owned();
        if form.reason.trim().is_empty() || note.chars().count() > protocol::help::MAX_NOTE_CHARS {
            return Vec::new();
        }
        let ask = PanelToWorker::AskHelp { reason: form.reason.clone(), note };
        self.help_form = None;
        self.help_refused = None;
        // Shown as on its way at once; the worker's list confirms it.
        self.worker.help_asking = true;
        self.worker.help_reach = None;
        vec![Effect::Post(ask)]
    }

    pub fn cancel_help(&mut self, request: u64) -> Vec<Effect> {
        self.help_refused = None;
        vec![Effect::Post(PanelToWorker::CancelHelp { request })]
    }

    /// Takes a request and opens the chat with the agent, the request shown above it.
    pub fn take_help(&mut self, request: u64) -> Vec<Effect> {
        self.help_refused = None;
        let Some(agent) = self.worker.help.iter().find(|r| r.id == request).map(|r| r.agent.clone()) else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Post(PanelToWorker::TakeHelp { request })];
        effects.extend(self.open(agent));
        effects
    }

    pub fn close_help(&mut self, request: u64) -> Vec<Effect> {
        self.help_refused = None;
        vec![Effect::Post(PanelToWorker::CloseHelp { request })]
    }

    /// Requests for a supervisor's floor, in the teams watched: open ones first (oldest first,
    /// the longest waiting on top), then those taken.
    pub fn floor_help(&self) -> Vec<&HelpRequest> {
        let me = self.me();
        let teams = &self.floor.query.teams;
        let mut shown: Vec<&HelpRequest> = self
            .worker
            .help
            .iter()
            .filter(|r| r.agent != me && (teams.is_empty() || teams.contains(&r.roster)))
            .collect();
        shown.sort_by_key(|r| (r.status, r.asked_at, r.id));
        shown
    }

    /// The live request of `agent`, if any (for their row on the floor: who is helping).
    pub fn help_of(&self, agent: &str) -> Option<&HelpRequest> {
        self.worker.help.iter().find(|r| r.agent == agent)
    }

    /// The request the open conversation is about: the peer's, taken by me.
    pub fn chat_help(&self) -> Option<&HelpRequest> {
        let peer = self.open.as_deref()?;
        let me = self.me();
        self.worker.help.iter().find(|r| r.agent == peer && r.taken_by.as_deref() == Some(me))
    }

    /// The day's figures of the teams watched, by team name.
    pub fn day_figures(&self) -> Vec<&HelpStats> {
        let teams = &self.floor.query.teams;
        self.worker.help_stats.iter().filter(|s| teams.is_empty() || teams.contains(&s.roster)).collect()
    }

    /// The day's figures over the teams watched (the median is per team only: medians do not add).
    pub fn day_total(&self) -> DayTotal {
        self.day_figures().into_iter().fold(DayTotal::default(), |t, s| DayTotal {
            asked: t.asked + s.asked,
            taken: t.taken + s.taken,
            cancelled: t.cancelled + s.cancelled,
            longest_wait_ms: t.longest_wait_ms.max(s.longest_wait_ms),
        })
    }

    /// The day started at `midnight` (local): a supervisor's figures count from then.
    pub fn day_started(&mut self, midnight: Millis) -> Vec<Effect> {
        if self.help_since == Some(midnight) {
            return Vec::new();
        }
        self.help_since = Some(midnight);
        self.help_stats_effect().into_iter().collect()
    }

    /// Tells the worker where the day starts (again after a snapshot: a restarted worker forgot).
    pub(super) fn help_stats_effect(&self) -> Option<Effect> {
        let since = self.help_since.filter(|_| self.supervisor())?;
        Some(Effect::Post(PanelToWorker::HelpStats { since }))
    }

    /// A refusal the worker passed on.
    pub(super) fn refuse_help(&mut self, code: ErrorCode) {
        self.help_refused = Some(code);
    }
}
