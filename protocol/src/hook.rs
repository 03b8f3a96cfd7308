//! Messages between the main-world hook (JavaScript inside the CCP page) and the extension.
//!
//! The hook reads Amazon Connect Streams and reports [`HookEvent`]s; the extension asks it to act
//! with [`HookCommand`]s. The content script forwards both without reading them; the worker decodes
//! every event with these types, so a malformed or oversized one is refused before it reaches
//! presence or the panel.

use serde::{Deserialize, Serialize};

use crate::tagged::tagged_enum;
use crate::{AgentState, CallEvent, ContactSummary, Millis};

/// The longest string the hook may send in any field: names, ARNs, phone numbers.
pub const MAX_HOOK_STRING: usize = 512;
/// The most queues an agent's routing profile may report.
pub const MAX_QUEUES: usize = 200;

tagged_enum! {
    /// What the hook reports from the CCP page.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum HookEvent {
        /// The agent as Streams knows it: sent at init and on every state or contact change.
        Agent { agent: CcpAgent },
        /// A step of one of the agent's outbound calls (dialling, connected, ended, failed).
        Call { call: CallEvent },
        /// The answer to a [`HookCommand`], echoing its id. On failure `code` is Streams' error
        /// type (`AccessDeniedException`, `AgentNotAvailableException`, ...) when it gave one.
        Result {
            id: u64,
            ok: bool,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            error: Option<String>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            code: Option<String>,
        },
    }
}

/// The agent in the CCP: identity, state, current contact and outbound queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcpAgent {
    /// The Connect username (the login the CCP shows).
    pub username: String,
    pub name: String,
    pub state: AgentState,
    pub since: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactSummary>,
    /// The current contact's id (`contact.getContactId()`), for a supervisor's listen-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
    /// The queues of the agent's routing profile that can place outbound calls.
    #[serde(default)]
    pub queues: Vec<CcpQueue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_queue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CcpQueue {
    pub arn: String,
    pub name: String,
}

/// What the extension asks the hook to do in the CCP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HookCommand {
    /// `agent.connect(connect.Endpoint.byPhoneNumber(phone), {queueARN})`.
    Dial {
        id: u64,
        phone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_arn: Option<String>,
    },
    /// Adds the colleague's agent quick connect to the current contact.
    Transfer { id: u64, username: String },
}

impl HookEvent {
    /// Checks sizes a serde shape cannot: every string and list within its bound.
    pub fn validate(&self) -> Result<(), String> {
        let Self::Agent { agent } = self else {
            return match self {
                Self::Result { error, code, .. }
                    if error.iter().chain(code.iter()).any(|e| e.len() > MAX_HOOK_STRING) =>
                {
                    Err("error too long".into())
                }
                Self::Call { call } => call.validate(),
                _ => Ok(()),
            };
        };
        let strings = [&agent.username, &agent.name, &agent.state.name]
            .into_iter()
            .chain(agent.contact_id.iter())
            .chain(agent.default_queue.iter())
            .chain(agent.queues.iter().flat_map(|q| [&q.arn, &q.name]));
        for s in strings {
            if s.len() > MAX_HOOK_STRING {
                return Err(format!("a field is longer than {MAX_HOOK_STRING} bytes"));
            }
        }
        if agent.queues.len() > MAX_QUEUES {
            return Err(format!("more than {MAX_QUEUES} queues"));
        }
        if agent.username.is_empty() {
            return Err("username is empty".into());
        }
        Ok(())
    }
}
