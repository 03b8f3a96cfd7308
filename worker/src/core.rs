//! The worker's state and every decision it makes, as plain Rust: events in, [`Effect`]s out.
//!
//! Nothing here touches the browser, so the whole behaviour (resume, outbox, unread counts,
//! routing of CCP commands, and in `session.rs` sign-in, renewal, reconnects and timers) is
//! unit-tested on the host. `runtime.rs` performs the effects and feeds their results back.
//! Every id the worker makes (relay requests, CCP commands, sockets, sign-ins, panels) comes
//! from one allocator, [`Core::id`].

use floor::{Alert, Alerts};
use protocol::hook::{CcpAgent, HookCommand, HookEvent};
use protocol::panel::{Connection, FailedChat, Me, OutboxEntry, PanelToWorker};
use protocol::tab::{TabToWorker, WorkerToTab};
use protocol::{
    CallEvent, CallPage, CallerIds, ChatMessage, ClientFrame, ConnectFeed, ConversationSummary, Cursor, ErrorCode,
    HelpRequest, HelpStats, Millis, Presence, Relayed, ServerFrame,
};

use crate::auth::Prompt;
use crate::map::VecMap;
use crate::storage::{Key, Record};

mod connect;
mod help;
mod session;
mod supervision;
mod update;

use help::HelpAction;
pub use help::{HELP_NOTIFICATION, help_notification_id};
pub use session::{PING_MS, RENEW_RETRY_MS, Timer};
pub use supervision::{ALERT_NOTIFICATION, FLOOR_PAGE, alert_notification_id};

/// What the worker tells panels: the caller IDs and call pages are the relay's JSON, passed on
/// unread (see [`Relayed`]).
pub type WorkerToPanel = protocol::panel::WorkerToPanel<Relayed<CallerIds>, Relayed<CallPage>>;
/// What a panel is sent when it connects.
pub type PanelSnapshot = protocol::panel::PanelSnapshot<Relayed<CallerIds>, Relayed<CallPage>>;

/// A browser tab, by `chrome.tabs` id; panels outside a tab have none.
pub type TabId = i32;
/// A connected panel, numbered by the worker ([`Core::new_panel`]).
pub type PanelId = u64;

/// Who a `chrome.runtime` port that connected speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortOf {
    /// A CCP tab's content script.
    Tab(TabId),
    /// A panel, docked in a tab or not.
    Panel(Option<TabId>),
    /// The full-tab floor ([`FLOOR_PAGE`]), a panel in its own tab.
    Floor(Option<TabId>),
}

/// Whether to take a port, from its name and its sender (tab, frame, URL): a tab port only from
/// the top frame of a tab (the content script), a panel port only from the extension's panel
/// page or its full-tab floor (`base` is the extension's own URL, `chrome-extension://<id>/`).
/// Anything else is disconnected.
pub fn accept_port(name: &str, tab: Option<TabId>, frame: Option<i64>, url: &str, base: &str) -> Option<PortOf> {
    let page = url.strip_prefix(base).map(|rest| rest.split(['?', '#']).next().unwrap_or_default());
    match (name, page) {
        (protocol::tab::TAB_PORT, _) => tab.filter(|_| frame == Some(0)).map(PortOf::Tab),
        (protocol::panel::PANEL_PORT, Some("panel.html")) => Some(PortOf::Panel(tab)),
        (protocol::panel::PANEL_PORT, Some(FLOOR_PAGE)) => Some(PortOf::Floor(tab)),
        _ => None,
    }
}

/// What the runtime must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Relay(ClientFrame),
    Panels(WorkerToPanel),
    Panel(PanelId, WorkerToPanel),
    Tab(TabId, WorkerToTab),
    /// To every CCP tab.
    Tabs(WorkerToTab),
    /// The toolbar badge: a supervisor's active alerts when there are any, else unread
    /// messages (see [`Core::badge`]).
    Badge(u64),
    Notify {
        peer: String,
        title: String,
        body: String,
    },
    /// A supervisor's alert crossed its threshold: one notification for the episode.
    NotifyAlert(Alert),
    /// An agent asked a supervisor for help: one notification for the request.
    NotifyHelp(HelpRequest),
    /// Reload the extension into the new version Chrome has ready (see `update.rs`).
    Reload,
    /// Open an extension page ([`FLOOR_PAGE`]) in a new tab.
    OpenPage(&'static str),
    /// Bring a tab to the front.
    FocusTab(TabId),
    /// Write to `chrome.storage`, under the record's own key ([`Record::key`]).
    Save(Record),
    Remove(Key),
    /// Read a key and hand it back (the cursors: [`Core::cursors_loaded`]).
    Load(Key),
    /// Open the relay socket numbered `socket`; its events come back with that number.
    OpenSocket {
        socket: u64,
    },
    CloseSocket {
        code: u16,
    },
    /// Sign in (or renew: [`Prompt::Silent`]); the answer comes back through
    /// [`Core::signed_in`] with `attempt`.
    SignIn {
        attempt: u64,
        prompt: Prompt,
    },
    /// Call [`Core::timer_fired`] in `ms`, replacing a timer of that kind.
    SetTimer {
        timer: Timer,
        ms: u32,
    },
    CancelTimer(Timer),
    /// A request to the relay's REST API with the session's token; its answer comes back
    /// through [`Core::on_api`].
    Api(Api),
}

