//! Frames a client sends to the relay.

use serde::{Deserialize, Serialize};

use crate::{AgentState, CallEvent, ContactSummary, Cursor, Millis};

/// Every frame a client may send. The first must be [`ClientFrame::Hello`]; every other
/// variant carries an `id` that the relay echoes in its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Authenticates the connection with an OIDC ID token, or with a single-use ticket from
    /// `POST /api/v1/ws-ticket` (exactly one of the two). Answered by `welcome` or an error and
    /// a close.
    Hello {
        protocol: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// Replaces the connection's token before it expires.
    Reauth { id: u64, token: String },
    /// Keeps the connection alive; answered by `pong`.
    Ping { id: u64 },
    /// Subscribes to rosters' presence: a `roster` snapshot, then `presence` pushes. Without
    /// `roster` and `rosters` the principal's own; supervisors may name another roster, several
    /// (`rosters`), or `"*"` for every one. Replaces the connection's previous subscription.
    Subscribe {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        roster: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rosters: Vec<String>,
    },
    /// Publishes the sender's own presence, as the CCP reports it.
    SetPresence {
        id: u64,
        state: AgentState,
        since: Millis,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<ContactSummary>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        username: Option<String>,
        /// The current contact's id as the CCP reports it: kept by the relay for a supervisor's
        /// `monitor_agent`, never sent to colleagues.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<String>,
    },
    /// No CCP of the sender's reports any more on this connection (the last CCP tab closed):
    /// the relay shows the agent Offline after its grace period unless a CCP reports again,
    /// on this or another connection. Answered by `ok`.
    ClearPresence { id: u64 },
    /// Sends a chat message to `to`. Answered by `chat_ack` once it is durably stored.
    SendChat { id: u64, to: String, client_id: String, text: String },
    /// Lists the sender's conversations with unread counts.
    Conversations { id: u64 },
    /// Everything after the given cursors, plus every conversation's summary.
    Sync {
        id: u64,
        #[serde(default)]
        cursors: Vec<Cursor>,
    },
    /// A page of history with `peer`, newest first, before `before` (exclusive).
    History {
        id: u64,
        peer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Marks the conversation with `peer` read up to `seq`.
    MarkRead { id: u64, peer: String, seq: u64 },
    /// Records a step of one of the sender's own outbound calls in their call history.
    ReportCall { id: u64, call: CallEvent },
    /// Asks the supervisors watching the sender's roster for help. Answered by `help_ack`.
    AskHelp {
        id: u64,
        reason: String,
        #[serde(default)]
        note: String,
    },
    /// Withdraws the sender's own request while nobody has taken it.
    CancelHelp { id: u64, request: u64 },
    /// A supervisor watching the request's roster takes it.
    TakeHelp { id: u64, request: u64 },
    /// The supervisor who took the request closes it.
    CloseHelp { id: u64, request: u64 },
    /// Open and taken requests the sender may see, and (for supervisors, with `since`) each
    /// watched roster's figures for requests asked since then. Answered by `help_requests`.
    HelpRequests {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Millis>,
    },
    /// A supervisor listens in on (or, with `barge`, may barge in on) the current contact of
    /// `agent`, a principal in a roster the supervisor watches: the relay calls Connect's
    /// `MonitorContact` for the supervisor's own Connect user, whose CCP then receives the
    /// monitoring contact. Answered by `monitoring`.
    MonitorAgent {
        id: u64,
        agent: String,
        #[serde(default)]
        barge: bool,
    },
    /// A supervisor sets the Connect agent status of `agent` (a principal in a roster the
    /// supervisor watches) to the status `status` (an id from `connect_feed`). Answered by `ok`.
    SetAgentStatus { id: u64, agent: String, status: String },
}

impl ClientFrame {
    /// The request id, for every frame but `hello`.
    pub fn id(&self) -> Option<u64> {
        match self {
            Self::Hello { .. } => None,
            Self::Reauth { id, .. }
            | Self::Ping { id }
            | Self::Subscribe { id, .. }
            | Self::SetPresence { id, .. }
            | Self::ClearPresence { id }
            | Self::SendChat { id, .. }
            | Self::Conversations { id }
            | Self::Sync { id, .. }
            | Self::History { id, .. }
            | Self::MarkRead { id, .. }
            | Self::ReportCall { id, .. }
            | Self::AskHelp { id, .. }
            | Self::CancelHelp { id, .. }
            | Self::TakeHelp { id, .. }
            | Self::CloseHelp { id, .. }
            | Self::HelpRequests { id, .. }
            | Self::MonitorAgent { id, .. }
            | Self::SetAgentStatus { id, .. } => Some(*id),
        }
    }

    /// The frame's `type` tag, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello { .. } => "hello",
            Self::Reauth { .. } => "reauth",
            Self::Ping { .. } => "ping",
            Self::Subscribe { .. } => "subscribe",
            Self::SetPresence { .. } => "set_presence",
            Self::ClearPresence { .. } => "clear_presence",
            Self::SendChat { .. } => "send_chat",
            Self::Conversations { .. } => "conversations",
            Self::Sync { .. } => "sync",
            Self::History { .. } => "history",
            Self::MarkRead { .. } => "mark_read",
            Self::ReportCall { .. } => "report_call",
            Self::AskHelp { .. } => "ask_help",
            Self::CancelHelp { .. } => "cancel_help",
            Self::TakeHelp { .. } => "take_help",
            Self::CloseHelp { .. } => "close_help",
            Self::HelpRequests { .. } => "help_requests",
            Self::MonitorAgent { .. } => "monitor_agent",
            Self::SetAgentStatus { .. } => "set_agent_status",
        }
    }
}
