//! Amazon Connect in the worker: the contact id published for a listen-in, the feed kept for the
//! panels, a supervisor's requests and their answers reaching the panel that asked (never a panel
//! left waiting), and the CCP-closed alert notified once.

use protocol::hook::{CcpAgent, HookEvent};
use protocol::panel::{Connection, PanelToWorker, Problem};
use protocol::tab::TabToWorker;
use protocol::{
    AgentState, Channel, ClientFrame, ConnectFeed, ConnectStatus, ContactState, ContactSummary, ErrorBody, ErrorCode,
    ServerFrame, Source, StateKind,
};

use super::super::{Core, Effect, WorkerToPanel};
use super::{available, notified, relayed, roster_frame, supervisor, welcome};

fn on_contact(contact_id: Option<&str>) -> TabToWorker {
    TabToWorker::Hook {
        event: HookEvent::Agent {
            agent: CcpAgent {
                username: "sato".into(),
                name: "Sato".into(),
                state: AgentState { name: "Busy".into(), kind: StateKind::System },
                since: 1_000,
                contact: Some(ContactSummary { channel: Channel::Voice, state: ContactState::Connected, since: 1_000 }),
                contact_id: contact_id.map(Into::into),
                queues: Vec::new(),
                default_queue: None,
            },
        },
    }
}

