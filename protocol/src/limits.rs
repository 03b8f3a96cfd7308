//! The limits a relay enforces, announced in its welcome frame so clients can respect them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest WebSocket text frame the relay accepts, in bytes.
    pub max_frame_bytes: u32,
    /// Largest chat text, in characters (Unicode scalar values, Rust's `chars()`; not UTF-16
    /// code units, not bytes), so a Japanese agent may write as much as an English one. A text of
    /// this many characters always fits in a frame.
    pub max_text_chars: u32,
    /// Sustained frames per second per connection (bursts of twice this are allowed).
    pub frames_per_second: u32,
    /// Largest history or sync page.
    pub max_page: u32,
    /// A client should send a frame (a ping will do) at least this often.
    pub heartbeat_ms: u32,
}
