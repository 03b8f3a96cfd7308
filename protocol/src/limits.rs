//! The limits a relay enforces, announced in its welcome frame so clients can respect them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest WebSocket text frame the relay accepts, in bytes.
    pub max_frame_bytes: u32,
    /// Largest chat text, in characters (Unicode scalar values, Rust's `chars()`; not UTF-16
    /// code units, not bytes), so a Japanese agent may write as much as an English one. A text of
    /// this many characters always fits in a frame. Absent (0) from relays that predate it; see
    /// [`Limits::text_limit`].
    #[serde(default)]
    pub max_text_chars: u32,
    /// The limit as relays before `max_text_chars` announced it (in bytes), kept so that their
    /// clients, which require the field, still decode a newer relay's `welcome`: a newer relay
    /// sends the same number as `max_text_chars`. Read [`Limits::text_limit`] instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_text_bytes: Option<u32>,
    /// Sustained frames per second per connection (bursts of twice this are allowed).
    pub frames_per_second: u32,
    /// Largest history or sync page.
    pub max_page: u32,
    /// A client should send a frame (a ping will do) at least this often.
    pub heartbeat_ms: u32,
}

impl Limits {
    /// The chat text limit in characters: `max_text_chars`, or from a relay that predates it, its
    /// byte limit (counting characters against it may let through a text it refuses, and the
    /// refusal then shows on the message). `None` when the relay announced neither.
    pub fn text_limit(&self) -> Option<u32> {
        Some(self.max_text_chars).filter(|&n| n > 0).or(self.max_text_bytes)
    }
}