fn published_contact_ids(effects: &[Effect]) -> Vec<Option<String>> {
    relayed(effects)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::SetPresence { contact_id, .. } => Some(contact_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_contact_id_is_published_and_a_new_one_alone_is_news() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(3, on_contact(Some("c-1")));
    assert_eq!(published_contact_ids(&welcome(&mut core, "sato@example.com")), [Some("c-1".to_owned())]);
    assert!(published_contact_ids(&core.on_tab(3, on_contact(Some("c-1")))).is_empty(), "no change");
    // Same state, same contact summary, another contact (a transfer in, say): published.
    assert_eq!(published_contact_ids(&core.on_tab(3, on_contact(Some("c-2")))), [Some("c-2".to_owned())]);
    assert_eq!(published_contact_ids(&core.on_tab(3, on_contact(None))), [None]);
}

fn feed(stale: bool) -> ConnectFeed {
    ConnectFeed {
        read_at: Some(5_000),
        stale,
        statuses: vec![ConnectStatus { id: "s-break".into(), name: "Break".into(), kind: StateKind::NotRoutable }],
    }
}

fn feeds(effects: &[Effect]) -> Vec<Option<ConnectFeed>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Panels(WorkerToPanel::ConnectFeed { feed }) => Some(feed.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_feed_reaches_every_panel_and_its_snapshot_and_leaves_with_the_person() {
    let mut core = supervisor();
    assert_eq!(core.snapshot(None).connect_feed, None, "a relay that does not read Connect says nothing");
    let effects = core.on_frame(ServerFrame::ConnectFeed { feed: feed(false) }, 0);
    assert_eq!(feeds(&effects), [Some(feed(false))]);
    assert!(core.on_frame(ServerFrame::ConnectFeed { feed: feed(false) }, 0).is_empty(), "the same again: nothing");
    assert_eq!(feeds(&core.on_frame(ServerFrame::ConnectFeed { feed: feed(true) }, 0)), [Some(feed(true))]);
    assert_eq!(core.snapshot(None).connect_feed, Some(feed(true)));
    // A reconnect keeps it (the relay says it again after the snapshot).
    core.set_connection(Connection::Offline { retry_at: 0, problem: Problem::Unreachable });
    welcome(&mut core, "boss@x");
    assert_eq!(core.snapshot(None).connect_feed, Some(feed(true)));
    // Someone else signs in on this browser: it was the last person's.
    assert_eq!(feeds(&welcome(&mut core, "other@x")), [None]);
    assert_eq!(core.snapshot(None).connect_feed, None);
    core.on_frame(ServerFrame::ConnectFeed { feed: feed(false) }, 0);
    core.sign_out();
    assert_eq!(core.snapshot(None).connect_feed, None);
}

/// The relay id of the supervisor request in `effects`.
fn relay_id(effects: &[Effect]) -> u64 {
    match relayed(effects)[..] {
        [ClientFrame::MonitorAgent { id, .. } | ClientFrame::SetAgentStatus { id, .. }] => *id,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn a_listen_in_goes_to_the_relay_and_its_answer_to_the_panel_that_asked() {
    let mut core = supervisor();
    core.panel_opened(7, None);
    core.panel_opened(8, None);
    let ask = PanelToWorker::MonitorAgent { id: 1, agent: "sato@x".into(), barge: false };
    let effects = core.on_panel(7, ask, 0);
    assert!(
        matches!(relayed(&effects)[..], [ClientFrame::MonitorAgent { agent, barge: false, .. }] if agent == "sato@x")
    );
    let id = relay_id(&effects);
    // Panel 8 numbers its requests from 1 too: each answer reaches its own panel.
    let barge = core.on_panel(8, PanelToWorker::MonitorAgent { id: 1, agent: "ito@x".into(), barge: true }, 0);
    assert!(matches!(relayed(&barge)[..], [ClientFrame::MonitorAgent { barge: true, .. }]));
    let barge_id = relay_id(&barge);
    assert_ne!(id, barge_id);

    let answer = ServerFrame::Monitoring { id, agent: "sato@x".into(), contact_id: "m-1".into(), barge: false };
    assert_eq!(
        core.on_frame(answer, 0),
        [Effect::Panel(
            7,
            WorkerToPanel::Monitoring { id: 1, agent: "sato@x".into(), contact_id: "m-1".into(), barge: false }
        )]
    );
    // Connect's refusal, in its words, to panel 8 alone.
    let refusal = ErrorBody::new(ErrorCode::ConnectFailed, "User is not monitor-enabled");
    assert_eq!(
        core.on_frame(ServerFrame::Error { id: Some(barge_id), error: refusal }, 0),
        [Effect::Panel(
            8,
            WorkerToPanel::SupervisorRefused {
                id: 1,
                agent: "ito@x".into(),
                code: ErrorCode::ConnectFailed,
                message: "User is not monitor-enabled".into()
            }
        )]
    );
    // Answered once: a repeat of the answer reaches nobody.
    let again = ServerFrame::Monitoring { id, agent: "sato@x".into(), contact_id: "m-1".into(), barge: false };
    assert!(core.on_frame(again, 0).is_empty());
}

#[test]
fn a_status_change_is_answered_by_ok_or_an_error_in_words() {
    let mut core = supervisor();
    core.panel_opened(7, None);
    let set = |status: &str| PanelToWorker::SetAgentStatus { id: 4, agent: "sato@x".into(), status: status.into() };
    let effects = core.on_panel(7, set("s-break"), 0);
    assert!(matches!(
        relayed(&effects)[..],
        [ClientFrame::SetAgentStatus { agent, status, .. }] if agent == "sato@x" && status == "s-break"
    ));
    assert_eq!(
        core.on_frame(ServerFrame::Ok { id: relay_id(&effects) }, 0),
        [Effect::Panel(7, WorkerToPanel::AgentStatusSet { id: 4, agent: "sato@x".into(), status: "s-break".into() })]
    );
    let effects = core.on_panel(7, set("s-nope"), 0);
    let refusal = ErrorBody::new(ErrorCode::NotConfigured, "no Connect user id for sato@x");
    let answer = core.on_frame(ServerFrame::Error { id: Some(relay_id(&effects)), error: refusal }, 0);
    assert!(matches!(
        &answer[..],
        [Effect::Panel(7, WorkerToPanel::SupervisorRefused { id: 4, code: ErrorCode::NotConfigured, .. })]
    ));
}

#[test]
fn no_panel_waits_for_an_answer_that_cannot_come() {
    let mut core = supervisor();
    core.panel_opened(7, None);
    let ask = || PanelToWorker::MonitorAgent { id: 2, agent: "sato@x".into(), barge: false };
    core.on_panel(7, ask(), 0);
    // The connection goes before the relay answered.
    let effects = core.set_connection(Connection::Offline { retry_at: 0, problem: Problem::Unreachable });
    assert!(effects.contains(&Effect::Panel(
        7,
        WorkerToPanel::SupervisorRefused {
            id: 2,
            agent: "sato@x".into(),
            code: ErrorCode::Unavailable,
            message: String::new()
        }
    )));
    // Asked while offline: answered at once, nothing sent.
    let effects = core.on_panel(7, ask(), 0);
    assert!(relayed(&effects).is_empty());
    assert!(matches!(
        &effects[..],
        [Effect::Panel(7, WorkerToPanel::SupervisorRefused { id: 2, code: ErrorCode::Unavailable, .. })]
    ));
}

#[test]
fn available_in_connect_with_the_ccp_closed_notifies_once() {
    let mut core = supervisor();
    let closed = protocol::Presence { source: Source::Connect, ccp_closed: true, ..available("ito", "東京", 1_000) };
    let effects = core.on_frame(roster_frame(vec![closed.clone()]), 2_000);
    assert_eq!(notified(&effects), ["ito"], "at once");
    let alert = effects.iter().find_map(|e| if let Effect::NotifyAlert(a) = e { Some(a) } else { None });
    assert_eq!(alert.map(|a| a.key.rule.clone()), Some(protocol::Rule::CcpClosed));
    // The CCP opened, then closed again within the same state: no second notification.
    core.on_frame(ServerFrame::Presence { presence: available("ito", "東京", 1_000) }, 3_000);
    let effects = core.on_frame(ServerFrame::Presence { presence: closed }, 4_000);
    assert!(notified(&effects).is_empty());
}
