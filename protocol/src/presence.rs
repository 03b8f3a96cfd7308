//! An agent's presence: who, which state since when, and a coarse contact summary.
//!
//! Presence never carries a customer's phone number or any contact attribute: only the
//! channel, the contact's state and when that state began.

use serde::{Deserialize, Serialize};

use crate::Millis;

/// The kind of an agent state, following Amazon Connect's agent state types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// Available to take contacts.
    Routable,
    /// A custom state such as a break or 管理業務中.
    NotRoutable,
    /// Signed out of routing.
    Offline,
    /// A state the system sets: Busy, CallingCustomer, AfterCallWork, PendingBusy, ...
    System,
    /// A failure state such as MissedCallAgent or FailedConnectCustomer.
    Error,
}

/// A named agent state, exactly as the CCP shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgentState {
    pub name: String,
    pub kind: StateKind,
}

impl AgentState {
    /// The state the relay shows for an agent with no live connection.
    pub fn offline() -> Self {
        Self { name: "Offline".to_owned(), kind: StateKind::Offline }
    }
}

/// The channel of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Chat,
    Task,
    Email,
}

/// The state of an agent's current contact, coarse on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    Incoming,
    Connecting,
    Connected,
    OnHold,
    AfterContactWork,
    Ended,
    Missed,
    Error,
}

/// What a colleague may know of an agent's contact: never who the customer is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactSummary {
    pub channel: Channel,
    pub state: ContactState,
    pub since: Millis,
}

/// One agent's presence as the relay fans it out.
///
/// `principal` is the authenticated identity (by default the e-mail claim); `username` is the
/// Connect username the CCP reported, if any. Presence is per agent: two tabs or two devices of
/// one principal are one presence. `online` is false once every connection has been gone for the
/// grace period; the state is then [`AgentState::offline`] since that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub principal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub display_name: String,
    pub roster: String,
    pub state: AgentState,
    pub since: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactSummary>,
    pub online: bool,
}
