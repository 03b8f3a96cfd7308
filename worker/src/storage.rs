//! What the worker keeps in `chrome.storage`, and under which key: the one place that names a
//! key (plain Rust, host-tested). The core decides what to save ([`Record`]) and what to read
//! ([`Key`]); the runtime only reads and writes `key.name()` in `key.area()`.

use std::borrow::Cow;

use floor::Thresholds;
use floor::alerts::SeenEpisode;
use protocol::Cursor;
use protocol::panel::{FailedChat, OutboxEntry};

use crate::auth::Session;
use crate::core::PendingCall;

/// Where a key lives: `local` survives a browser restart; `session` (the ID token) does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Local,
    Session,
}

/// A storage key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// Chat messages not yet acknowledged by the relay.
    Outbox,
    /// Messages the relay will not take as they are, until the agent edits or discards them.
    FailedChats,
    /// Call reports the relay has not confirmed.
    PendingCalls,
    /// The chat cursors of one account, by the ID token's `sub` (see [`crate::auth::account_key`]):
    /// known before connecting, unlike the relay's principal.
    Cursors(String),
    /// The ID token and its expiry.
    Session,
    /// Set when the person signs out; removed by their next sign-in.
    SignedOut,
    /// Supervisors: the rosters the floor shows (absent: all).
    Watch,
    /// Supervisors: the alert episodes notified or dismissed, so a restarted worker neither
    /// notifies them again nor shows a dismissed one.
    AlertsSeen,
}

impl Key {
    pub fn name(&self) -> Cow<'static, str> {
        match self {
            Self::Outbox => "outbox".into(),
            Self::FailedChats => "failed_chats".into(),
            Self::PendingCalls => "pending_calls".into(),
            Self::Cursors(owner) => format!("cursors:{owner}").into(),
            Self::Session => "session".into(),
            Self::SignedOut => "signed_out".into(),
            Self::Watch => "floor_watch".into(),
            Self::AlertsSeen => "alerts_seen".into(),
        }
    }

    pub fn area(&self) -> Area {
        match self {
            Self::Session => Area::Session,
            _ => Area::Local,
        }
    }
}

/// A value to save, which names its own key.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Outbox(Vec<OutboxEntry>),
    FailedChats(Vec<FailedChat>),
    PendingCalls(Vec<PendingCall>),
    Cursors {
        owner: String,
        cursors: Vec<Cursor>,
    },
    Session(Session),
    /// Saved as `true`.
    SignedOut,
    Watch(Vec<String>),
    AlertsSeen(Vec<SeenEpisode>),
}

impl Record {
    pub fn key(&self) -> Key {
        match self {
            Self::Outbox(_) => Key::Outbox,
            Self::FailedChats(_) => Key::FailedChats,
            Self::PendingCalls(_) => Key::PendingCalls,
            Self::Cursors { owner, .. } => Key::Cursors(owner.clone()),
            Self::Session(_) => Key::Session,
            Self::SignedOut => Key::SignedOut,
            Self::Watch(_) => Key::Watch,
            Self::AlertsSeen(_) => Key::AlertsSeen,
        }
    }
}

/// What the worker reads at start-up (under [`Key::Outbox`], [`Key::FailedChats`],
/// [`Key::PendingCalls`], [`Key::Session`], [`Key::SignedOut`], [`Key::Watch`] and
/// [`Key::AlertsSeen`], and the settings' alert thresholds); the cursors are read once the
/// account is known ([`crate::core::Effect::Load`]).
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub outbox: Vec<OutboxEntry>,
    pub failed: Vec<FailedChat>,
    pub calls: Vec<PendingCall>,
    pub session: Option<Session>,
    pub signed_out: bool,
    pub watch: Option<Vec<String>>,
    pub seen: Vec<SeenEpisode>,
    /// Managed policy over the options page over the defaults.
    pub thresholds: Thresholds,
    /// The rosters a supervisor's floor covers, by policy (`None`: every roster).
    pub scope: Option<Vec<String>>,
}
