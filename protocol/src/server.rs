//! Frames the relay sends to a client: replies (with the request's `id`) and pushes.

use crate::tagged::tagged_enum;
use crate::{
    ChatMessage, ConnectFeed, ConversationSummary, ErrorBody, HelpRequest, HelpStats, Limits, Millis, Presence,
};

tagged_enum! {
    /// Every frame the relay may send.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ServerFrame {
        /// The reply to `hello`: who the relay thinks you are and the limits it enforces.
        Welcome {
            protocol: u32,
            principal: String,
            display_name: String,
            supervisor: bool,
            roster: String,
            /// The Connect username the relay's directory holds for the principal, if it holds
            /// one. Presence is accepted only from a CCP logged in under it (see
            /// [`crate::same_agent`]).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            username: Option<String>,
            /// When the token expires; `reauth` before then.
            expires_at: Millis,
            limits: Limits,
        },
        /// The reply to a request that returns nothing else.
        Ok {
            id: u64,
        },
        Pong {
            id: u64,
        },
        /// The reply to `subscribe`: every agent in the roster now, in one or more frames with the
        /// request's `id` (small frames keep every connection's buffers small); `complete` is true
        /// on the last. Pushes for the roster follow only after it.
        Roster {
            id: u64,
            roster: String,
            agents: Vec<Presence>,
            complete: bool,
        },
        /// Push: one agent's presence changed.
        Presence {
            presence: Presence,
        },
        /// The reply to `send_chat`: the message is durably stored under `seq`.
        ChatAck {
            id: u64,
            client_id: String,
            peer: String,
            seq: u64,
            sent_at: Millis,
            duplicate: bool,
        },
        /// Push: a message in one of your conversations (including ones you sent from elsewhere).
        Chat {
            message: ChatMessage,
        },
        Conversations {
            id: u64,
            conversations: Vec<ConversationSummary>,
        },
        /// The reply to `sync`: messages after the cursors, oldest first. When `more` is true, sync
        /// again with the new cursors.
        Synced {
            id: u64,
            conversations: Vec<ConversationSummary>,
            messages: Vec<ChatMessage>,
            more: bool,
        },
        /// The reply to `history`: newest first; `more` when older messages exist.
        History {
            id: u64,
            peer: String,
            messages: Vec<ChatMessage>,
            more: bool,
        },
        /// Push: you marked a conversation read on another connection.
        ReadMarker {
            peer: String,
            seq: u64,
        },
        /// The reply to `ask_help`, `cancel_help`, `take_help` and `close_help`: the request as
        /// now stored, and how many supervisors (people, not connections) watching its roster
        /// were told of it now. For `ask_help`, 0 means nobody is connected to see it yet; it
        /// stays open and stored. `duplicate`: nothing changed (an `ask_help` while the agent's
        /// request was still open, or a change the sender had already made).
        HelpAck {
            id: u64,
            // Boxed, here and in `Help`: a request is larger than any other frame.
            request: Box<HelpRequest>,
            supervisors: u32,
            duplicate: bool,
        },
        /// Push: a help request you may see was asked or changed. A request's status never goes
        /// back: keep the furthest one you have seen.
        Help {
            request: Box<HelpRequest>,
        },
        /// The reply to `help_requests`: open and taken requests, oldest first, and the figures
        /// per watched roster since the `since` asked for.
        HelpRequests {
            id: u64,
            requests: Vec<HelpRequest>,
            stats: Vec<HelpStats>,
        },
        /// Push, to roster subscribers of a relay that reads Connect: after the snapshot and
        /// whenever it changes, how fresh the presence from Connect is and which statuses a
        /// supervisor may set.
        ConnectFeed {
            feed: ConnectFeed,
        },
        /// The reply to `monitor_agent`: Connect put the supervisor on the agent's contact; their
        /// CCP receives the monitoring contact `contact_id`.
        Monitoring {
            id: u64,
            agent: String,
            contact_id: String,
            barge: bool,
        },
        /// A request failed (`id` set) or the connection broke a rule (`id` absent).
        Error {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            id: Option<u64>,
            error: ErrorBody,
        },
    }
}

impl ServerFrame {
    /// Encodes the frame as JSON text. Serialising these types cannot fail: every map key is a
    /// string and no type has a fallible `Serialize`.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            r#"{"type":"error","error":{"code":"internal","message":"encode","retryable":true}}"#.to_owned()
        })
    }
}
