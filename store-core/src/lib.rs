//! The storage trait every backend implements (SQLite in the relay, DynamoDB in
//! `store-dynamodb`), the records it stores, how a call's record advances, and the conformance
//! suite every backend passes.
//!
//! The trait is shaped so that a key-value store with conditional writes (DynamoDB) can
//! implement it: every write is keyed, the only read-modify-writes are "append with the next
//! sequence number unless this client id is already stored", "raise a read marker", "replace
//! presence unless the stored one is newer" and "advance a help request's status", and no method
//! needs a join or an ad-hoc query.
//! `store::conformance` is the suite every backend must pass.

pub mod calls;
pub mod conformance;

use async_trait::async_trait;
use protocol::{
    CallEvent, CallRecord, ChatMessage, ConversationSummary, DirectoryUser, HelpRequest, HelpStatus, Millis, Presence,
    RoutingProfile,
};

/// A message to append; the store assigns its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub from: String,
    pub to: String,
    pub client_id: String,
    pub text: String,
    pub sent_at: Millis,
}

/// The outcome of an append: the stored message, and whether it was already there (a resend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: ChatMessage,
    pub duplicate: bool,
}

/// One agent's last reported presence and when the relay last heard from them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PresenceRecord {
    pub presence: Presence,
    pub seen_at: Millis,
}

/// A help request to store; the store assigns its id. It is stored `open`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHelp {
    pub agent: String,
    pub display_name: String,
    pub roster: String,
    pub reason: String,
    pub note: String,
    pub asked_at: Millis,
}

impl NewHelp {
    /// The request as stored under `id`.
    pub fn stored(self, id: u64) -> HelpRequest {
        HelpRequest {
            id,
            agent: self.agent,
            display_name: self.display_name,
            roster: self.roster,
            reason: self.reason,
            note: self.note,
            asked_at: self.asked_at,
            status: HelpStatus::Open,
            taken_by: None,
            taken_by_name: None,
            taken_at: None,
            ended_at: None,
        }
    }
}

/// How far a help request's status has gone: a stored request is replaced only by one further
/// on. Closed and cancelled are both ends, so neither replaces the other.
pub fn help_rank(status: HelpStatus) -> i64 {
    match status {
        HelpStatus::Open => 0,
        HelpStatus::Taken => 1,
        HelpStatus::Closed | HelpStatus::Cancelled => 2,
    }
}

/// Why a store operation failed. The detail is logged, never sent to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store data corrupt: {0}")]
    Corrupt(String),
}

/// Durable storage for presence snapshots, conversations, messages, read markers and the
/// directory. Conversations are the unordered pair of participants: `(a, b)` and `(b, a)` name
/// the same one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Appends a message with the conversation's next sequence number, durably, before
    /// returning. If `(from, client_id)` is already stored in the conversation, returns that
    /// message with `duplicate: true` and stores nothing.
    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError>;

    /// Messages of the conversation with `seq > after`, oldest first, at most `limit`.
    async fn messages_after(&self, a: &str, b: &str, after: u64, limit: u32) -> Result<Vec<ChatMessage>, StoreError>;

    /// Messages of the conversation with `seq < before` (all when `None`), newest first, at
    /// most `limit`.
    async fn history(&self, a: &str, b: &str, before: Option<u64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError>;

    /// Every conversation `principal` takes part in, with its read marker and unread count.
    async fn conversations(&self, principal: &str) -> Result<Vec<ConversationSummary>, StoreError>;

    /// Raises `principal`'s read marker in the conversation with `peer` to `seq` (never lowers
    /// it, never past the last message) and returns the marker now stored.
    async fn mark_read(&self, principal: &str, peer: &str, seq: u64) -> Result<u64, StoreError>;

    /// Stores a presence record unless the stored one was applied later (`seen_at`, the relay's
    /// clock when it applied the change: writes may arrive out of order, but the presence hub
    /// decides which report wins, and may take one with an earlier state start, e.g. from a
    /// device whose clock differs once the other stopped reporting). Returns whether it was
    /// stored.
    async fn put_presence(&self, record: &PresenceRecord) -> Result<bool, StoreError>;

    /// Every stored presence record.
    async fn load_presence(&self) -> Result<Vec<PresenceRecord>, StoreError>;

    /// Replaces the whole directory.
    async fn put_directory(&self, users: &[DirectoryUser]) -> Result<(), StoreError>;

    /// The whole directory.
    async fn directory(&self) -> Result<Vec<DirectoryUser>, StoreError>;

    /// Replaces every routing profile (the caller IDs) and records when they were read from
    /// Connect (`None` for a directory file).
    async fn put_routing_profiles(
        &self,
        profiles: &[RoutingProfile],
        synced_at: Option<Millis>,
    ) -> Result<(), StoreError>;

    /// The routing profiles and when they were read from Connect.
    async fn routing_profiles(&self) -> Result<(Vec<RoutingProfile>, Option<Millis>), StoreError>;

    /// Applies one report of `principal`'s outbound call ([`calls::advance`]) and returns
    /// the call's record. Keyed by `(principal, contact_id)`: nobody else's call can change.
    async fn record_call(
        &self,
        principal: &str,
        event: &CallEvent,
        caller_id: Option<String>,
    ) -> Result<CallRecord, StoreError>;

    /// `principal`'s calls started before `before` (exclusive), newest first, at most `limit`.
    async fn calls(&self, principal: &str, before: Option<Millis>, limit: u32) -> Result<Vec<CallRecord>, StoreError>;

    /// Deletes up to `limit` chat messages sent, and up to `limit` calls started, before `before`
    /// (the retention period). Conversations keep their sequence numbers, so nothing is ever
    /// numbered twice. Returns how many messages and calls went; call again while either is
    /// `limit`.
    async fn expire(&self, before: Millis, limit: u32) -> Result<(u64, u64), StoreError>;

    /// Stores a new help request under the next id (never one used before) and returns it.
    async fn add_help(&self, request: NewHelp) -> Result<HelpRequest, StoreError>;

    /// Replaces a stored help request by this one if its status is further on
    /// ([`help_rank`]); returns whether it was stored. An unknown id stores nothing.
    async fn update_help(&self, request: &HelpRequest) -> Result<bool, StoreError>;

    /// One help request, whatever its status.
    async fn help(&self, id: u64) -> Result<Option<HelpRequest>, StoreError>;

    /// Every open or taken help request, by id.
    async fn live_help(&self) -> Result<Vec<HelpRequest>, StoreError>;

    /// Every help request asked at or after `since`, by id.
    async fn help_asked_since(&self, since: Millis) -> Result<Vec<HelpRequest>, StoreError>;

    /// Deletes up to `limit` closed or cancelled help requests asked before `before` (the
    /// retention period; open and taken ones stay whatever their age). Returns how many went;
    /// call again while it is `limit`.
    async fn expire_help(&self, before: Millis, limit: u32) -> Result<u64, StoreError>;

    /// Whether the store answers; for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Requests sent to a remote database so far (every attempt), for `/metrics` and the
    /// benchmark's cost figures; `None` for an embedded store.
    fn requests(&self) -> Option<u64> {
        None
    }
}

/// The canonical key of a conversation: its participants in order.
pub fn pair<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}
