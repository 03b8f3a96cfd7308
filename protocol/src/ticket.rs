//! WebSocket tickets: `POST /api/v1/ws-ticket` (with the ID token as a bearer token) answers a
//! [`WsTicket`], which a `hello` may carry instead of the token. A ticket is good for one
//! connection and for a short time, so the ID token itself never travels over the WebSocket.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// A single-use ticket for one WebSocket `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsTicket {
    pub ticket: String,
    /// When the relay stops accepting it (never after the token it was issued for).
    pub expires_at: Millis,
}
