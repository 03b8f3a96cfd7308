//! Messages between the panel (the extension page in the dock's iframe) and the worker, over a
//! `chrome.runtime` port named [`PANEL_PORT`].
//!
//! The worker holds the relay connection and the state; a panel that connects is sent a
//! [`PanelSnapshot`] and then every change. Requests that the CCP answers (dial, transfer) carry
//! an id the [`WorkerToPanel::Result`] echoes; a supervisor's requests the relay answers through
//! Amazon Connect (listen in, set an agent's status) carry an id their answer echoes
//! ([`WorkerToPanel::Monitoring`], [`WorkerToPanel::AgentStatusSet`],
//! [`WorkerToPanel::SupervisorRefused`]).

use serde::{Deserialize, Serialize};

use crate::hook::CcpAgent;
use crate::tagged::tagged_enum;
use crate::{
    AlertKey, CallPage, CallerIds, ChatMessage, ConnectFeed, ConversationSummary, ErrorCode, HelpRequest, HelpStats,
    Limits, Millis, Presence,
};

/// The name of the port a panel opens to the worker.
pub const PANEL_PORT: &str = "panel";

tagged_enum! {
    /// Panel -> worker.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum PanelToWorker {
        /// Queue a message; it is kept until the relay acknowledges it, across restarts.
        SendChat {
            to: String,
            text: String,
            client_id: String,
        },
        /// One page of a conversation, newest first before `before` (or the newest page).
        History {
            peer: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            before: Option<u64>,
        },
        MarkRead {
            peer: String,
            seq: u64,
        },
        /// Forget a message that could not be sent (the panel put its text back in the composer,
        /// or the agent discarded it).
        Dismiss {
            client_id: String,
        },
        /// Dial `phone` (as typed: the relay checks it and makes it E.164 first) through the
        /// CCP, with the caller ID of `queue_arn`.
        Dial {
            id: u64,
            phone: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            queue_arn: Option<String>,
        },
        /// Transfer the current contact to the colleague with this Connect username.
        Transfer {
            id: u64,
            username: String,
        },
        /// The next (older) page of the outbound call history.
        Calls {
            before: i64,
        },
        SignIn,
        SignOut,
        /// Supervisors: the teams (rosters) the floor shows, remembered by the worker; `None`
        /// for every roster.
        Watch {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            rosters: Option<Vec<String>>,
        },
        /// Supervisors: hide one alert episode, in every panel and from the toolbar badge.
        DismissAlert {
            key: AlertKey,
        },
        /// Supervisors: whether this panel's floor is visible and focused (no notifications are
        /// due then: the supervisor is looking at the alerts).
        FloorFocus {
            visible_and_focused: bool,
        },
        /// Supervisors: open the full-tab floor (or bring it to the front).
        OpenFloor,
        /// Agents: ask the supervisors watching their roster for help. Kept by the worker until
        /// the relay answers, and asked again after a reconnect (the relay answers a second ask
        /// while the first is open with the first).
        AskHelp {
            reason: String,
            #[serde(default)]
            note: String,
        },
        /// Agents: withdraw their open request.
        CancelHelp {
            request: u64,
        },
        /// Supervisors: take a request (the panel then opens the chat with the agent).
        TakeHelp {
            request: u64,
        },
        /// Supervisors: close a request they took.
        CloseHelp {
            request: u64,
        },
        /// Supervisors: the day's help figures from `since` (the panel's local midnight); the
        /// worker asks again after every change of a request, and the panel when the day turns.
        HelpStats {
            since: Millis,
        },
        /// Supervisors: listen in on (with `barge`, barge in on) the current contact of `agent`
        /// (a principal). Connect puts the supervisor's own CCP on the contact; answered by
        /// [`WorkerToPanel::Monitoring`] or [`WorkerToPanel::SupervisorRefused`] with `id`.
        MonitorAgent {
            id: u64,
            agent: String,
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            barge: bool,
        },
        /// Supervisors: set the Connect agent status of `agent` (a principal) to `status` (an id
        /// from the [`ConnectFeed`]'s statuses); answered by [`WorkerToPanel::AgentStatusSet`] or
        /// [`WorkerToPanel::SupervisorRefused`] with `id`.
        SetAgentStatus {
            id: u64,
            agent: String,
            status: String,
        },
    }
}

