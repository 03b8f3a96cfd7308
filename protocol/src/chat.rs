//! Chat messages, conversation summaries and resume cursors.
//!
//! A conversation is the unordered pair of its two participants; clients name it by the peer.
//! Sequence numbers are assigned by the relay per conversation, starting at 1.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub from: String,
    pub to: String,
    pub seq: u64,
    /// The sender's id for this message; resending with the same id never duplicates.
    pub client_id: String,
    pub text: String,
    pub sent_at: Millis,
}

impl ChatMessage {
    /// The other participant, seen from `me`.
    pub fn peer_of<'a>(&'a self, me: &str) -> &'a str {
        if self.from == me { &self.to } else { &self.from }
    }
}

/// One conversation as seen by one participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub peer: String,
    pub last_seq: u64,
    /// The highest sequence number this participant has marked read.
    pub read_seq: u64,
    /// Messages from the peer after `read_seq`.
    pub unread: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<ChatMessage>,
}

/// The last sequence number a client saw in one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub peer: String,
    pub seq: u64,
}
