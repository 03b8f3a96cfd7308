//! Messages between the panel (the extension page in the dock's iframe) and the worker, over a
//! `chrome.runtime` port named [`PANEL_PORT`].
//!
//! The worker holds the relay connection and the state; a panel that connects is sent a
//! [`PanelSnapshot`] and then every change. Requests that the CCP answers (dial, transfer) carry
//! an id the [`WorkerToPanel::Result`] echoes.

use serde::{Deserialize, Serialize};

use crate::hook::CcpAgent;
use crate::tagged::tagged_enum;
use crate::{CallPage, CallerIds, ChatMessage, ConversationSummary, Millis, Presence};

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
    }
}

/// Worker -> panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkerToPanel {
    Snapshot {
        snapshot: Box<PanelSnapshot>,
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
        caller_ids: CallerIds,
    },
    /// The newest page of the agent's outbound calls (`before` absent), or an older one.
    Calls {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
        page: CallPage,
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

/// Everything a panel shows, at the moment it connects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PanelSnapshot {
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
    pub caller_ids: Option<CallerIds>,
    #[serde(default)]
    pub calls: Option<CallPage>,
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
    /// Lost; retrying at `retry_at`.
    Offline {
        retry_at: Millis,
        reason: String,
    },
    /// Will not retry by itself (bad configuration, refused sign-in).
    Failed {
        reason: String,
    },
}