/// A REST request the worker makes for the panels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Api {
    CallerIds,
    Calls {
        before: Option<i64>,
    },
    /// Check and normalise a typed number, then dial it.
    Normalize {
        panel: PanelId,
        id: u64,
        phone: String,
        queue_arn: Option<String>,
    },
}

/// What a REST request came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiReply {
    CallerIds(Relayed<CallerIds>),
    Calls {
        before: Option<i64>,
        page: Relayed<CallPage>,
    },
    Normalized {
        panel: PanelId,
        id: u64,
        e164: String,
        queue_arn: Option<String>,
    },
    /// `code` is the relay's error code when it answered with one.
    Failed {
        api: Api,
        code: Option<String>,
        message: String,
    },
}

/// A call step the relay has not confirmed yet, with the Connect user of the CCP it was made on
/// (checked against whoever is signed in when it is reported). Kept in `chrome.storage`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingCall {
    pub call: CallEvent,
    #[serde(default)]
    pub ccp: Option<String>,
}

/// Chat messages sent and not yet answered, at most: a long outbox (typed offline) goes out at
/// the pace of the relay's answers, well inside its rate limit, instead of all at once.
const SEND_WINDOW: usize = 8;

/// Who asked for a relay reply, so the reply reaches them.
#[derive(Debug, Clone)]
enum Waiting {
    /// A page of the conversation with a peer.
    History(PanelId, String),
    Sync,
    Send(String),
    /// A call report, by contact id and phase.
    Call(String, protocol::CallPhase),
    /// The agent's ask for help.
    HelpAsk,
    /// A change of a help request a panel asked for.
    HelpChange(PanelId),
    /// The live help requests (and the day's figures).
    HelpList,
    /// A supervisor's listen-in or status change a panel asked for (see `connect.rs`).
    Supervise(connect::Supervise),
}

/// A CCP tab the worker has heard from.
#[derive(Debug, Default)]
struct Tab {
    /// The CCP agent the tab reports, once it has.
    agent: Option<CcpAgent>,
    /// Whether the CCP page is visible and focused.
    focused: bool,
}

#[derive(Debug, Default)]
pub struct Core {
    connection: Connection,
    me: Option<Me>,
    roster: VecMap<String, Presence>,
    roster_loading: Vec<Presence>,
    conversations: VecMap<String, ConversationSummary>,
    /// Per peer, the highest `seq` up to which every message has been seen (the protocol's
    /// cursor: what `sync` resumes from).
    cursors: VecMap<String, u64>,
    /// Per peer, the highest `seq` seen at all: above the cursor when a push came before the one
    /// before it (pushes from several relay nodes, or one lost with Redis), until `sync` fills
    /// the gap.
    seen: VecMap<String, u64>,
    cursor_owner: String,
    outbox: Vec<OutboxEntry>,
    /// Messages the relay will never take as they are, until the agent edits or discards them.
    failed: Vec<FailedChat>,
    waiting: VecMap<u64, Waiting>,
    /// The one id allocator: see [`Core::id`].
    next_id: u64,
    /// The CCP tabs; the newest agent report is the one published.
    tabs: VecMap<TabId, Tab>,
    active_tab: Option<TabId>,
    /// CCP commands in flight: the worker's command id -> the panel that asked and its own id
    /// (panels number their requests each from 1, so theirs alone would collide in a tab).
    commands: VecMap<u64, (PanelId, u64)>,
    panels: VecMap<PanelId, Option<TabId>>,
    /// What the relay last heard of this person's CCP: state name, since, contact, contact id.
    published: Option<Published>,
    /// Call reports the relay has not confirmed yet; sent again after a reconnect.
    calls_pending: Vec<PendingCall>,
    caller_ids: Option<Relayed<CallerIds>>,
    calls: Option<Relayed<CallPage>>,
    link: session::Link,
    /// Supervisors: the alert episodes over the watched rosters (see `supervision.rs`).
    alerts: Alerts,
    /// Supervisors: the rosters the floor shows (`None`: all).
    watch: Option<Vec<String>>,
    /// Supervisors: the rosters the floor covers, by policy (`None`: every roster); what the
    /// connection subscribes to, and what `watch` stays within.
    scope: Option<Vec<String>>,
    /// Panels whose floor is visible and focused: no notifications are due meanwhile.
    looking: Vec<PanelId>,
    /// The full-tab floor pages, by panel, with their tab.
    floors: VecMap<PanelId, Option<TabId>>,
    /// When the alert timer is set to fire.
    alert_due: Option<Millis>,
    /// The live help requests this person sees, by id (see `help.rs`).
    help: VecMap<u64, HelpRequest>,
    /// Requests seen ended lately.
    help_ended: Vec<u64>,
    /// An ask for help (reason, note) the relay has not answered yet.
    help_asking: Option<(String, String)>,
    /// How many supervisors the relay told of the agent's last ask.
    help_reach: Option<u32>,
    /// Supervisors: the day's start a panel named, and the figures since.
    help_since: Option<Millis>,
    help_stats: Vec<HelpStats>,
    /// A request changed while the list was on its way: ask again when it arrives.
    help_again: bool,
    /// A new version of the extension is ready, to be applied once no CCP tab has a contact.
    update_ready: bool,
    /// The relay's last word on Amazon Connect's data (see `connect.rs`).
    connect_feed: Option<ConnectFeed>,
}

