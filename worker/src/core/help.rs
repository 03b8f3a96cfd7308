//! Help requests in the worker: an agent's ask (kept until the relay answers, asked again after
//! a reconnect), the live requests this person sees, a supervisor's notification for each new
//! one, the badge, and the day's figures.
//!
//! Decisions:
//! - The live list is the relay's: `help_requests` after every welcome replaces it, and each
//!   `help` push or ack updates one request. A request's status only moves forward, so an older
//!   copy of one never overwrites a newer one, and a request seen ended is not brought back by
//!   a list that was read before it ended.
//! - An ask is held (`help_asking`) until the relay answers it. After a reconnect the live list
//!   comes first: if it holds the agent's request, the ask got through; if not, it is asked
//!   again (and the relay answers an ask while the agent's last one is open with that one). So an
//!   ask lost with a connection is neither lost nor doubled.
//! - A supervisor is notified once per request, when it is asked (a `help` push while open and
//!   new to the worker), unless a floor is being looked at; open requests count on the badge
//!   with the alerts, since both need someone to get up now.
//! - The day's figures are the relay's, from the `since` a panel names (its local midnight: the
//!   worker keeps no calendar). They are asked for again after each change of a request.

use protocol::panel::WorkerToPanel;
use protocol::{ClientFrame, ErrorCode, HelpRequest, HelpStats, HelpStatus, Millis};

use super::{Core, Effect, PanelId, Waiting};

/// Ended request ids remembered, so a list read before they ended does not bring them back.
const ENDED_KEPT: usize = 64;

/// The prefix of a help notification's id (`help:<request id>`).
pub const HELP_NOTIFICATION: &str = "help:";

/// A change a panel asks of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpAction {
    Cancel,
    Take,
    Close,
}

impl Core {
    /// The live requests, oldest first.
    pub(super) fn help_list(&self) -> Vec<HelpRequest> {
        self.help.values().cloned().collect()
    }

    /// The id of the list on its way, if any.
    #[cfg(test)]
    pub fn help_list_in_flight(&self) -> Option<u64> {
        self.waiting.iter().find_map(|(id, w)| matches!(w, Waiting::HelpList).then_some(*id))
    }

    /// Open requests a supervisor has not seen to yet (for the badge).
    pub(super) fn help_open(&self) -> usize {
        if !self.supervising() {
            return 0;
        }
        let me = self.principal();
        self.help
            .values()
            .filter(|r| {
                r.status == HelpStatus::Open
                    && r.agent != me
                    && super::supervision::watched(self.watch.as_ref(), &r.roster)
            })
            .count()
    }

    fn help_push(&self) -> Effect {
        Effect::Panels(WorkerToPanel::Help {
            requests: self.help_list(),
            asking: self.help_asking.is_some(),
            reach: self.help_reach,
        })
    }

    /// Takes one request as the relay now has it. Whether it changed what is known.
    fn help_apply(&mut self, request: HelpRequest) -> bool {
        if self.help_ended.contains(&request.id) {
            return false;
        }
        if let Some(known) = self.help.get(&request.id)
            && (known.status > request.status || *known == request)
        {
            return false;
        }
        if request.status.live() {
            self.help.insert(request.id, request);
        } else {
            self.help.remove(&request.id);
            if self.help_ended.len() == ENDED_KEPT {
                self.help_ended.remove(0);
            }
            self.help_ended.push(request.id);
        }
        true
    }

    /// After the welcome: the live requests and (for a supervisor whose panel asked) the day's
    /// figures; an ask never answered goes again once the list shows it did not get through.
    pub(super) fn help_connected(&mut self) -> Vec<Effect> {
        self.help_refresh()
    }

    /// Asks the relay for the live requests (and the figures since the day's start, when known).
    /// One list at a time: a change while one is on its way asks again when it arrives (it may
    /// have been read before the change).
    pub(super) fn help_refresh(&mut self) -> Vec<Effect> {
        if self.connection != protocol::panel::Connection::Online {
            return Vec::new();
        }
        if self.waiting.values().any(|w| matches!(w, Waiting::HelpList)) {
            self.help_again = true;
            return Vec::new();
        }
        self.help_again = false;
        let id = self.id();
        self.waiting.insert(id, Waiting::HelpList);
        let since = self.help_since.filter(|_| self.supervising());
        vec![Effect::Relay(ClientFrame::HelpRequests { id, since })]
    }

    fn help_send_ask(&mut self, reason: String, note: String) -> Vec<Effect> {
        if self.connection != protocol::panel::Connection::Online {
            return Vec::new();
        }
        let id = self.id();
        self.waiting.insert(id, Waiting::HelpAsk);
        vec![Effect::Relay(ClientFrame::AskHelp { id, reason, note })]
    }

    /// An ask not on its way (refused for now, or waiting for the list after a reconnect) goes
    /// when nothing else about it is: the next tick, or the list's arrival.
    pub(super) fn help_retry(&mut self) -> Vec<Effect> {
        let busy = self.waiting.values().any(|w| matches!(w, Waiting::HelpAsk | Waiting::HelpList));
        match self.help_asking.clone() {
            Some(_) if self.mine(false) => {
                // The list shows it got through before the connection was lost.
                self.help_asking = None;
                vec![self.help_push()]
            }
            Some((reason, note)) if !busy => self.help_send_ask(reason, note),
            _ => Vec::new(),
        }
    }

