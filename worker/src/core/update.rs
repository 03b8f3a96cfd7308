//! A new version of the extension is ready: Chrome downloaded it from the organisation's update
//! URL and tells the worker (`runtime.onUpdateAvailable`); it is applied when the worker reloads
//! the extension.
//!
//! Decision: reload at once unless a CCP tab of this browser has a contact (ringing, connected,
//! on hold or in after-contact work): then when the last contact ends, or its tab closes. What is
//! unsent survives a reload: the outbox, refused messages and call reports are in storage from
//! the moment they change. A CCP page open across the update keeps working; its dock says the
//! extension was updated and docks the new version when the page is reloaded.

use super::{Core, Effect};

impl Core {
    /// Chrome has a new version ready.
    pub fn update_available(&mut self) -> Vec<Effect> {
        self.update_ready = true;
        self.update_if_idle()
    }

    /// Reloads into the new version when one is ready and no CCP tab has a contact.
    pub(super) fn update_if_idle(&mut self) -> Vec<Effect> {
        let busy = self.tabs.values().any(|t| t.agent.as_ref().is_some_and(|a| a.contact.is_some()));
        if !self.update_ready || busy {
            return Vec::new();
        }
        self.update_ready = false;
        vec![Effect::Reload]
    }
}