/// The presence last published: the state's name and start, the contact and its id.
type Published = (String, Millis, Option<protocol::ContactSummary>, Option<String>);

impl Core {
    /// A core with nothing kept: [`Core::start`] makes the runtime's.
    fn empty() -> Self {
        Self { next_id: 1, ..Self::default() }
    }

    /// A core holding `outbox` and `cursors`, not started (tests drive it from here).
    #[cfg(test)]
    pub fn new(outbox: Vec<OutboxEntry>, cursors: Vec<Cursor>) -> Self {
        Self { outbox, cursors: cursors.into_iter().map(|c| (c.peer, c.seq)).collect(), ..Self::empty() }
    }

    /// Refused messages storage kept from before the worker stopped.
    #[cfg(test)]
    pub fn with_failed(mut self, failed: Vec<FailedChat>) -> Self {
        self.failed = failed;
        self
    }

    /// Call reports storage kept from before the worker stopped.
    #[cfg(test)]
    pub fn with_pending_calls(mut self, calls: Vec<PendingCall>) -> Self {
        self.calls_pending = calls;
        self
    }

    /// The chat cursors of the account about to connect, as storage kept them under `owner`
    /// (the runtime's key for the signed-in account). They are saved under the same key, whatever
    /// principal the relay's welcome names, so a restart always finds them again.
    pub fn restore_cursors(&mut self, owner: &str, cursors: Vec<Cursor>) {
        if self.cursor_owner != owner {
            self.cursor_owner = owner.to_owned();
            self.cursors.clear();
            self.seen.clear();
        }
        for c in cursors {
            let seq = self.cursors.get_or_insert_with(c.peer, u64::default);
            *seq = (*seq).max(c.seq);
        }
    }

    /// The one id allocator: relay requests, CCP commands, sockets, sign-in attempts and panels
    /// are numbered from it, so no two of them in flight share a number.
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A number for a panel that connects.
    pub fn new_panel(&mut self) -> PanelId {
        self.id()
    }

    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    pub fn outbox(&self) -> &[OutboxEntry] {
        &self.outbox
    }

    pub fn unread(&self) -> u64 {
        self.conversations.values().map(|c| c.unread).sum()
    }

    pub fn snapshot(&self, tab: Option<TabId>) -> PanelSnapshot {
        PanelSnapshot {
            connection: self.connection.clone(),
            me: self.me.clone(),
            roster: self.roster.values().cloned().collect(),
            conversations: self.conversations.values().cloned().collect(),
            ccp: self.agent_for(tab).cloned(),
            outbox: self.outbox.clone(),
            failed: self.failed.clone(),
            caller_ids: self.caller_ids.clone(),
            calls: self.calls.clone(),
            watch: self.watch.clone().filter(|_| self.supervising()),
            dismissed: self.dismissed(),
            help: self.help_list(),
            help_asking: self.help_asking.is_some(),
            help_reach: self.help_reach,
            help_stats: self.help_stats.clone(),
            connect_feed: self.connect_feed(),
        }
    }

    fn agent_for(&self, tab: Option<TabId>) -> Option<&CcpAgent> {
        tab.and_then(|t| self.tabs.get(&t)).or_else(|| self.active_tab.and_then(|t| self.tabs.get(&t)))?.agent.as_ref()
    }

    /// The link changed state (connecting, lost, signed out...).
    pub fn set_connection(&mut self, connection: Connection) -> Vec<Effect> {
        let mut out = Vec::new();
        if connection != Connection::Online {
            self.published = None;
            out.extend(self.supervise_lost());
        }
        self.connection = connection.clone();
        out.push(Effect::Panels(WorkerToPanel::Connection { connection }));
        out
    }

    /// The person signed out: forget who they were, what the panels show of theirs, and what
    /// they left unsent (it must not go out under the next person's name at a shared desk).
    pub fn sign_out(&mut self) -> Vec<Effect> {
        let mut out = self.sign_out_link();
        self.connection = Connection::SignedOut;
        self.me = None;
        self.roster.clear();
        self.roster_loading.clear();
        self.conversations.clear();
        self.waiting.clear();
        self.published = None;
        self.outbox.clear();
        self.failed.clear();
        self.calls_pending.clear();
        self.caller_ids = None;
        self.calls = None;
        self.connect_feed = None;
        self.forget_help();
        out.extend(self.forget_floor());
        out.extend([
            Effect::Save(Record::Outbox(Vec::new())),
            Effect::Save(Record::FailedChats(Vec::new())),
            Effect::Save(Record::PendingCalls(Vec::new())),
            Effect::Badge(0),
            self.unread_to_tabs(),
        ]);
        for (&panel, &tab) in self.panels.iter() {
            out.push(Effect::Panel(panel, WorkerToPanel::Snapshot { snapshot: Box::new(self.snapshot(tab)) }));
        }
        out
    }

    // ---- relay ----------------------------------------------------------------------------