tagged_enum! {
    /// Worker -> panel.
    ///
    /// `C` and `P` are the caller IDs and a call-history page: typed for the panel (the defaults),
    /// [`crate::Relayed`] in the worker, which passes the relay's JSON on without reading it. Both
    /// write the same JSON.
    #[derive(Debug, Clone, PartialEq)]
    pub enum WorkerToPanel<C = CallerIds, P = CallPage> {
        Snapshot {
            snapshot: Box<PanelSnapshot<C, P>>,
        },
        Connection {
            connection: Connection,
        },
        Me {
            me: Option<Me>,
        },
        Presence {
            presence: Presence,
        },
        /// The whole roster, after a (re)subscribe.
        Roster {
            agents: Vec<Presence>,
        },
        /// This tab's agent as the CCP reports it (`None` until Streams is ready).
        Ccp {
            agent: Option<CcpAgent>,
        },
        /// A stored message, sent or received.
        Chat {
            message: ChatMessage,
        },
        Outbox {
            pending: Vec<OutboxEntry>,
        },
        /// Messages that will never be sent as they are (too long, refused by the relay), with the
        /// reason; shown in their conversation until dismissed. The whole list, after each change.
        Failed {
            failed: Vec<FailedChat>,
        },
        Conversations {
            conversations: Vec<ConversationSummary>,
        },
        History {
            peer: String,
            messages: Vec<ChatMessage>,
            more: bool,
        },
        /// The caller IDs the relay says this agent may use (after sign-in).
        CallerIds {
            caller_ids: C,
        },
        /// The newest page of the agent's outbound calls (`before` absent), or an older one.
        Calls {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            before: Option<i64>,
            page: P,
        },
        /// A chat request the relay refused (a conversation's history, say): shown in that
        /// conversation, in the agent's language by `code`, never in another view.
        ChatRefused {
            peer: String,
            code: ErrorCode,
            message: String,
        },
        /// Supervisors: alert episodes dismissed since (in any panel).
        Dismissed {
            keys: Vec<AlertKey>,
        },
        /// Supervisors: the teams the floor shows now (`None`: every roster).
        Watching {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            rosters: Option<Vec<String>>,
        },
        /// The live help requests this person sees (their own; a supervisor's, those of the rosters
        /// watched), oldest first. The whole list, after each change.
        Help {
            requests: Vec<HelpRequest>,
            /// Agents: whether an ask is on its way (sent, not answered yet).
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            asking: bool,
            /// Agents: how many supervisors the relay told of their request when they asked (0:
            /// nobody is connected to see it yet; it waits for them).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            reach: Option<u32>,
        },
        /// Supervisors: the day's figures per roster watched.
        HelpStats {
            stats: Vec<HelpStats>,
        },
        /// A help request the relay refused (`already_taken`, `not_found`, ...), for the panel that
        /// asked to put in words.
        HelpRefused {
            code: ErrorCode,
        },
        /// How fresh the presence from Amazon Connect is and the statuses a supervisor may set, as
        /// the relay last said (`None`: it has said nothing on this sign-in; it does not read
        /// Connect).
        ConnectFeed {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            feed: Option<ConnectFeed>,
        },
        /// Supervisors, to the panel that asked: Connect put them on `agent`'s contact; their CCP
        /// has the monitoring contact `contact_id`.
        Monitoring {
            id: u64,
            agent: String,
            contact_id: String,
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            barge: bool,
        },
        /// Supervisors, to the panel that asked: `agent`'s Connect status is now `status`.
        AgentStatusSet {
            id: u64,
            agent: String,
            status: String,
        },
        /// Supervisors, to the panel that asked: the relay (or Connect) refused a listen-in or a
        /// status change, or it could not be sent (`unavailable`). For the panel to put in words by
        /// `code`; `message` is the relay's detail (Connect's own words for `connect_failed`).
        SupervisorRefused {
            id: u64,
            agent: String,
            code: ErrorCode,
            #[serde(default, skip_serializing_if = "String::is_empty")]
            message: String,
        },
        /// The answer to a dial or transfer. On failure `code` names the reason for the panel to put
        /// in words: `invalid_number` (the relay's check) or a Streams error type.
        Result {
            id: u64,
            ok: bool,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            error: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            code: Option<String>,
        },
    }
}

