//! Help requests: an agent asks the supervisors who watch their roster for help, one supervisor
//! takes the request, and closes it when done (or the agent cancels it while nobody has).
//!
//! A request's life only moves forward: `open` → `taken` → `closed`, or `open` → `cancelled`.
//! The relay assigns ids, stamps the times with its own clock, and takes the agent, their display
//! name and roster from the connection: nothing in a frame can name another agent as the sender.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// The reasons the panel offers when managed policy sets none, as keys the panel translates.
/// A policy may set its own labels instead; the relay accepts any reason of 1 to
/// [`MAX_REASON_CHARS`] characters.
pub const DEFAULT_HELP_REASONS: [&str; 4] = ["complaint", "product", "escalation", "other"];

/// Longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 64;

/// Longest note, in characters (Unicode scalar values).
pub const MAX_NOTE_CHARS: usize = 500;

/// Where a request is in its life. Ordered: a request never moves to an earlier status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelpStatus {
    /// Waiting for a supervisor.
    Open,
    /// A supervisor is on it (`taken_by`).
    Taken,
    /// The supervisor who took it closed it.
    Closed,
    /// The agent withdrew it before anyone took it.
    Cancelled,
}

impl HelpStatus {
    /// Whether the request is still live: open or taken.
    pub fn live(self) -> bool {
        matches!(self, Self::Open | Self::Taken)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Taken => "taken",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One help request as the relay stores and sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpRequest {
    /// Assigned by the relay, never reused.
    pub id: u64,
    /// The asking agent's principal (the connection's, never a field of the frame).
    pub agent: String,
    pub display_name: String,
    /// The agent's roster when they asked; supervisors watching it see the request.
    pub roster: String,
    pub reason: String,
    /// May be empty.
    #[serde(default)]
    pub note: String,
    pub asked_at: Millis,
    pub status: HelpStatus,
    /// The supervisor who took it, and their display name ("Taro is on it").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_by_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Millis>,
    /// When it was closed or cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Millis>,
}

impl HelpRequest {
    /// Milliseconds from asked to taken, once taken.
    pub fn wait_ms(&self) -> Option<Millis> {
        self.taken_at.map(|t| (t - self.asked_at).max(0))
    }
}

/// One roster's help requests asked since a given moment (the client's local midnight: "today").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpStats {
    pub roster: String,
    /// Requests asked.
    pub asked: u32,
    /// Of those, taken by a supervisor (now taken or closed).
    pub taken: u32,
    /// Of those, cancelled by the agent before anyone took them.
    pub cancelled: u32,
    /// The median and the longest wait from asked to taken, over the taken ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_wait_ms: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_wait_ms: Option<Millis>,
}
