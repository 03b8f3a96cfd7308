//! Errors as the wire carries them, and WebSocket close codes.

use serde::{Deserialize, Serialize};

/// Why a request failed, in a form a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or not a known frame.
    BadFrame,
    /// The first frame was not a `hello`, or a `hello` came twice.
    ProtocolViolation,
    /// The `hello` named a protocol version this relay does not speak.
    UnsupportedProtocol,
    /// The token is missing, malformed, badly signed or from an unknown issuer.
    Unauthenticated,
    /// The token has expired; reconnect or `reauth` with a fresh one.
    TokenExpired,
    /// The principal may not do this.
    Forbidden,
    /// A field is out of range or malformed.
    Invalid,
    /// The CCP is logged in as a different Connect user than the signed-in principal.
    IdentityMismatch,
    /// A phone number that cannot be dialled (not a number, or not valid in its country).
    InvalidNumber,
    /// The frame or text is larger than the relay's limit.
    TooLarge,
    /// Too many frames; slow down and retry.
    RateLimited,
    /// The relay could not complete the request now; retry.
    Unavailable,
    /// Something went wrong inside the relay; retry later.
    Internal,
    /// No such help request, or none the principal may see.
    NotFound,
    /// The help request was taken by a supervisor first: it can no longer be taken or
    /// cancelled.
    AlreadyTaken,
    /// The help request was closed or cancelled: it can no longer change.
    AlreadyEnded,
    /// The relay is not set up for this: it does not read Amazon Connect, or the directory
    /// holds no Connect user id for the person named.
    NotConfigured,
    /// The agent is on no contact that can be listened to now.
    NoContact,
    /// Amazon Connect refused or failed the request; the message gives its words.
    ConnectFailed,
}

impl ErrorCode {
    pub const ALL: [Self; 19] = [
        Self::BadFrame,
        Self::ProtocolViolation,
        Self::UnsupportedProtocol,
        Self::Unauthenticated,
        Self::TokenExpired,
        Self::Forbidden,
        Self::Invalid,
        Self::IdentityMismatch,
        Self::InvalidNumber,
        Self::TooLarge,
        Self::RateLimited,
        Self::Unavailable,
        Self::Internal,
        Self::NotFound,
        Self::AlreadyTaken,
        Self::AlreadyEnded,
        Self::NotConfigured,
        Self::NoContact,
        Self::ConnectFailed,
    ];

    /// Whether the same request may succeed if sent again later.
    pub fn retryable(self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable | Self::Internal | Self::TokenExpired)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadFrame => "bad_frame",
            Self::ProtocolViolation => "protocol_violation",
            Self::UnsupportedProtocol => "unsupported_protocol",
            Self::Unauthenticated => "unauthenticated",
            Self::TokenExpired => "token_expired",
            Self::Forbidden => "forbidden",
            Self::Invalid => "invalid",
            Self::IdentityMismatch => "identity_mismatch",
            Self::InvalidNumber => "invalid_number",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::NotFound => "not_found",
            Self::AlreadyTaken => "already_taken",
            Self::AlreadyEnded => "already_ended",
            Self::NotConfigured => "not_configured",
            Self::NoContact => "no_contact",
            Self::ConnectFailed => "connect_failed",
        }
    }
}

/// The error body of an `error` frame and of every REST error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub retryable: bool,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), retryable: code.retryable() }
    }
}

/// WebSocket close codes the relay uses. 4000–4099 mean "reconnect (with backoff)";
/// 4100–4199 mean "do not reconnect until something changes" (a new token, a new version,
/// a configuration fix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// The relay is shutting down or restarting; reconnect, to this or another node.
    Restarting = 4000,
    /// The token expired without a `reauth`; reconnect with a fresh token.
    TokenExpired = 4001,
    /// The client did not read fast enough; reconnect and resume from the last sequence seen.
    SlowConsumer = 4002,
    /// Nothing was heard from the client within the idle timeout.
    IdleTimeout = 4003,
    /// The client kept sending while rate-limited; reconnect after a backoff, and slow down.
    RateExceeded = 4004,
    /// The token was refused. Sign in again before reconnecting.
    Unauthenticated = 4100,
    /// The Origin is not an allowed extension origin.
    ForbiddenOrigin = 4101,
    /// The client speaks another protocol version; update it.
    UnsupportedProtocol = 4102,
    /// The first frame was not a valid `hello` in time.
    ProtocolViolation = 4103,
    /// Too many connections for this principal; this, the oldest, was closed. Reconnecting
    /// would only close another.
    Replaced = 4104,
}

impl CloseCode {
    pub const ALL: [Self; 10] = [
        Self::Restarting,
        Self::TokenExpired,
        Self::SlowConsumer,
        Self::IdleTimeout,
        Self::RateExceeded,
        Self::Unauthenticated,
        Self::ForbiddenOrigin,
        Self::UnsupportedProtocol,
        Self::ProtocolViolation,
        Self::Replaced,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether a client should reconnect (with backoff) after this close.
    pub fn reconnect(self) -> bool {
        self.code() < 4100
    }

    /// The close reason sent with the code; short, for people reading logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Restarting => "relay restarting; reconnect",
            Self::TokenExpired => "token expired; reconnect with a fresh token",
            Self::SlowConsumer => "client too slow; reconnect and resume",
            Self::IdleTimeout => "idle timeout; reconnect",
            Self::RateExceeded => "kept sending while rate-limited; back off",
            Self::Replaced => "too many connections for this principal",
            Self::Unauthenticated => "unauthenticated; sign in again",
            Self::ForbiddenOrigin => "origin not allowed",
            Self::UnsupportedProtocol => "unsupported protocol version",
            Self::ProtocolViolation => "expected a hello frame",
        }
    }
}

/// Whether a client should reconnect after a close with this code, including the standard
/// codes (1001 going away, 1006 abnormal, 1011 server error and 1012 restart mean yes).
pub fn should_reconnect(code: u16) -> bool {
    match CloseCode::from_code(code) {
        Some(c) => c.reconnect(),
        None => matches!(code, 1001 | 1005 | 1006 | 1011 | 1012 | 1013),
    }
}