    /// A frame from the relay, at `now`.
    pub fn on_frame(&mut self, frame: ServerFrame, now: Millis) -> Vec<Effect> {
        let mut out = Vec::new();
        match frame {
            ServerFrame::Welcome { principal, display_name, supervisor, roster, username, limits, .. } => {
                if self.me.as_ref().is_some_and(|m| m.principal != principal) {
                    self.roster.clear();
                    self.conversations.clear();
                    self.forget_help();
                    out.extend(self.forget_floor());
                    out.extend(self.forget_feed());
                }
                let me = Me { principal, display_name, supervisor, roster, username, limits };
                self.me = Some(me.clone());
                // Messages queued before the limits were known (or kept from an older version)
                // that the relay would refuse leave the outbox now, not after a refusal each.
                let (over, fit): (Vec<OutboxEntry>, Vec<OutboxEntry>) =
                    std::mem::take(&mut self.outbox).into_iter().partition(|e| self.too_long(&e.text));
                self.outbox = fit;
                if !over.is_empty() {
                    self.failed.extend(over.into_iter().map(|entry| FailedChat { entry, code: ErrorCode::TooLarge }));
                    out.extend(self.outbox_changed());
                    out.extend(self.failed_changed());
                }
                self.connection = Connection::Online;
                out.push(Effect::Panels(WorkerToPanel::Me { me: Some(me) }));
                out.push(Effect::Panels(WorkerToPanel::Connection { connection: Connection::Online }));
                // A new connection: nothing asked on an earlier one will be answered.
                out.extend(self.supervise_lost());
                self.waiting.clear();
                let id = self.id();
                out.push(Effect::Relay(self.subscription(id)));
                out.extend(self.sync());
                out.extend(self.pump());
                out.extend(self.help_connected());
                // A call made on a CCP logged in as someone else (while nobody was signed in, say)
                // is not this person's: it is dropped, not reported under their name.
                let me = self.me.clone();
                let (mine, others): (Vec<PendingCall>, Vec<PendingCall>) = std::mem::take(&mut self.calls_pending)
                    .into_iter()
                    .partition(|p| p.ccp.as_deref().is_none_or(|ccp| me.as_ref().is_some_and(|me| me.is_agent(ccp))));
                self.calls_pending = mine;
                if !others.is_empty() {
                    out.push(Effect::Save(Record::PendingCalls(self.calls_pending.clone())));
                }
                for pending in self.calls_pending.clone() {
                    out.extend(self.report(pending.call));
                }
                out.extend(self.publish());
                out.push(Effect::Api(Api::CallerIds));
                out.push(Effect::Api(Api::Calls { before: None }));
            }
            ServerFrame::Roster { agents, complete, .. } => {
                self.roster_loading.extend(agents);
                if complete {
                    let before = std::mem::take(&mut self.roster);
                    self.roster = std::mem::take(&mut self.roster_loading)
                        .into_iter()
                        .map(|p| (p.principal.clone(), p))
                        .collect();
                    let gone: Vec<String> =
                        before.iter().map(|(p, _)| p).filter(|p| !self.roster.contains_key(*p)).cloned().collect();
                    out.push(Effect::Panels(WorkerToPanel::Roster { agents: self.roster.values().cloned().collect() }));
                    out.extend(self.floor_roster(gone, now));
                }
            }
            ServerFrame::Presence { presence } => {
                self.roster.insert(presence.principal.clone(), presence.clone());
                out.extend(self.floor_presence(&presence, now));
                out.push(Effect::Panels(WorkerToPanel::Presence { presence }));
            }
            ServerFrame::ChatAck { id, client_id, peer, seq, sent_at, .. } => {
                self.waiting.remove(&id);
                if let Some(at) = self.outbox.iter().position(|e| e.client_id == client_id) {
                    let entry = self.outbox.remove(at);
                    let from = self.me.as_ref().map(|m| m.principal.clone()).unwrap_or_default();
                    let message = ChatMessage { from, to: peer, seq, client_id, text: entry.text, sent_at };
                    out.extend(self.on_message(message, false));
                    out.extend(self.after_messages());
                    out.extend(self.outbox_changed());
                }
                out.extend(self.pump());
                out.extend(self.fill_gaps());
            }
            ServerFrame::Chat { message } => {
                out.extend(self.on_message(message, false));
                out.extend(self.after_messages());
                out.extend(self.fill_gaps());
            }
            ServerFrame::Synced { id, conversations, messages, more } => {
                self.waiting.remove(&id);
                for c in conversations {
                    self.conversations.insert(c.peer.clone(), c);
                }
                for m in messages {
                    out.extend(self.on_message(m, true));
                }
                out.extend(self.after_messages());
                if more {
                    out.extend(self.sync());
                } else {
                    out.extend(self.fill_gaps());
                }
            }
            ServerFrame::Conversations { conversations, .. } => {
                self.conversations = conversations.into_iter().map(|c| (c.peer.clone(), c)).collect();
                out.push(self.conversations_push());
            }
            ServerFrame::History { id, peer, messages, more } => {
                if let Some(Waiting::History(panel, _)) = self.waiting.remove(&id) {
                    out.push(Effect::Panel(panel, WorkerToPanel::History { peer, messages, more }));
                }
            }
            ServerFrame::ReadMarker { peer, seq } => {
                if let Some(c) = self.conversations.get_mut(&peer) {
                    c.read_seq = c.read_seq.max(seq);
                    c.unread = c.last_seq.saturating_sub(c.read_seq);
                }
                out.push(self.conversations_push());
            }
            ServerFrame::Error { id: Some(id), error } => match self.waiting.remove(&id) {
                Some(Waiting::History(panel, peer)) => {
                    let refused = WorkerToPanel::ChatRefused { peer, code: error.code, message: error.message };
                    out.push(Effect::Panel(panel, refused));
                }
                Some(Waiting::Call(contact, phase)) if !error.retryable => out.push(self.settle_call(&contact, phase)),
                Some(w @ (Waiting::HelpAsk | Waiting::HelpChange(_))) => {
                    out.extend(self.help_refused(w, error.code, error.retryable))
                }
                Some(Waiting::Supervise(ask)) => out.extend(Self::supervise_refused(ask, error)),
                Some(Waiting::Send(client_id)) if !error.retryable => {
                    // A message the relay will never take (too long, say): it leaves the outbox so
                    // it is not resent forever, and shows as failed, with the reason, where it was.
                    if let Some(at) = self.outbox.iter().position(|e| e.client_id == client_id) {
                        let entry = self.outbox.remove(at);
                        self.failed.push(FailedChat { entry, code: error.code });
                        out.extend(self.outbox_changed());
                        out.extend(self.failed_changed());
                    }
                    out.extend(self.pump());
                }
                _ => {}
            },
            ServerFrame::Ok { id } => match self.waiting.remove(&id) {
                Some(Waiting::Call(contact, phase)) => {
                    out.push(self.settle_call(&contact, phase));
                    out.push(Effect::Api(Api::Calls { before: None }));
                }
                Some(Waiting::Supervise(ask)) => out.extend(Self::status_set(ask)),
                _ => {}
            },
            ServerFrame::HelpAck { id, request, supervisors, .. } => {
                out.extend(self.help_acked(id, *request, supervisors))
            }
            ServerFrame::Help { request } => out.extend(self.help_pushed(*request)),
            ServerFrame::HelpRequests { id, requests, stats } => out.extend(self.help_listed(id, requests, stats)),
            ServerFrame::ConnectFeed { feed } => out.extend(self.feed_pushed(feed)),
            ServerFrame::Monitoring { id, contact_id, barge, .. } => out.extend(self.monitoring(id, contact_id, barge)),
            ServerFrame::Error { id: None, .. } | ServerFrame::Pong { .. } => {}
        }
        out
    }

