//! The relay's Amazon Connect directory sync: users, agent statuses, queues with their outbound
//! caller config, phone numbers and routing profiles, read with the official AWS SDK under one
//! token bucket (default 2 requests/s, burst 5) and joined into the relay's directory.
//!
//! - [`bucket`]: the token bucket every request passes through.
//! - [`client`]: the SDK client, retries with backoff and jitter, call counts.
//! - `read`: one full, paginated read ([`Connect::read`]).
//! - [`join`]: Connect's shapes to the directory's (pure, tested without a network).
//! - [`realtime`]: who is logged in now (`GetCurrentUserData`), listening in, setting a status.

pub mod bucket;
pub mod client;
pub mod join;
mod read;
pub mod realtime;

pub use bucket::TokenBucket;
pub use client::{Connect, Settings};
pub use read::{NUMBERS_PAGE, PROFILES_PAGE, QUEUES_PAGE, STATUSES_PAGE, USERS_PAGE};

use protocol::{DirectoryUser, RoutingProfile};

/// What one read of Connect produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub users: Vec<DirectoryUser>,
    pub routing_profiles: Vec<RoutingProfile>,
    pub agent_statuses: Vec<AgentStatus>,
    /// Standard queues read, with or without a caller ID.
    pub queues: usize,
    pub numbers: usize,
    /// Requests this read sent, retries included.
    pub calls: u64,
}

/// An agent status the instance defines (`ROUTABLE`, `CUSTOM` or `OFFLINE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatus {
    pub id: String,
    pub name: String,
    pub kind: Option<String>,
}

/// A read that failed: which operation, after how many attempts, and Connect's answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Connect {operation} failed after {attempts} attempt(s): {detail}")]
pub struct SyncError {
    pub operation: &'static str,
    pub attempts: u32,
    pub detail: String,
}
