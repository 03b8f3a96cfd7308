//! Amazon Connect in the panel: the feed and the age of rows from Connect, the rows' new fields,
//! a supervisor's listen-in and status change with their outcome, never left pending.

use protocol::panel::PanelToWorker;
use protocol::{ErrorCode, Source, StateKind};
use serde_json::json;

use super::super::{PanelState, SuperviseAsk, SuperviseOutcome};
use super::{SATO, TANAKA, msg, posts, signed_in, supervising};

fn feed(stale: bool, read_at: i64) -> serde_json::Value {
    json!({"read_at": read_at, "stale": stale, "statuses": [
        {"id": "s-avail", "name": "Available", "kind": "routable"},
        {"id": "s-break", "name": "休憩\u{202e}", "kind": "not_routable"}]})
}

#[test]
fn rows_from_connect_show_their_age_only_while_the_feed_is_stale() {
    let mut state = signed_in();
    let from_connect = json!({"principal": SATO, "display_name": "Sato", "roster": "*", "source": "connect",
        "ccp_closed": true, "state": {"name": "Available", "kind": "routable"}, "since": 1, "online": true});
    state.apply(msg(json!({"type": "presence", "presence": from_connect})), 0);
    let sato = state.presence(SATO).cloned().unwrap();
    assert_eq!((sato.source, sato.ccp_closed), (Source::Connect, true));
    let tanaka = state.presence(TANAKA).cloned().unwrap();
    assert_eq!(tanaka.source, Source::Extension);
    assert!(!state.reads_connect() && state.connect_statuses().is_empty());
    assert_eq!(state.connect_as_of(&sato), None, "no feed: nothing to date");

    state.apply(msg(json!({"type": "connect_feed", "feed": feed(false, 5_000)})), 6_000);
    assert!(state.reads_connect());
    assert_eq!(state.connect_as_of(&sato), None, "fresh: as the extension's rows are");
    state.apply(msg(json!({"type": "connect_feed", "feed": feed(true, 5_000)})), 6_000);
    assert_eq!(state.connect_as_of(&sato), Some(5_000));
    assert_eq!(state.connect_as_of(&tanaka), None, "a row from the extension is never old");
    // Status names from Connect are cleaned as every name is.
    assert_eq!(state.connect_statuses()[1].name, "休憩");
    // The relay said nothing on this sign-in (another person): none.
    state.apply(msg(json!({"type": "connect_feed"})), 7_000);
    assert!(!state.reads_connect());
    // In a snapshot too.
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"},
        "connect_feed": feed(true, 1)}});
    state.apply(msg(snapshot), 8_000);
    assert!(state.reads_connect() && state.connect_statuses().len() == 2);
}

#[test]
fn an_unknown_agent_counts_as_other_never_available() {
    let mut state = supervising(None, json!([]));
    let unknown = json!({"principal": SATO, "display_name": "Sato", "roster": "東京", "source": "connect",
        "state": {"name": "Unknown", "kind": "unknown"}, "since": 5, "online": true});
    state.apply(msg(json!({"type": "presence", "presence": unknown})), 10);
    assert_eq!(state.presence(SATO).map(|p| p.state.kind), Some(StateKind::Unknown));
    let total = state.floor.board.total();
    assert_eq!(total.get(&::floor::Category::Available), 0);
    assert_eq!(total.get(&::floor::Category::Other), 1);
}

#[test]
fn the_ccp_closed_alert_is_raised_at_once_on_the_floor() {
    let mut state = supervising(None, json!([]));
    let closed = json!({"principal": SATO, "display_name": "Sato", "roster": "東京", "source": "connect",
        "ccp_closed": true, "state": {"name": "Available", "kind": "routable"}, "since": 5, "online": true});
    state.apply(msg(json!({"type": "presence", "presence": closed})), 10);
    let alerts: Vec<_> = state.floor.active().map(|a| (a.key.principal.clone(), a.key.rule.clone())).collect();
    assert_eq!(alerts, [(SATO.to_owned(), protocol::Rule::CcpClosed)]);
}