    /// A `sync` when a message was missed (a push past the cursor) and none is on its way.
    fn fill_gaps(&mut self) -> Vec<Effect> {
        let behind = self.seen.iter().any(|(peer, seen)| self.cursors.get(peer).is_some_and(|c| seen > c));
        let syncing = self.waiting.values().any(|w| matches!(w, Waiting::Sync));
        if !behind || syncing || self.connection != Connection::Online {
            return Vec::new();
        }
        self.sync()
    }

    fn sync(&mut self) -> Vec<Effect> {
        let id = self.id();
        self.waiting.insert(id, Waiting::Sync);
        let cursors = self.cursors.iter().map(|(peer, &seq)| Cursor { peer: peer.clone(), seq }).collect();
        vec![Effect::Relay(ClientFrame::Sync { id, cursors })]
    }

    /// Sends a call report to the relay when online; it stays pending until confirmed.
    fn report(&mut self, call: CallEvent) -> Vec<Effect> {
        if self.connection != Connection::Online {
            return Vec::new();
        }
        let id = self.id();
        self.waiting.insert(id, Waiting::Call(call.contact_id.clone(), call.phase));
        vec![Effect::Relay(ClientFrame::ReportCall { id, call })]
    }

    /// A call report the relay has stored (or refused for good): no longer pending.
    fn settle_call(&mut self, contact: &str, phase: protocol::CallPhase) -> Effect {
        self.calls_pending.retain(|p| !(p.call.contact_id == contact && p.call.phase == phase));
        Effect::Save(Record::PendingCalls(self.calls_pending.clone()))
    }

    /// The answer to a REST request.
    pub fn on_api(&mut self, reply: ApiReply) -> Vec<Effect> {
        match reply {
            ApiReply::CallerIds(caller_ids) => {
                self.caller_ids = Some(caller_ids.clone());
                vec![Effect::Panels(WorkerToPanel::CallerIds { caller_ids })]
            }
            ApiReply::Calls { before, page } => {
                if before.is_none() {
                    self.calls = Some(page.clone());
                }
                vec![Effect::Panels(WorkerToPanel::Calls { before, page })]
            }
            ApiReply::Normalized { panel, id, e164, queue_arn } => {
                self.command(panel, id, |id| HookCommand::Dial { id, phone: e164, queue_arn })
            }
            ApiReply::Failed { api: Api::Normalize { panel, id, .. }, code, message } => {
                vec![Effect::Panel(panel, WorkerToPanel::Result { id, ok: false, error: Some(message), code })]
            }
            // History and caller IDs are fetched again after the next sign-in or call.
            ApiReply::Failed { .. } => Vec::new(),
        }
    }

