//! A new version is applied at once when idle, and only once the last contact ends otherwise.

use protocol::tab::TabToWorker;
use protocol::{Channel, ContactState, ContactSummary};

use super::super::{Core, Effect};
use super::agent;

fn on_a_call() -> TabToWorker {
    let TabToWorker::Hook { event: protocol::hook::HookEvent::Agent { mut agent } } = agent("Busy") else {
        unreachable!()
    };
    agent.contact = Some(ContactSummary { channel: Channel::Voice, state: ContactState::Connected, since: 1_000 });
    TabToWorker::Hook { event: protocol::hook::HookEvent::Agent { agent } }
}

fn reloads(effects: &[Effect]) -> usize {
    effects.iter().filter(|e| matches!(e, Effect::Reload)).count()
}

#[test]
fn an_update_waits_for_the_last_contact_to_end_and_applies_once() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(1, on_a_call());
    core.on_tab(2, agent("Available"));
    assert_eq!(reloads(&core.update_available()), 0, "not in the middle of a call");
    assert_eq!(reloads(&core.on_tab(1, on_a_call())), 0);
    assert_eq!(reloads(&core.on_tab(1, agent("Available"))), 1, "the call ended: the new version now");
    assert_eq!(reloads(&core.on_tab(1, agent("Available"))), 0, "once");

    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(1, on_a_call());
    core.update_available();
    assert_eq!(reloads(&core.tab_closed(1)), 1, "the tab with the call closed");

    let mut idle = Core::new(Vec::new(), Vec::new());
    assert_eq!(reloads(&idle.update_available()), 1, "no CCP tab: at once");
}
