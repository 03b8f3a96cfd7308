//! Messages between a CCP tab's content script and the worker, over a `chrome.runtime` port
//! named [`TAB_PORT`].
//!
//! The content script is thin JavaScript: it forwards the hook's events as they are (the worker
//! decodes and validates them here), reports whether the CCP has focus, and hands commands back to
//! the hook.

use serde::{Deserialize, Serialize};

use crate::hook::{HookCommand, HookEvent};
use crate::tagged::tagged_enum;

/// The name of the port a content script opens to the worker.
pub const TAB_PORT: &str = "tab";
/// The `ns` field of every window message between the hook and the content script.
pub const HOOK_NAMESPACE: &str = "ccp-sidecar/hook";

tagged_enum! {
    /// Content script -> worker.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum TabToWorker {
        Hook {
            event: HookEvent,
        },
        /// Whether the CCP page is visible and focused, for notifications.
        Focus {
            focused: bool,
        },
    }
}

/// Worker -> content script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkerToTab {
    /// The worker has taken the port; the content script sends nothing before this (Chrome may
    /// drop messages posted before the worker's listener ran), then the agent's latest state.
    Ready,
    /// For the hook to run.
    Command { command: HookCommand },
    /// Unread messages, for the dock's handle while the dock is collapsed.
    Unread { count: u64 },
    /// Open the dock if it is collapsed, collapse it if it is open (the keyboard shortcut).
    Toggle,
}