    /// Sends outbox messages not yet in flight, up to [`SEND_WINDOW`] unanswered. A message the
    /// relay refused for now (rate, storage) goes again with the next answer or [`Core::tick`];
    /// it may then be stored after a later message to the same peer (each keeps the sequence
    /// number it gets). The window is far inside the relay's rate, so that takes a refusal.
    fn pump(&mut self) -> Vec<Effect> {
        if self.connection != Connection::Online {
            return Vec::new();
        }
        let in_flight: Vec<&str> = self
            .waiting
            .values()
            .filter_map(|w| match w {
                Waiting::Send(client_id) => Some(client_id.as_str()),
                _ => None,
            })
            .collect();
        let room = SEND_WINDOW.saturating_sub(in_flight.len());
        let next: Vec<OutboxEntry> =
            self.outbox.iter().filter(|e| !in_flight.contains(&e.client_id.as_str())).take(room).cloned().collect();
        let mut out = Vec::with_capacity(next.len());
        for entry in next {
            let id = self.id();
            self.waiting.insert(id, Waiting::Send(entry.client_id.clone()));
            let OutboxEntry { to, client_id, text, .. } = entry;
            out.push(Effect::Relay(ClientFrame::SendChat { id, to, client_id, text }));
        }
        out
    }

    /// A periodic nudge (the runtime's ping timer): messages refused for now go again.
    pub fn tick(&mut self) -> Vec<Effect> {
        let mut out = self.pump();
        out.extend(self.help_retry());
        out
    }

    /// What follows one or a batch of stored messages, once: conversations, cursors, unread.
    fn after_messages(&self) -> Vec<Effect> {
        let mut out = vec![self.conversations_push(), self.badge(), self.unread_to_tabs()];
        // Without an owner (nothing restored them) there is no key to find them under again.
        if !self.cursor_owner.is_empty() {
            let cursors = self.cursors.iter().map(|(p, &s)| Cursor { peer: p.clone(), seq: s }).collect();
            out.push(Effect::Save(Record::Cursors { owner: self.cursor_owner.clone(), cursors }));
        }
        out
    }

    /// A stored message: ours (acknowledged or synced) or a colleague's. The caller adds
    /// [`Self::after_messages`] once per batch. `complete`: it comes with every message before
    /// it (`synced`), so the cursor moves to it; a push or an ack moves the cursor only when it
    /// is the next one, or starts a conversation this worker had no cursor for.
    fn on_message(&mut self, message: ChatMessage, complete: bool) -> Vec<Effect> {
        let me = self.me.as_ref().map(|m| m.principal.clone()).unwrap_or_default();
        let peer = message.peer_of(&me).to_owned();
        let known = self.cursors.get(&peer).copied();
        let cursor = self.cursors.get_or_insert_with(peer.clone(), u64::default);
        let seen = self.seen.get(&peer).copied().unwrap_or(0).max(*cursor);
        // Announced once, whichever way it came (a push, then again in a sync).
        let fresh = message.seq > seen;
        if complete || known.is_none_or(|c| message.seq <= c + 1) {
            *cursor = (*cursor).max(message.seq);
        }
        self.seen.insert(peer.clone(), seen.max(message.seq));
        let conversation = self.conversations.get_or_insert_with(peer.clone(), || ConversationSummary {
            peer: peer.clone(),
            last_seq: 0,
            read_seq: 0,
            unread: 0,
            last: None,
        });
        if message.seq > conversation.last_seq {
            conversation.last_seq = message.seq;
            conversation.last = Some(message.clone());
        }
        if message.from == me {
            conversation.read_seq = conversation.read_seq.max(message.seq);
        }
        conversation.unread = conversation.last_seq.saturating_sub(conversation.read_seq);
        let mut out = vec![Effect::Panels(WorkerToPanel::Chat { message: message.clone() })];
        if fresh && message.from != me && !self.tabs.values().any(|t| t.focused) {
            let title = self.roster.get(&message.from).map(|p| p.display_name.clone()).unwrap_or(message.from.clone());
            out.push(Effect::Notify { peer: message.from.clone(), title, body: message.text.clone() });
        }
        out
    }

    /// Whether the relay would refuse `text` for its length (counted as it counts: characters).
    fn too_long(&self, text: &str) -> bool {
        let limit = self.me.as_ref().and_then(|m| m.limits.text_limit());
        limit.is_some_and(|limit| text.chars().count() > limit as usize)
    }

    fn outbox_changed(&self) -> [Effect; 2] {
        [
            Effect::Save(Record::Outbox(self.outbox.clone())),
            Effect::Panels(WorkerToPanel::Outbox { pending: self.outbox.clone() }),
        ]
    }

    fn failed_changed(&self) -> [Effect; 2] {
        [
            Effect::Save(Record::FailedChats(self.failed.clone())),
            Effect::Panels(WorkerToPanel::Failed { failed: self.failed.clone() }),
        ]
    }

    fn conversations_push(&self) -> Effect {
        Effect::Panels(WorkerToPanel::Conversations { conversations: self.conversations.values().cloned().collect() })
    }

    fn unread_to_tabs(&self) -> Effect {
        Effect::Tabs(WorkerToTab::Unread { count: self.unread() })
    }

    /// Publishes the CCP agent's state if it changed since the relay last heard it.
    fn publish(&mut self) -> Vec<Effect> {
        if self.connection != Connection::Online {
            return Vec::new();
        }
        // A CCP logged in as someone else: the panel says so, and nothing is published under
        // either name until one of the two sign-ins changes.
        let Some(agent) = self.my_agent().cloned() else {
            // No CCP of this person's reports any more (closed, or now logged in as someone
            // else): presence follows the CCP, so the relay is told to stop counting on it.
            if self.published.take().is_none() {
                return Vec::new();
            }
            let id = self.id();
            return vec![Effect::Relay(ClientFrame::ClearPresence { id })];
        };
        // A new contact id is news too: a supervisor's listen-in names the current contact.
        let key = (agent.state.name.clone(), agent.since, agent.contact.clone(), agent.contact_id.clone());
        if self.published.as_ref() == Some(&key) {
            return Vec::new();
        }
        self.published = Some(key);
        let id = self.id();
        vec![Effect::Relay(ClientFrame::SetPresence {
            id,
            state: agent.state,
            since: agent.since,
            contact: agent.contact,
            username: Some(agent.username),
            contact_id: agent.contact_id,
        })]
    }