fn with_feed() -> PanelState {
    let mut state = supervising(None, json!([]));
    state.apply(msg(json!({"type": "connect_feed", "feed": feed(false, 1)})), 0);
    state
}

#[test]
fn a_listen_in_asks_the_worker_and_shows_its_outcome() {
    let mut state = with_feed();
    let sent = posts(state.monitor(SATO.into(), false));
    let [PanelToWorker::MonitorAgent { id, agent, barge: false }] = &sent[..] else { panic!("{sent:?}") };
    assert_eq!(agent, SATO);
    let id = *id;
    assert!(state.supervise_pending());
    assert!(posts(state.monitor(TANAKA.into(), true)).is_empty(), "one at a time");
    assert!(posts(state.set_agent_status(TANAKA.into(), "s-break".into())).is_empty());
    // An answer to another request changes nothing.
    let other = json!({"type": "monitoring", "id": id + 100, "agent": SATO, "contact_id": "m-0"});
    state.apply(msg(other), 0);
    assert!(state.supervise_pending());
    let answer = json!({"type": "monitoring", "id": id, "agent": SATO, "contact_id": "m-1"});
    state.apply(msg(answer), 0);
    let shown = state.supervising.clone().unwrap();
    assert_eq!(
        (shown.agent.as_str(), shown.ask, shown.outcome),
        (SATO, SuperviseAsk::Listen, SuperviseOutcome::Listening { barge: false })
    );
    state.dismiss_supervising();
    assert!(state.supervising.is_none());

    // Barge in, refused by Connect in its own words.
    let sent = posts(state.monitor(TANAKA.into(), true));
    let [PanelToWorker::MonitorAgent { id, barge: true, .. }] = &sent[..] else { panic!("{sent:?}") };
    let refusal = json!({"type": "supervisor_refused", "id": id, "agent": TANAKA, "code": "connect_failed",
        "message": "User is not monitor-enabled"});
    let effects = state.apply(msg(refusal), 0);
    assert!(effects.iter().any(|e| matches!(e, super::super::Effect::Warn(_))), "the detail goes to the console too");
    let expected =
        SuperviseOutcome::Refused { code: ErrorCode::ConnectFailed, detail: "User is not monitor-enabled".into() };
    assert_eq!(state.supervising.as_ref().map(|s| (&s.ask, &s.outcome)), Some((&SuperviseAsk::Barge, &expected)));
}

#[test]
fn a_status_change_names_a_status_the_feed_lists() {
    let mut state = with_feed();
    assert!(posts(state.set_agent_status(SATO.into(), "s-unknown".into())).is_empty(), "not offered");
    let sent = posts(state.set_agent_status(SATO.into(), "s-break".into()));
    let [PanelToWorker::SetAgentStatus { id, agent, status }] = &sent[..] else { panic!("{sent:?}") };
    assert_eq!((agent.as_str(), status.as_str()), (SATO, "s-break"));
    assert_eq!(state.supervising.as_ref().map(|s| &s.ask), Some(&SuperviseAsk::Status("休憩".into())));
    state.apply(msg(json!({"type": "agent_status_set", "id": id, "agent": SATO, "status": "s-break"})), 0);
    assert_eq!(state.supervising.as_ref().map(|s| &s.outcome), Some(&SuperviseOutcome::StatusSet));
}

#[test]
fn a_request_on_its_way_when_the_worker_restarts_is_shown_as_failed_not_pending() {
    let mut state = with_feed();
    state.monitor(SATO.into(), false);
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": super::boss()}});
    state.apply(msg(snapshot), 0);
    assert_eq!(
        state.supervising.as_ref().map(|s| &s.outcome),
        Some(&SuperviseOutcome::Refused { code: ErrorCode::Unavailable, detail: String::new() })
    );
    assert!(!state.supervise_pending(), "the actions work again");
}