/// Everything a panel shows, at the moment it connects (`C` and `P` as in [`WorkerToPanel`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "C: Deserialize<'de>, P: Deserialize<'de>"))]
pub struct PanelSnapshot<C = CallerIds, P = CallPage> {
    pub connection: Connection,
    #[serde(default)]
    pub me: Option<Me>,
    #[serde(default)]
    pub roster: Vec<Presence>,
    #[serde(default)]
    pub conversations: Vec<ConversationSummary>,
    #[serde(default)]
    pub ccp: Option<CcpAgent>,
    #[serde(default)]
    pub outbox: Vec<OutboxEntry>,
    #[serde(default)]
    pub failed: Vec<FailedChat>,
    #[serde(default)]
    pub caller_ids: Option<C>,
    #[serde(default)]
    pub calls: Option<P>,
    /// Supervisors: the teams the floor shows (`None`: every roster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Vec<String>>,
    /// Supervisors: the alert episodes dismissed and not over yet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dismissed: Vec<AlertKey>,
    /// The live help requests this person sees, as [`WorkerToPanel::Help`] sends them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub help: Vec<HelpRequest>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub help_asking: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_reach: Option<u32>,
    /// Supervisors: the day's help figures, once asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub help_stats: Vec<HelpStats>,
    /// The relay's last word on Amazon Connect's data, as [`WorkerToPanel::ConnectFeed`] sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_feed: Option<ConnectFeed>,
}

impl<C, P> Default for PanelSnapshot<C, P> {
    fn default() -> Self {
        Self {
            connection: Connection::default(),
            me: None,
            roster: Vec::new(),
            conversations: Vec::new(),
            ccp: None,
            outbox: Vec::new(),
            failed: Vec::new(),
            caller_ids: None,
            calls: None,
            watch: None,
            dismissed: Vec::new(),
            help: Vec::new(),
            help_asking: false,
            help_reach: None,
            help_stats: Vec::new(),
            connect_feed: None,
        }
    }
}

/// The signed-in principal, as the relay's welcome named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub principal: String,
    pub display_name: String,
    pub supervisor: bool,
    pub roster: String,
    /// The Connect username the relay's directory holds for the principal, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// What the relay accepts (the chat text limit, in characters, for the composer).
    pub limits: Limits,
}

impl Me {
    /// Whether a CCP logged in as `ccp_username` is this principal's (see [`crate::same_agent`]).
    pub fn is_agent(&self, ccp_username: &str) -> bool {
        crate::same_agent(&self.principal, self.username.as_deref(), ccp_username)
    }
}

/// A message typed but not yet acknowledged by the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub to: String,
    pub text: String,
    pub client_id: String,
    pub queued_at: Millis,
}

/// A message the relay will not take as it is, kept for the agent to see and edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedChat {
    pub entry: OutboxEntry,
    /// Why: `too_large` (over `limits.max_text_chars`), or the relay's refusal.
    pub code: ErrorCode,
}

/// The worker's link to the relay, as the panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Connection {
    /// No configuration yet, or signed out.
    #[default]
    SignedOut,
    SigningIn,
    Connecting,
    Online,
    /// Lost, or not reached yet; retrying by itself at `retry_at`.
    Offline {
        retry_at: Millis,
        problem: Problem,
    },
    /// Will not retry by itself (bad configuration, refused sign-in). `detail` is for logs and a
    /// tooltip, in the words of whoever refused (often English); the panel shows `problem`.
    Failed {
        problem: Problem,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
}

/// Why the link is down, for the panel to put in the agent's words (`problem_<code>` in
/// `_locales`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Neither the relay nor the sign-in could be reached (network, relay down).
    Unreachable,
    /// The relay is restarting; it told us to reconnect.
    Restarting,
    /// The relay closed the connection for another reason it gave a reconnect code for.
    Dropped,
    /// The relay refused the sign-in (token refused, identity not allowed).
    Refused,
    /// The extension is not allowed by the relay (origin) or speaks another protocol version.
    Incompatible,
    /// Too many connections for this person (other browsers or devices).
    Replaced,
    /// The interactive sign-in failed or was cancelled.
    SignInFailed,
    /// The settings name no valid relay address or issuer.
    BadSettings,
}

impl Problem {
    pub const ALL: [Self; 8] = [
        Self::Unreachable,
        Self::Restarting,
        Self::Dropped,
        Self::Refused,
        Self::Incompatible,
        Self::Replaced,
        Self::SignInFailed,
        Self::BadSettings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Restarting => "restarting",
            Self::Dropped => "dropped",
            Self::Refused => "refused",
            Self::Incompatible => "incompatible",
            Self::Replaced => "replaced",
            Self::SignInFailed => "sign_in_failed",
            Self::BadSettings => "bad_settings",
        }
    }
}
