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
    /// The relay cannot say: the agent is known only from Connect, and Connect has not been
    /// read for longer than the relay's limit (`--connect-unknown-after-s`). Never a wrong
    /// "Available".
    Unknown,
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

    /// The state the relay shows for an agent known only from Connect data too old to trust.
    pub fn unknown() -> Self {
        Self { name: "Unknown".to_owned(), kind: StateKind::Unknown }
    }
}

/// Where an agent's presence comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The agent's own CCP, through the extension: fresh to the second.
    #[default]
    Extension,
    /// Amazon Connect's real-time data (`GetCurrentUserData`), read by the relay every few
    /// seconds, for an agent with no extension reporting: as old as the last read (see
    /// `connect_feed`).
    Connect,
}

impl Source {
    pub fn is_extension(&self) -> bool {
        *self == Source::Extension
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The channel of a contact (ordered as the floor lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Chat,
    Task,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Voice, Channel::Chat, Channel::Task, Channel::Email];
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
/// grace period; the state is then [`AgentState::offline`] since that moment, unless Connect's
/// real-time data shows the agent logged in (`source: connect`).
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
    /// Where this presence comes from: the extension (absent) or Connect.
    #[serde(default, skip_serializing_if = "Source::is_extension")]
    pub source: Source,
    /// Connect shows the agent logged in and routable in a state that began before their CCP
    /// with the extension closed: Connect will route contacts to a CCP nobody has open
    /// ("Available in Connect but CCP closed").
    #[serde(default, skip_serializing_if = "is_false")]
    pub ccp_closed: bool,
}

/// Whether a CCP logged in as Connect user `ccp_username` belongs to `principal`: the directory's
/// username for the principal when it has one, otherwise the principal itself or, for an e-mail
/// address, its part before `@`. Case is ignored (Connect usernames are case-insensitive).
/// The relay refuses presence otherwise, and the extension does not send it: a CCP left logged
/// in as a colleague must not publish that colleague's state under another name.
pub fn same_agent(principal: &str, directory_username: Option<&str>, ccp_username: &str) -> bool {
    let ccp = ccp_username.trim();
    if ccp.is_empty() {
        return false;
    }
    match directory_username {
        Some(expected) => expected.eq_ignore_ascii_case(ccp),
        None => {
            principal.eq_ignore_ascii_case(ccp)
                || principal.split_once('@').is_some_and(|(local, _)| local.eq_ignore_ascii_case(ccp))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_agent;

    #[test]
    fn same_agent_follows_the_directory_then_the_principal() {
        assert!(same_agent("aiko.sato@example.com", Some("asato"), "ASato"));
        assert!(!same_agent("aiko.sato@example.com", Some("asato"), "aiko.sato"));
        assert!(same_agent("aiko.sato@example.com", None, "aiko.sato"));
        assert!(same_agent("aiko.sato@example.com", None, "Aiko.Sato@example.com"));
        assert!(!same_agent("aiko.sato@example.com", None, "kenji.tanaka"));
        assert!(!same_agent("aiko.sato@example.com", None, "aiko.sato@example"));
        assert!(same_agent("tanaka", None, "tanaka"));
        assert!(!same_agent("tanaka", None, ""));
    }
}
