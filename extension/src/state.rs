//! The panel's state, as plain Rust (host-tested): what the worker sent ([`PanelState::apply`]),
//! what the agent did in this panel (the open conversation, drafts, the dial in flight), and the
//! values the views derive from both. Every change returns the [`Effect`]s it asks for (messages
//! to post to the worker, ...), which the root component performs; nothing here touches the
//! browser.

use std::collections::BTreeMap;

use protocol::panel::{FailedChat, PanelSnapshot, PanelToWorker, WorkerToPanel};
use protocol::{AlertKey, CallRecord, ChatMessage, ConversationSummary, ErrorCode, Millis, Presence};

use crate::format;

mod connect;
mod help;
mod supervisor;

pub use connect::{SuperviseAsk, SuperviseOutcome, Supervising};
pub use help::{AgentHelp, DayTotal, HelpForm};
pub use supervisor::{FloorState, category_key, channel_key, parse_category};

/// The panel's views, in the tab list's order. A view is added here, in [`Tab::key`] (its
/// element ids and `tab_<key>` message) and in the root's routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Status,
    Chat,
    CallerId,
    /// Supervisors only.
    Floor,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Status, Tab::Chat, Tab::CallerId, Tab::Floor];

    /// The suffix of its element ids and `tab_<key>` message.
    pub fn key(self) -> &'static str {
        match self {
            Tab::Status => "status",
            Tab::Chat => "chat",
            Tab::CallerId => "caller",
            Tab::Floor => "floor",
        }
    }
}

/// What a change asks the root to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Post(PanelToWorker),
    /// Read the caller ID this agent chose last time (then [`PanelState::remembered`]).
    ReadRememberedCallerId,
    /// Text for the console, for whoever investigates (never shown: the panel shows codes in words).
    Warn(String),
}

/// A message typed here and not yet seen in the worker's outbox or as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconfirmed {
    pub to: String,
    pub text: String,
    pub client_id: String,
}

/// The last dial or transfer, for the result line of the status and caller-ID views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialing {
    /// Sent to the CCP ("Calling…").
    Pending,
    Ok,
    /// Not a number (checked here, before the CCP sees it).
    Invalid,
    /// Refused, with the code the worker named (`invalid_number`, a Streams error type).
    Failed(Option<String>),
}

impl Dialing {
    /// Whether the line reads as good news (not an error).
    pub fn ok(&self) -> bool {
        matches!(self, Dialing::Pending | Dialing::Ok)
    }
}

/// One row of a conversation.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Stored(&'a ChatMessage),
    /// Typed, not yet stored: client id, text, when it was queued.
    Pending(&'a str, &'a str, Millis),
    Failed(&'a FailedChat),
}