    /// Who is signed in (empty while nobody is).
    fn principal(&self) -> &str {
        self.me.as_ref().map(|m| m.principal.as_str()).unwrap_or_default()
    }

    /// A live request of this person's own.
    fn mine(&self, open_only: bool) -> bool {
        let me = self.principal();
        self.help.values().any(|r| r.agent == me && (!open_only || r.status == HelpStatus::Open))
    }

    /// A panel asks for help: held until the relay answers.
    pub(super) fn ask_help(&mut self, reason: String, note: String) -> Vec<Effect> {
        if self.help_asking.is_some() || self.mine(true) || reason.trim().is_empty() {
            return Vec::new();
        }
        self.help_asking = Some((reason.clone(), note.clone()));
        self.help_reach = None;
        let mut out = vec![self.help_push()];
        out.extend(self.help_send_ask(reason, note));
        out
    }

    /// A panel cancels, takes or closes a request (the relay decides whether it may).
    pub(super) fn change_help(&mut self, panel: PanelId, request: u64, action: HelpAction) -> Vec<Effect> {
        if self.connection != protocol::panel::Connection::Online {
            return vec![Effect::Panel(panel, WorkerToPanel::HelpRefused { code: ErrorCode::Unavailable })];
        }
        let id = self.id();
        self.waiting.insert(id, Waiting::HelpChange(panel));
        vec![Effect::Relay(match action {
            HelpAction::Cancel => ClientFrame::CancelHelp { id, request },
            HelpAction::Take => ClientFrame::TakeHelp { id, request },
            HelpAction::Close => ClientFrame::CloseHelp { id, request },
        })]
    }

    /// A panel names the day's start: the figures from then, now and after every change.
    pub(super) fn help_stats_since(&mut self, since: Millis) -> Vec<Effect> {
        if !self.supervising() || self.help_since == Some(since) {
            return Vec::new();
        }
        self.help_since = Some(since);
        self.help_refresh()
    }

    /// The relay's answer to an ask or a change (`supervisors`: how many it told).
    pub(super) fn help_acked(&mut self, id: u64, request: HelpRequest, supervisors: u32) -> Vec<Effect> {
        let waiting = self.waiting.remove(&id);
        let me = self.principal();
        if matches!(waiting, Some(Waiting::HelpAsk)) || (request.agent == me && request.status == HelpStatus::Open) {
            self.help_asking = None;
            self.help_reach = Some(supervisors);
        }
        self.help_apply(request);
        let mut out = vec![self.help_push(), self.badge()];
        out.extend(self.help_refresh());
        out
    }

    /// A `help` push: a request this person sees was asked or changed.
    pub(super) fn help_pushed(&mut self, request: HelpRequest) -> Vec<Effect> {
        let new = request.status == HelpStatus::Open && !self.help.contains_key(&request.id);
        let mine = self.me.as_ref().is_some_and(|m| m.principal == request.agent);
        let notify = new && !mine && self.supervising() && self.looking.is_empty();
        if !self.help_apply(request.clone()) {
            return Vec::new();
        }
        let mut out = vec![self.help_push(), self.badge()];
        if notify {
            out.push(Effect::NotifyHelp(request));
        }
        out.extend(self.help_refresh());
        out
    }

    /// The relay's list (after a welcome or a change): the live requests and the figures.
    pub(super) fn help_listed(&mut self, id: u64, requests: Vec<HelpRequest>, stats: Vec<HelpStats>) -> Vec<Effect> {
        if !matches!(self.waiting.remove(&id), Some(Waiting::HelpList)) {
            return Vec::new();
        }
        let listed: Vec<u64> = requests.iter().map(|r| r.id).collect();
        // Gone from the list: ended meanwhile (or no longer watched).
        self.help.retain(|id, _| listed.contains(id));
        for request in requests {
            self.help_apply(request);
        }
        let mut out = vec![self.help_push(), self.badge()];
        if self.supervising() && self.help_since.is_some() {
            self.help_stats = stats;
            out.push(Effect::Panels(WorkerToPanel::HelpStats { stats: self.help_stats.clone() }));
        }
        if self.help_again {
            out.extend(self.help_refresh());
        }
        out.extend(self.help_retry());
        out
    }

    /// The relay refused an ask or a change: the panel that asked is told why; a refused ask is
    /// no longer held (it would be refused again).
    pub(super) fn help_refused(&mut self, waiting: Waiting, code: ErrorCode, retryable: bool) -> Vec<Effect> {
        match waiting {
            Waiting::HelpAsk if retryable => Vec::new(),
            Waiting::HelpAsk => {
                self.help_asking = None;
                vec![self.help_push(), Effect::Panels(WorkerToPanel::HelpRefused { code })]
            }
            Waiting::HelpChange(panel) => {
                let mut out = vec![Effect::Panel(panel, WorkerToPanel::HelpRefused { code })];
                // What the relay has now (taken by someone else, say) replaces what was shown.
                out.extend(self.help_refresh());
                out
            }
            _ => Vec::new(),
        }
    }

    /// Signed out, or someone else signed in: nothing of the last person's requests stays.
    pub(super) fn forget_help(&mut self) {
        self.help.clear();
        self.help_ended.clear();
        self.help_asking = None;
        self.help_reach = None;
        self.help_stats.clear();
        self.help_again = false;
    }
}

/// The notification id of a help request.
pub fn help_notification_id(request: &HelpRequest) -> String {
    format!("{HELP_NOTIFICATION}{}", request.id)
}
