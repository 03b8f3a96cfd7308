//! What the relay knows of Amazon Connect's real-time data (`--connect-instance-id`): how fresh
//! it is, the agent statuses a supervisor may set, and one agent's row as the node reading
//! Connect tells the others.

use serde::{Deserialize, Serialize};

use crate::{AgentState, ContactSummary, Millis};

/// An agent status the instance defines, as a supervisor may set it (`set_agent_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectStatus {
    /// Connect's agent status id.
    pub id: String,
    pub name: String,
    /// `routable`, `not_routable` (Connect's `CUSTOM`) or `offline`.
    pub kind: crate::StateKind,
}

/// How fresh the presence of agents known only from Connect is (`source: connect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectFeed {
    /// When Connect was last read successfully; none before the first read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<Millis>,
    /// Reads have failed for longer than a few intervals: rows from Connect are as old as
    /// `read_at` (shown with their age), and fade to `unknown` after the relay's limit.
    pub stale: bool,
    /// The statuses a supervisor may set, ordered as Connect lists them.
    #[serde(default)]
    pub statuses: Vec<ConnectStatus>,
}

/// One agent logged in to Connect now, by principal (the directory maps Connect's user id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectRow {
    pub principal: String,
    pub state: AgentState,
    pub since: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactSummary>,
    /// The contact's id, for listening in; never sent to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}