impl Item<'_> {
    pub fn at(&self) -> Millis {
        match self {
            Item::Stored(m) => m.sent_at,
            Item::Pending(_, _, at) => *at,
            Item::Failed(f) => f.entry.queued_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PanelState {
    /// What the worker holds, as last sent (connection, me, roster, conversations, the CCP,
    /// outbox, failed messages, caller IDs, the newest call page).
    pub worker: PanelSnapshot,
    pub tab: Tab,
    pub search: String,
    /// The conversation shown in the chat view.
    pub open: Option<String>,
    /// Messages of the open conversation by sequence number.
    pub messages: BTreeMap<u64, ChatMessage>,
    /// Whether the open conversation has older messages.
    pub more: bool,
    pub draft: String,
    pub unconfirmed: Vec<Unconfirmed>,
    /// A chat request the relay refused, by peer: shown in that conversation until its history
    /// next arrives.
    pub refused: Option<(String, ErrorCode)>,
    /// The caller ID (queue ARN) to dial through.
    pub queue: Option<String>,
    pub phone: String,
    pub dialing: Option<Dialing>,
    /// Call history pages after the newest one, oldest last.
    pub older_calls: Vec<CallRecord>,
    pub more_calls: Option<i64>,
    /// A supervisor's floor (empty for an agent).
    pub floor: FloorState,
    /// The agent's ask-for-help form, while open.
    pub help_form: Option<HelpForm>,
    /// The last help request refused (shown where it was asked, in words by code).
    pub help_refused: Option<ErrorCode>,
    /// A supervisor's last listen-in or status change through Connect, and how it went.
    pub supervising: Option<Supervising>,
    /// The reasons managed policy sets (empty: the defaults).
    help_reasons: Vec<String>,
    /// The local midnight the day's help figures count from.
    help_since: Option<Millis>,
    /// This is the full-tab floor page (`floor.html`): the floor alone, full width.
    pub floor_page: bool,
    /// Whether the page is visible and has the focus (the root tells, [`PanelState::focus`]).
    page_focused: bool,
    /// What the worker was last told of the floor being looked at.
    looked_at: bool,
    /// Whether the agent chose a caller ID in this panel (it then wins over the remembered one).
    picked: bool,
    /// The last request's id (dial, transfer, listen-in, status change).
    next_id: u64,
    /// Messages sent from this panel, for their client ids.
    sent: u64,
}

impl Default for PanelState {
    fn default() -> Self {
        Self {
            worker: PanelSnapshot::default(),
            tab: Tab::Status,
            search: String::new(),
            open: None,
            messages: BTreeMap::new(),
            more: false,
            draft: String::new(),
            unconfirmed: Vec::new(),
            refused: None,
            queue: None,
            phone: String::new(),
            dialing: None,
            older_calls: Vec::new(),
            more_calls: None,
            floor: FloorState::default(),
            help_form: None,
            help_refused: None,
            supervising: None,
            help_reasons: Vec::new(),
            help_since: None,
            floor_page: false,
            page_focused: false,
            looked_at: false,
            picked: false,
            next_id: 1,
            sent: 0,
        }
    }
}

impl PanelState {
    /// Takes in a message from the worker, at `now`.
    pub fn apply(&mut self, mut message: WorkerToPanel, now: Millis) -> Vec<Effect> {
        clean_names(&mut message);
        let mut effects = Vec::new();
        match message {
            WorkerToPanel::Snapshot { mut snapshot } => {
                self.more_calls = snapshot.calls.as_ref().and_then(|c| c.next_before);
                let caller_ids = snapshot.caller_ids.clone();
                let (watch, dismissed) = (snapshot.watch.take(), std::mem::take(&mut snapshot.dismissed));
                self.worker = *snapshot;
                self.reset_floor(watch, dismissed, now);
                self.supervise_reset();
                if let Some(caller_ids) = caller_ids {
                    effects = self.apply(WorkerToPanel::CallerIds { caller_ids }, now);
                }
                self.confirm();
                // The worker took this panel's port: whatever it may not have stored before it
                // stopped is handed over again (it and the relay both drop a client id they
                // already have), and the open conversation is read again.
                effects.extend(self.unconfirmed.iter().map(|u| {
                    Effect::Post(PanelToWorker::SendChat {
                        to: u.to.clone(),
                        text: u.text.clone(),
                        client_id: u.client_id.clone(),
                    })
                }));
                if let Some(peer) = self.open.clone() {
                    effects.push(Effect::Post(PanelToWorker::History { peer, before: None }));
                }
                // Said again: the worker may not have heard it before it answered (or restarted).
                self.looked_at = false;
                effects.extend(self.looking());
                effects.extend(self.help_stats_effect());
            }
            WorkerToPanel::Connection { connection } => self.worker.connection = connection,
            WorkerToPanel::Me { me } => {
                let was = self.supervisor();
                self.worker.me = me;
                if self.supervisor() != was {
                    let watch = self.floor.query.teams.iter().cloned().collect::<Vec<_>>();
                    self.reset_floor(Some(watch).filter(|w| !w.is_empty()), Vec::new(), now);
                    effects.extend(self.help_stats_effect());
                }
            }
            WorkerToPanel::Presence { presence } => {
                if self.supervisor() {
                    self.floor.presence(&presence, now);
                }
                match self.worker.roster.iter_mut().find(|p| p.principal == presence.principal) {
                    Some(p) => *p = presence,
                    None => self.worker.roster.push(presence),
                }
            }
            WorkerToPanel::Roster { agents } => {
                let before = std::mem::replace(&mut self.worker.roster, agents);
                if self.supervisor() {
                    self.floor.roster(&before, &self.worker.roster, now);
                }
            }
            WorkerToPanel::Dismissed { keys } => self.floor.dismissed(keys),
            WorkerToPanel::Help { requests, asking, reach } => {
                self.worker.help = requests;
                self.worker.help_asking = asking;
                self.worker.help_reach = reach;
            }
            WorkerToPanel::HelpStats { stats } => self.worker.help_stats = stats,
            WorkerToPanel::HelpRefused { code } => {
                effects.push(Effect::Warn(format!("CCP Sidecar: help request refused: {}", code.as_str())));
                self.refuse_help(code);
            }
            WorkerToPanel::Watching { rosters } => self.floor.watching(rosters),
            WorkerToPanel::ConnectFeed { feed } => self.worker.connect_feed = feed,
            WorkerToPanel::Monitoring { id, barge, .. } => self.supervised(id, SuperviseOutcome::Listening { barge }),
            WorkerToPanel::AgentStatusSet { id, .. } => self.supervised(id, SuperviseOutcome::StatusSet),
            WorkerToPanel::SupervisorRefused { id, code, message, .. } => {
                effects.push(Effect::Warn(format!("CCP Sidecar: refused ({}): {message}", code.as_str())));
                self.supervised(id, SuperviseOutcome::Refused { code, detail: message });
            }
            WorkerToPanel::Ccp { agent } => {
                // "Calling…" is over once the CCP has no contact; failures stay until the next try.
                if self.dialing.as_ref().is_some_and(Dialing::ok) && agent.as_ref().is_some_and(|a| a.contact.is_none())
                {
                    self.dialing = None;
                }
                if self.queue.is_none() {
                    self.queue = agent.as_ref().and_then(|a| a.default_queue.clone());
                }
                self.worker.ccp = agent;
            }
            WorkerToPanel::Chat { message } => {
                self.unconfirmed.retain(|u| u.client_id != message.client_id);
                if self.open.as_deref() == Some(message.peer_of(self.me())) {
                    self.messages.insert(message.seq, message);
                }
            }
            WorkerToPanel::Outbox { pending } => {
                self.worker.outbox = pending;
                self.confirm();
            }
            WorkerToPanel::Failed { failed } => {
                self.worker.failed = failed;
                self.confirm();
            }
            WorkerToPanel::Conversations { conversations } => {
                self.worker.conversations = conversations;
                effects.extend(self.mark_read());
            }
            WorkerToPanel::History { peer, messages, more } => {
                if self.refused.as_ref().is_some_and(|(p, _)| *p == peer) {
                    self.refused = None;
                }
                if self.open.as_deref() == Some(peer.as_str()) {
                    self.more = more;
                    self.messages.extend(messages.into_iter().map(|m| (m.seq, m)));
                    effects.extend(self.mark_read());
                }
            }
            WorkerToPanel::ChatRefused { peer, code, message } => {
                effects.push(Effect::Warn(format!("CCP Sidecar: chat request refused: {message}")));
                self.refused = Some((peer, code));
            }
            WorkerToPanel::Result { ok: true, .. } => self.dialing = Some(Dialing::Ok),
            WorkerToPanel::Result { ok: false, error, code, .. } => {
                if let Some(error) = error {
                    effects.push(Effect::Warn(format!("CCP Sidecar: call failed: {error}")));
                }
                self.dialing = Some(Dialing::Failed(code));
            }
            WorkerToPanel::CallerIds { caller_ids } => {
                if !self.picked {
                    self.queue = caller_ids
                        .default_queue_arn
                        .clone()
                        .or_else(|| caller_ids.caller_ids.first().map(|c| c.queue_arn.clone()));
                }
                self.worker.caller_ids = Some(caller_ids);
                effects.push(Effect::ReadRememberedCallerId);
            }
            WorkerToPanel::Calls { before: None, page } => {
                self.older_calls.clear();
                self.more_calls = page.next_before;
                self.worker.calls = Some(page);
            }
            WorkerToPanel::Calls { before: Some(_), page } => {
                self.more_calls = page.next_before;
                self.older_calls.extend(page.calls);
            }
        }
        effects
    }

    /// The floor from the roster again (a snapshot, or the principal became or stopped being a
    /// supervisor); an agent's floor stays empty.
    fn reset_floor(&mut self, watch: Option<Vec<String>>, dismissed: Vec<AlertKey>, now: Millis) {
        let roster: &[Presence] = if self.supervisor() { &self.worker.roster } else { &[] };
        self.floor.reset(roster, watch, dismissed, now);
        if self.floor_page {
            self.tab = Tab::Floor;
        } else if !self.supervisor() && self.tab == Tab::Floor {
            self.tab = Tab::Status;
        }
    }

    /// Forgets typed messages the worker now holds in its outbox, or has given up on.
    fn confirm(&mut self) {
        let (outbox, failed) = (&self.worker.outbox, &self.worker.failed);
        self.unconfirmed.retain(|u| {
            !outbox.iter().any(|e| e.client_id == u.client_id)
                && !failed.iter().any(|f| f.entry.client_id == u.client_id)
        });
    }

    /// The open conversation is read when it is in view.
    fn mark_read(&self) -> Option<Effect> {
        let peer = self.open.as_ref().filter(|_| self.tab == Tab::Chat)?;
        let c = self.worker.conversations.iter().find(|c| &c.peer == peer).filter(|c| c.unread > 0)?;
        Some(Effect::Post(PanelToWorker::MarkRead { peer: peer.clone(), seq: c.last_seq }))
    }

    // What the agent does in the panel.

    pub fn show(&mut self, tab: Tab) -> Vec<Effect> {
        self.tab = tab;
        let mut effects: Vec<Effect> = self.mark_read().into_iter().collect();
        effects.extend(self.looking());
        effects
    }

    // What a supervisor does on the floor.

    /// The page became visible and focused, or stopped being either.
    pub fn focus(&mut self, page_focused: bool) -> Vec<Effect> {
        self.page_focused = page_focused;
        self.looking().into_iter().collect()
    }

    /// Tells the worker when the floor starts or stops being looked at (no notifications then).
    fn looking(&mut self) -> Option<Effect> {
        let now = self.supervisor() && self.page_focused && self.tab == Tab::Floor;
        if now == self.looked_at {
            return None;
        }
        self.looked_at = now;
        Some(Effect::Post(PanelToWorker::FloorFocus { visible_and_focused: now }))
    }

    /// The clock moved: alerts that crossed a threshold. Whether any changed.
    pub fn tick(&mut self, now: Millis) -> bool {
        self.supervisor() && self.floor.tick(now)
    }

    /// The thresholds in force changed (storage), or were first read.
    pub fn set_thresholds(&mut self, thresholds: ::floor::Thresholds, now: Millis) {
        self.floor.set_thresholds(thresholds, now);
    }

    /// Hides one alert episode here and, through the worker, everywhere.
    pub fn dismiss_alert(&mut self, key: AlertKey) -> Vec<Effect> {
        self.floor.dismissed(vec![key.clone()]);
        vec![Effect::Post(PanelToWorker::DismissAlert { key })]
    }

    /// Shows a team on the floor, or hides it; `None` shows every team (also teams that appear
    /// later). Remembered by the worker. With every team shown, hiding one shows all the others.
    pub fn watch_team(&mut self, team: Option<&str>, shown: bool) -> Vec<Effect> {
        let all = self.floor.teams();
        let mut teams = self.floor.query.teams.clone();
        match team {
            None => teams.clear(),
            Some(team) if shown => {
                if !teams.is_empty() {
                    teams.insert(team.to_owned());
                }
            }
            Some(team) => {
                if teams.is_empty() {
                    teams = all.iter().cloned().collect();
                }
                teams.remove(team);
            }
        }
        let rosters: Vec<String> = teams.into_iter().collect();
        // Every team chosen is every team.
        let every = all.iter().all(|t| rosters.contains(t));
        let rosters = Some(rosters).filter(|r| !r.is_empty() && !every);
        self.floor.watching(rosters.clone());
        vec![Effect::Post(PanelToWorker::Watch { rosters })]
    }

    /// Opens the full-tab floor (the worker opens it, or brings it to the front).
    pub fn open_floor(&self) -> Vec<Effect> {
        vec![Effect::Post(PanelToWorker::OpenFloor)]
    }

    /// Opens the conversation with `peer` in the chat view, and asks for its newest page.
    pub fn open(&mut self, peer: String) -> Vec<Effect> {
        self.tab = Tab::Chat;
        self.messages.clear();
        self.more = false;
        self.open = Some(peer.clone());
        vec![Effect::Post(PanelToWorker::History { peer, before: None })]
    }

    pub fn close(&mut self) {
        self.open = None;
        self.messages.clear();
    }

    /// Sends the draft to the open conversation, under a client id made of `stamp` (unique to
    /// this panel: time and randomness) and a counter. Nothing over the relay's limit enters the
    /// outbox: the composer says so instead.
    pub fn send(&mut self, stamp: &str) -> Vec<Effect> {
        let text = self.draft.trim_end().to_owned();
        let Some(to) = self.open.clone() else { return Vec::new() };
        if text.trim().is_empty() || format::length(&text, self.max_text_chars()).over {
            return Vec::new();
        }
        self.sent += 1;
        let client_id = format!("{stamp}-{}", self.sent);
        self.unconfirmed.push(Unconfirmed { to: to.clone(), text: text.clone(), client_id: client_id.clone() });
        self.draft.clear();
        vec![Effect::Post(PanelToWorker::SendChat { to, text, client_id })]
    }

    /// A failed message back into the composer (and forgotten by the worker); the draft typed
    /// meanwhile is kept, after the returned text.
    pub fn edit(&mut self, client_id: String) -> Vec<Effect> {
        let Some(failed) = self.worker.failed.iter().find(|f| f.entry.client_id == client_id) else {
            return Vec::new();
        };
        self.draft = match self.draft.trim() {
            "" => failed.entry.text.clone(),
            draft => format!("{}\n{draft}", failed.entry.text),
        };
        self.discard(client_id)
    }

    /// A failed message forgotten.
    pub fn discard(&mut self, client_id: String) -> Vec<Effect> {
        self.worker.failed.retain(|f| f.entry.client_id != client_id);
        vec![Effect::Post(PanelToWorker::Dismiss { client_id })]
    }

    /// The page of the open conversation before the oldest message shown.
    pub fn older(&self) -> Vec<Effect> {
        let Some(peer) = self.open.clone() else { return Vec::new() };
        let before = self.messages.keys().next().copied();
        vec![Effect::Post(PanelToWorker::History { peer, before })]
    }

    pub fn transfer(&mut self, username: String) -> Vec<Effect> {
        let id = self.request_id();
        self.dialing = None;
        vec![Effect::Post(PanelToWorker::Transfer { id, username })]
    }

    /// A new id for a request the worker answers under it.
    fn request_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The agent chose a caller ID (it then wins over the remembered one).
    pub fn pick_queue(&mut self, arn: String) {
        self.picked = true;
        self.queue = Some(arn);
    }

    /// The caller ID this agent chose last time, if it is still offered and none was picked
    /// since; whether it changed anything.
    pub fn remembered(&mut self, arn: Option<String>) -> bool {
        let offered = |q: &String| {
            self.worker.caller_ids.as_ref().is_some_and(|c| c.caller_ids.iter().any(|c| &c.queue_arn == q))
        };
        match arn.filter(offered) {
            Some(arn) if !self.picked => {
                self.queue = Some(arn);
                true
            }
            _ => false,
        }
    }

    /// Dial `number` again, through `queue` when the call record names one.
    pub fn redial(&mut self, number: String, queue: Option<String>) -> Vec<Effect> {
        if let Some(queue) = queue {
            self.queue = Some(queue);
        }
        self.phone = number;
        self.dial()
    }

    pub fn dial(&mut self) -> Vec<Effect> {
        let phone: String = self.phone.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if !format::plausible_phone(&phone) {
            self.dialing = Some(Dialing::Invalid);
            return Vec::new();
        }
        let id = self.request_id();
        self.dialing = Some(Dialing::Pending);
        vec![Effect::Post(PanelToWorker::Dial { id, phone, queue_arn: self.queue.clone() })]
    }

    /// The next (older) page of the call history, if there is one.
    pub fn older_calls(&self) -> Vec<Effect> {
        self.more_calls.map(|before| Effect::Post(PanelToWorker::Calls { before })).into_iter().collect()
    }

    // What the views derive.

    /// Whether the signed-in principal is a supervisor (the relay's welcome says).
    pub fn supervisor(&self) -> bool {
        self.worker.me.as_ref().is_some_and(|m| m.supervisor)
    }

    /// The tabs this person has: the floor only for supervisors (and always on the floor page,
    /// which says who it is for).
    pub fn tabs(&self) -> Vec<Tab> {
        Tab::ALL.into_iter().filter(|t| *t != Tab::Floor || self.supervisor() || self.floor_page).collect()
    }

    pub fn me(&self) -> &str {
        self.worker.me.as_ref().map(|m| m.principal.as_str()).unwrap_or_default()
    }

    /// The chat text limit the relay announced, in characters.
    pub fn max_text_chars(&self) -> Option<u32> {
        self.worker.me.as_ref().and_then(|m| m.limits.text_limit())
    }

    pub fn presence(&self, principal: &str) -> Option<&Presence> {
        self.worker.roster.iter().find(|p| p.principal == principal)
    }

    pub fn display_name(&self, principal: &str) -> String {
        self.presence(principal).map(|p| p.display_name.clone()).unwrap_or_else(|| principal.to_owned())
    }

    /// Unread messages over every conversation (the chat tab's badge).
    pub fn unread(&self) -> u64 {
        self.worker.conversations.iter().map(|c| c.unread).sum()
    }

    /// Whether this tab's CCP has a call that can be transferred.
    pub fn on_call(&self) -> bool {
        use protocol::ContactState::{Connected, OnHold};
        self.worker.ccp.as_ref().and_then(|a| a.contact.as_ref()).is_some_and(|c| matches!(c.state, Connected | OnHold))
    }

    /// Whether the roster has anyone but me.
    pub fn has_colleagues(&self) -> bool {
        let me = self.me();
        self.worker.roster.iter().any(|p| p.principal != me)
    }

    /// The colleagues the search matches, in roster order.
    pub fn colleagues(&self) -> Vec<&Presence> {
        let me = self.me();
        let mut colleagues: Vec<&Presence> =
            self.worker.roster.iter().filter(|p| p.principal != me && format::matches(p, &self.search)).collect();
        colleagues.sort_by(|a, b| format::roster_order(a, b));
        colleagues
    }

    /// Conversations, latest first; a first message the relay refused has no conversation yet:
    /// its peer is listed too, first.
    pub fn conversations(&self) -> Vec<ConversationSummary> {
        let mut conversations = self.worker.conversations.clone();
        conversations.sort_by(|a, b| b.last.as_ref().map(|m| m.sent_at).cmp(&a.last.as_ref().map(|m| m.sent_at)));
        for f in self.worker.failed.iter().rev() {
            if !conversations.iter().any(|c| c.peer == f.entry.to) {
                let peer = f.entry.to.clone();
                conversations.insert(0, ConversationSummary { peer, last_seq: 0, read_seq: 0, unread: 0, last: None });
            }
        }
        conversations
    }

    /// Messages to `peer` the worker gave up on.
    pub fn failed_to(&self, peer: &str) -> usize {
        self.worker.failed.iter().filter(|f| f.entry.to == peer).count()
    }

    /// The refusal to show in the conversation with `peer`, if any.
    pub fn refused_for(&self, peer: &str) -> Option<ErrorCode> {
        self.refused.as_ref().filter(|(p, _)| p == peer).map(|(_, code)| *code)
    }

    /// The open conversation's rows: stored messages in order, then what is still on its way
    /// (typed at `now` when the worker has not confirmed it yet) or refused, oldest first.
    pub fn items(&self, peer: &str, now: Millis) -> Vec<Item<'_>> {
        let (outbox, failed) = (&self.worker.outbox, &self.worker.failed);
        let pending = outbox
            .iter()
            .filter(|e| e.to == peer && !failed.iter().any(|f| f.entry.client_id == e.client_id))
            .map(|e| Item::Pending(&e.client_id, &e.text, e.queued_at))
            .chain(
                self.unconfirmed
                    .iter()
                    .filter(|u| u.to == peer && !outbox.iter().any(|e| e.client_id == u.client_id))
                    .map(|u| Item::Pending(&u.client_id, &u.text, now)),
            )
            .chain(failed.iter().filter(|f| f.entry.to == peer).map(Item::Failed));
        let mut items: Vec<Item<'_>> = self.messages.values().map(Item::Stored).collect();
        let stored = items.len();
        for item in pending {
            // In time order after the stored ones (a few at most: an insertion, not a sort).
            let at = stored + items[stored..].partition_point(|i| i.at() <= item.at());
            items.insert(at, item);
        }
        items
    }

    /// The call history: the newest page, then the older ones fetched since.
    pub fn calls(&self) -> Option<Vec<&CallRecord>> {
        let page = self.worker.calls.as_ref()?;
        Some(page.calls.iter().chain(&self.older_calls).collect())
    }
}

/// A message from the worker. The caller IDs and call pages in it are the relay's JSON, passed on
/// unread by the worker (`protocol::Relayed`): one this panel cannot read costs only itself,
/// never the rest of a snapshot (the connection, the roster, the chat).
pub fn decode(text: &str) -> Option<WorkerToPanel> {
    serde_json::from_str::<WorkerToPanel>(text).ok().or_else(|| {
        let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
        let snapshot = value.get_mut("snapshot")?.as_object_mut()?;
        snapshot.remove("caller_ids");
        snapshot.remove("calls");
        // Decoded from text again, not from the `Value`: one decoder for the messages, not two.
        serde_json::from_str(&value.to_string()).ok()
    })
}

/// Cleans bidi controls out of every name in a message from the worker, once, where it enters the
/// panel: display and state names, queue and caller-ID names, Connect's status names (see
/// [`format::clean_name`]).
fn clean_names(message: &mut WorkerToPanel) {
    use format::{clean_name, clean_presence};
    fn clean(s: &mut String) {
        if let std::borrow::Cow::Owned(c) = clean_name(s) {
            *s = c;
        }
    }
    let clean_ids = |ids: &mut protocol::CallerIds| {
        for c in &mut ids.caller_ids {
            clean(&mut c.queue_name);
            if let Some(name) = &mut c.name {
                clean(name);
            }
        }
    };
    let clean_help = |r: &mut protocol::HelpRequest| {
        clean(&mut r.display_name);
        if let Some(name) = &mut r.taken_by_name {
            clean(name);
        }
    };
    let clean_feed = |feed: &mut protocol::ConnectFeed| {
        for status in &mut feed.statuses {
            clean(&mut status.name);
        }
    };
    let clean_ccp = |agent: &mut protocol::hook::CcpAgent| {
        clean(&mut agent.name);
        for q in &mut agent.queues {
            clean(&mut q.name);
        }
    };
    match message {
        WorkerToPanel::Snapshot { snapshot } => {
            snapshot.roster.iter_mut().for_each(clean_presence);
            if let Some(me) = &mut snapshot.me {
                clean(&mut me.display_name);
            }
            if let Some(ids) = &mut snapshot.caller_ids {
                clean_ids(ids);
            }
            if let Some(agent) = &mut snapshot.ccp {
                clean_ccp(agent);
            }
            snapshot.help.iter_mut().for_each(clean_help);
            if let Some(feed) = &mut snapshot.connect_feed {
                clean_feed(feed);
            }
        }
        WorkerToPanel::ConnectFeed { feed: Some(feed) } => clean_feed(feed),
        WorkerToPanel::Help { requests, .. } => requests.iter_mut().for_each(clean_help),
        WorkerToPanel::Me { me: Some(me) } => clean(&mut me.display_name),
        WorkerToPanel::Presence { presence } => clean_presence(presence),
        WorkerToPanel::Roster { agents } => agents.iter_mut().for_each(clean_presence),
        WorkerToPanel::CallerIds { caller_ids } => clean_ids(caller_ids),
        WorkerToPanel::Ccp { agent: Some(agent) } => clean_ccp(agent),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
