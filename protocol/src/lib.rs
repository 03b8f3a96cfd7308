//! The single source of truth for every message that crosses a CCP Sidecar boundary.
//!
//! # Layout
//! - [`client`]: frames a client (the extension's worker, a tool) sends to the relay.
//! - [`server`]: frames the relay sends to a client, replies and pushes.
//! - [`presence`]: an agent's presence as the relay stores and fans it out.
//! - [`chat`]: chat messages and conversation summaries.
//! - [`help`]: agents' help requests to supervisors, and the day's figures.
//! - [`config`]: the extension's settings (managed policy, options page, defaults).
//! - [`locale`]: the UI language chosen and the extension's message catalogue read as Chrome does.
//! - [`alerts`]: supervisor alert thresholds and the names of alert episodes.
//! - [`directory`]: directory entries and the directory file.
//! - [`callerid`]: caller IDs (outbound queues), routing profiles, number normalisation.
//! - [`calls`]: outbound call reports and history.
//! - [`hook`]: the CCP page's hook <-> the extension (Streams events and commands).
//! - [`tab`]: a CCP tab's content script <-> the extension's worker.
//! - [`panel`]: the panel UI <-> the extension's worker.
//! - [`error`]: the `{code, message, retryable}` error body and WebSocket close codes.
//! - [`cluster`]: what relay nodes tell each other over Redis.
//! - [`limits`]: the limits a relay announces in its welcome frame.
//! - [`ticket`]: single-use WebSocket tickets from the REST API.
//! - [`Relayed`]: JSON the worker passes from the REST API to the panels without reading it.
//!
//! Every direction is one closed enum tagged by `"type"`. Requests carry an `id` that the reply
//! echoes; pushes carry none. The first client frame is [`client::ClientFrame::Hello`] and names
//! [`PROTOCOL_VERSION`]. Nothing here does I/O, so the same types compile for the relay and for
//! WebAssembly.

pub mod alerts;
pub mod callerid;
pub mod calls;
pub mod chat;
pub mod client;
pub mod cluster;
pub mod config;
pub mod connect;
pub mod directory;
pub mod error;
pub mod help;
pub mod hook;
pub mod limits;
pub mod locale;
pub mod panel;
pub mod presence;
mod relayed;
pub mod server;
pub mod tab;
mod tagged;
pub mod ticket;

pub use alerts::{AlertKey, AlertSettings, Minutes, Rule};
pub use callerid::{CallerId, CallerIds, NormalizeRequest, Normalized, RoutingProfile};
pub use calls::{CallEvent, CallOutcome, CallPage, CallPhase, CallRecord};
pub use chat::{ChatMessage, ConversationSummary, Cursor};
pub use client::ClientFrame;
pub use connect::{ConnectFeed, ConnectRow, ConnectStatus};
pub use directory::{DirectoryFile, DirectoryUser};
pub use error::{CloseCode, ErrorBody, ErrorCode};
pub use help::{HelpRequest, HelpStats, HelpStatus};
pub use limits::Limits;
pub use presence::{AgentState, Channel, ContactState, ContactSummary, Presence, Source, StateKind, same_agent};
pub use relayed::Relayed;
pub use server::ServerFrame;
pub use ticket::WsTicket;

/// The protocol version this crate speaks. A relay refuses a `hello` naming another.
pub const PROTOCOL_VERSION: u32 = 1;

/// Milliseconds since the Unix epoch, the one time format on the wire.
pub type Millis = i64;

/// Decodes one client frame, with an error a person can act on.
pub fn decode_client(text: &str) -> Result<ClientFrame, DecodeError> {
    serde_json::from_str(text).map_err(DecodeError::from)
}

/// Decodes one server frame, with an error a person can act on.
pub fn decode_server(text: &str) -> Result<ServerFrame, DecodeError> {
    serde_json::from_str(text).map_err(DecodeError::from)
}

/// Why a frame could not be decoded. The message never echoes the frame itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl From<serde_json::Error> for DecodeError {
    fn from(err: serde_json::Error) -> Self {
        // serde_json's messages name the offending field or variant and the column, never the
        // value, so they are safe to return to the sender.
        Self(err.to_string())
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}