    /// The CCP agent to publish: the active tab's when it is this person's, else the newest tab
    /// logged in as them (a colleague's CCP opened beside theirs does not hide theirs).
    fn my_agent(&self) -> Option<&CcpAgent> {
        fn mine<'a>(me: &Me, tab: &'a Tab) -> Option<&'a CcpAgent> {
            tab.agent.as_ref().filter(|a| me.is_agent(&a.username))
        }
        let me = self.me.as_ref()?;
        self.active_tab
            .and_then(|t| self.tabs.get(&t))
            .and_then(|t| mine(me, t))
            .or_else(|| self.tabs.values().rev().find_map(|t| mine(me, t)))
    }

    // ---- tabs -----------------------------------------------------------------------------

    pub fn tab_opened(&mut self, tab: TabId) -> Vec<Effect> {
        self.tabs.get_or_insert_with(tab, Tab::default);
        vec![Effect::Tab(tab, WorkerToTab::Ready), Effect::Tab(tab, WorkerToTab::Unread { count: self.unread() })]
    }

    /// A CCP tab closed (or reloaded). Presence follows the CCP: when no open tab reports an
    /// agent any more, the relay is told so (it shows the agent Offline after its grace period
    /// unless a CCP reports again, as a reloaded tab does), while the socket stays for chat.
    pub fn tab_closed(&mut self, tab: TabId) -> Vec<Effect> {
        self.tabs.remove(&tab);
        if self.active_tab == Some(tab) {
            self.active_tab = self.tabs.iter().rev().find(|(_, t)| t.agent.is_some()).map(|(&t, _)| t);
        }
        // Publishing looks for this person's own CCP among the tabs left, or withdraws.
        let mut out = self.publish();
        out.extend(self.update_if_idle());
        out
    }

    /// The dock's keyboard shortcut (`chrome.commands`): toggles the dock of the focused CCP tab,
    /// else of the one that reported last.
    pub fn toggle_dock(&self) -> Vec<Effect> {
        let focused = self.tabs.iter().find(|(_, t)| t.focused).map(|(&id, _)| id);
        focused.or(self.active_tab).map(|tab| vec![Effect::Tab(tab, WorkerToTab::Toggle)]).unwrap_or_default()
    }

    /// A message from a tab's content script, already decoded.
    pub fn on_tab(&mut self, tab: TabId, message: TabToWorker) -> Vec<Effect> {
        match message {
            TabToWorker::Focus { focused } => {
                self.tabs.get_or_insert_with(tab, Tab::default).focused = focused;
                Vec::new()
            }
            TabToWorker::Hook { event } => {
                if event.validate().is_err() {
                    return Vec::new();
                }
                match event {
                    HookEvent::Agent { agent } => {
                        self.tabs.get_or_insert_with(tab, Tab::default).agent = Some(agent.clone());
                        self.active_tab = Some(tab);
                        let mut out: Vec<Effect> = self
                            .panels
                            .iter()
                            .filter(|(_, t)| t.is_none() || **t == Some(tab))
                            .map(|(&p, _)| Effect::Panel(p, WorkerToPanel::Ccp { agent: Some(agent.clone()) }))
                            .collect();
                        out.extend(self.publish());
                        out.extend(self.update_if_idle());
                        out
                    }
                    HookEvent::Result { id, ok, error, code } => match self.commands.remove(&id) {
                        Some((panel, id)) => vec![Effect::Panel(panel, WorkerToPanel::Result { id, ok, error, code })],
                        None => Vec::new(),
                    },
                    HookEvent::Call { call } => {
                        // A call on a CCP logged in as someone else is not the signed-in
                        // person's: it stays out of their history, as their presence does.
                        let ccp = self.tabs.get(&tab).and_then(|t| t.agent.as_ref()).map(|a| a.username.as_str());
                        if let (Some(me), Some(ccp)) = (&self.me, ccp)
                            && !me.is_agent(ccp)
                        {
                            return Vec::new();
                        }
                        let duplicate = self
                            .calls_pending
                            .iter()
                            .any(|p| p.call.contact_id == call.contact_id && p.call.phase == call.phase);
                        if duplicate {
                            return Vec::new();
                        }
                        let ccp = ccp.map(str::to_owned);
                        self.calls_pending.push(PendingCall { call: call.clone(), ccp });
                        let mut out = vec![Effect::Save(Record::PendingCalls(self.calls_pending.clone()))];
                        out.extend(self.report(call));
                        out
                    }
                }
            }
        }
    }

    // ---- panels ---------------------------------------------------------------------------

    pub fn panel_opened(&mut self, panel: PanelId, tab: Option<TabId>) -> Vec<Effect> {
        self.panels.insert(panel, tab);
        vec![Effect::Panel(panel, WorkerToPanel::Snapshot { snapshot: Box::new(self.snapshot(tab)) })]
    }

    pub fn panel_closed(&mut self, panel: PanelId) {
        self.panels.remove(&panel);
        self.floors.remove(&panel);
        self.looking.retain(|p| *p != panel);
        self.commands.retain(|_, (p, _)| *p != panel);
    }

    /// A request from a panel.
    pub fn on_panel(&mut self, panel: PanelId, request: PanelToWorker, now: Millis) -> Vec<Effect> {
        match request {
            PanelToWorker::SendChat { to, text, client_id } => {
                let known = self.outbox.iter().any(|e| e.client_id == client_id)
                    || self.failed.iter().any(|f| f.entry.client_id == client_id);
                if known || to.is_empty() || text.trim().is_empty() {
                    return Vec::new();
                }
                let entry = OutboxEntry { to, text, client_id, queued_at: now };
                // Over the relay's limit: refused here, before it enters the outbox (the panel
                // refuses it too; this holds for any panel).
                if self.too_long(&entry.text) {
                    self.failed.push(FailedChat { entry, code: ErrorCode::TooLarge });
                    return self.failed_changed().to_vec();
                }
                self.outbox.push(entry);
                let mut out = self.outbox_changed().to_vec();
                out.extend(self.pump());
                out
            }
            PanelToWorker::Dismiss { client_id } => {
                let before = self.failed.len();
                self.failed.retain(|f| f.entry.client_id != client_id);
                if self.failed.len() == before { Vec::new() } else { self.failed_changed().to_vec() }
            }
            PanelToWorker::History { peer, before } => {
                if self.connection != Connection::Online {
                    return vec![Effect::Panel(
                        panel,
                        WorkerToPanel::History { peer, messages: Vec::new(), more: false },
                    )];
                }
                let id = self.id();
                self.waiting.insert(id, Waiting::History(panel, peer.clone()));
                vec![Effect::Relay(ClientFrame::History { id, peer, before, limit: Some(30) })]
            }
            PanelToWorker::MarkRead { peer, seq } => {
                let Some(c) = self.conversations.get_mut(&peer) else { return Vec::new() };
                if seq <= c.read_seq {
                    return Vec::new();
                }
                c.read_seq = seq.min(c.last_seq);
                c.unread = c.last_seq.saturating_sub(c.read_seq);
                let id = self.id();
                vec![
                    Effect::Relay(ClientFrame::MarkRead { id, peer, seq }),
                    self.conversations_push(),
                    self.badge(),
                    self.unread_to_tabs(),
                ]
            }
            PanelToWorker::Dial { id, phone, queue_arn } => {
                if self.connection == Connection::Online {
                    vec![Effect::Api(Api::Normalize { panel, id, phone, queue_arn })]
                } else {
                    // Without the relay the number cannot be checked: the CCP checks it.
                    self.command(panel, id, |id| HookCommand::Dial { id, phone, queue_arn })
                }
            }
            PanelToWorker::Calls { before } => vec![Effect::Api(Api::Calls { before: Some(before) })],
            PanelToWorker::Transfer { id, username } => {
                self.command(panel, id, |id| HookCommand::Transfer { id, username })
            }
            PanelToWorker::SignIn => self.sign_in(Prompt::Interactive),
            PanelToWorker::SignOut => self.sign_out(),
            PanelToWorker::Watch { rosters } => self.set_watch(rosters),
            PanelToWorker::DismissAlert { key } => self.dismiss_alert(&key),
            PanelToWorker::FloorFocus { visible_and_focused } => {
                self.looking.retain(|p| *p != panel);
                if visible_and_focused {
                    self.looking.push(panel);
                }
                Vec::new()
            }
            PanelToWorker::OpenFloor => self.open_floor(),
            PanelToWorker::AskHelp { reason, note } => self.ask_help(reason, note),
            PanelToWorker::CancelHelp { request } => self.change_help(panel, request, HelpAction::Cancel),
            PanelToWorker::TakeHelp { request } => self.change_help(panel, request, HelpAction::Take),
            PanelToWorker::CloseHelp { request } => self.change_help(panel, request, HelpAction::Close),
            PanelToWorker::HelpStats { since } => self.help_stats_since(since),
            PanelToWorker::MonitorAgent { id, agent, barge } => self.monitor_agent(panel, id, agent, barge),
            PanelToWorker::SetAgentStatus { id, agent, status } => self.set_agent_status(panel, id, agent, status),
        }
    }

    /// Sends the CCP a command, numbered by the worker; its result reaches `panel` under the
    /// panel's own `id`.
    fn command(&mut self, panel: PanelId, id: u64, command: impl FnOnce(u64) -> HookCommand) -> Vec<Effect> {
        let tab = self.panels.get(&panel).copied().flatten().filter(|t| self.tabs.contains_key(t)).or(self.active_tab);
        let Some(tab) = tab else {
            let error = Some("no CCP tab is open".to_owned());
            let code = Some("no_ccp".to_owned());
            return vec![Effect::Panel(panel, WorkerToPanel::Result { id, ok: false, error, code })];
        };
        let ours = self.id();
        self.commands.insert(ours, (panel, id));
        vec![Effect::Tab(tab, WorkerToTab::Command { command: command(ours) })]
    }
}

#[cfg(test)]
mod tests;
