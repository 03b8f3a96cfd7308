//! The floor's categories: what a supervisor counts and filters by. One per agent, from the
//! agent state and the contact together.
//!
//! Decisions, in order (the first that applies):
//! 1. Not online, or an offline state: **Offline**.
//! 2. `Unknown` (an agent known only from Connect, whose data is too old to say): **Other**,
//!    never Available, whatever contact the old data held.
//! 3. An error state (`MissedCallAgent`, `FailedConnectAgent`, ...), or a contact reported missed
//!    or failed: **ErrorOrMissed**.
//! 4. `AfterCallWork`, or a contact in after-contact work: **Acw**.
//! 5. A contact incoming, connecting, connected or on hold: **OnContact** by its channel (a
//!    ringing agent is as unavailable as a talking one). Chat contacts often leave the agent
//!    state `Available`; the contact decides.
//! 6. The system states of a voice contact without a reported contact (`Busy`, `PendingBusy`,
//!    `CallingCustomer`): **OnContact(Voice)**.
//! 7. A not-routable state: **NotRoutable** by its name (a break, 管理業務中, ...).
//! 8. A routable state: **Available**.
//! 9. Any other system state: **Other** (counted, so the totals add up).

use protocol::{Channel, ContactState, Presence, StateKind};

/// One category of the floor, in the order the counts list them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Available,
    OnContact(Channel),
    Acw,
    NotRoutable(String),
    ErrorOrMissed,
    Offline,
    Other,
}

/// System states that mean a voice contact is under way.
const VOICE_BUSY: [&str; 3] = ["Busy", "PendingBusy", "CallingCustomer"];

impl Category {
    pub fn of(p: &Presence) -> Category {
        use ContactState::*;
        let contact = p.contact.as_ref();
        let contact_in = |states: &[ContactState]| contact.is_some_and(|c| states.contains(&c.state));
        if !p.online || p.state.kind == StateKind::Offline {
            Category::Offline
        } else if p.state.kind == StateKind::Unknown {
            Category::Other
        } else if p.state.kind == StateKind::Error || contact_in(&[Missed, Error]) {
            Category::ErrorOrMissed
        } else if p.state.name == "AfterCallWork" || contact_in(&[AfterContactWork]) {
            Category::Acw
        } else if let Some(c) = contact.filter(|_| contact_in(&[Incoming, Connecting, Connected, OnHold])) {
            Category::OnContact(c.channel)
        } else if p.state.kind == StateKind::System && VOICE_BUSY.contains(&p.state.name.as_str()) {
            Category::OnContact(Channel::Voice)
        } else {
            match p.state.kind {
                StateKind::NotRoutable => Category::NotRoutable(p.state.name.clone()),
                StateKind::Routable => Category::Available,
                _ => Category::Other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use protocol::{AgentState, ContactSummary, Source};

    use super::*;

    fn presence(name: &str, kind: StateKind, contact: Option<(Channel, ContactState)>) -> Presence {
        Presence {
            principal: "a@example.com".into(),
            username: None,
            display_name: "A".into(),
            roster: "team".into(),
            state: AgentState { name: name.into(), kind },
            since: 0,
            contact: contact.map(|(channel, state)| ContactSummary { channel, state, since: 0 }),
            online: true,
            source: Source::Extension,
            ccp_closed: false,
        }
    }

    #[test]
    fn every_state_has_its_category() {
        use Channel::*;
        use ContactState::*;
        use StateKind::*;
        let cases = [
            (presence("Available", Routable, None), Category::Available),
            (presence("Available", Routable, Some((Chat, Connected))), Category::OnContact(Chat)),
            (presence("Available", Routable, Some((Voice, Incoming))), Category::OnContact(Voice)),
            (presence("Busy", System, Some((Voice, OnHold))), Category::OnContact(Voice)),
            (presence("Busy", System, None), Category::OnContact(Voice)),
            (presence("PendingBusy", System, None), Category::OnContact(Voice)),
            (presence("CallingCustomer", System, Some((Voice, Connecting))), Category::OnContact(Voice)),
            (presence("AfterCallWork", System, Some((Voice, AfterContactWork))), Category::Acw),
            (presence("AfterCallWork", System, None), Category::Acw),
            (presence("Available", Routable, Some((Task, AfterContactWork))), Category::Acw),
            (presence("MissedCallAgent", StateKind::Error, None), Category::ErrorOrMissed),
            (presence("FailedConnectCustomer", StateKind::Error, Some((Voice, Ended))), Category::ErrorOrMissed),
            (presence("Available", Routable, Some((Voice, Missed))), Category::ErrorOrMissed),
            (presence("休憩", NotRoutable, None), Category::NotRoutable("休憩".into())),
            (presence("休憩", NotRoutable, Some((Email, Connected))), Category::OnContact(Email)),
            (presence("休憩", NotRoutable, Some((Voice, Ended))), Category::NotRoutable("休憩".into())),
            (presence("Offline", Offline, None), Category::Offline),
            (presence("SomethingNew", System, None), Category::Other),
            (presence("Unknown", Unknown, None), Category::Other),
            (presence("Unknown", Unknown, Some((Voice, Connected))), Category::Other),
        ];
        for (p, expected) in cases {
            assert_eq!(Category::of(&p), expected, "{p:?}");
        }
        let gone = Presence { online: false, ..presence("Available", Routable, Some((Voice, Connected))) };
        assert_eq!(Category::of(&gone), Category::Offline);
    }

    #[test]
    fn categories_list_in_floor_order() {
        let mut all = vec![
            Category::Other,
            Category::Offline,
            Category::NotRoutable("b".into()),
            Category::OnContact(Channel::Email),
            Category::Acw,
            Category::ErrorOrMissed,
            Category::NotRoutable("a".into()),
            Category::OnContact(Channel::Voice),
            Category::Available,
        ];
        all.sort();
        assert_eq!(all[0], Category::Available);
        assert_eq!(all[1], Category::OnContact(Channel::Voice));
        assert_eq!(all[4], Category::NotRoutable("a".into()));
        assert_eq!(all[8], Category::Other);
    }
}
