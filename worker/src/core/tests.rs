use protocol::hook::{CcpAgent, HookCommand, HookEvent};
use protocol::panel::{Connection, FailedChat, OutboxEntry, PanelToWorker, Problem};
use protocol::tab::{TabToWorker, WorkerToTab};
use protocol::{
    AgentState, CallEvent, CallPhase, ChatMessage, ClientFrame, CloseCode, ErrorBody, ErrorCode, Limits, ServerFrame,
    StateKind,
};

use super::{
    Api, ApiReply, Core, Effect, PING_MS, PendingCall, PortOf, RENEW_RETRY_MS, Timer, WorkerToPanel, accept_port,
};
use crate::auth::{Prompt, Session};
use crate::link::SignInError;
use crate::storage::{Area, Key, Record, Stored};

fn welcome(core: &mut Core, principal: &str) -> Vec<Effect> {
    welcome_listed(core, principal, None)
}

/// A welcome for a principal the relay's directory lists under Connect username `username`.
fn welcome_listed(core: &mut Core, principal: &str, username: Option<&str>) -> Vec<Effect> {
    core.on_frame(welcome_frame_listed(principal, username), 0)
}

fn welcome_frame(principal: &str) -> ServerFrame {
    welcome_frame_listed(principal, None)
}

fn welcome_frame_listed(principal: &str, username: Option<&str>) -> ServerFrame {
    ServerFrame::Welcome {
        protocol: 1,
        principal: principal.into(),
        display_name: principal.into(),
        supervisor: false,
        roster: "*".into(),
        username: username.map(Into::into),
        expires_at: i64::MAX,
        limits: Limits {
            max_frame_bytes: 16_384,
            max_text_chars: 20,
            max_text_bytes: None,
            frames_per_second: 1,
            max_page: 1,
            heartbeat_ms: 1,
        },
    }
}

fn relayed(effects: &[Effect]) -> Vec<&ClientFrame> {
    effects.iter().filter_map(|e| if let Effect::Relay(f) = e { Some(f) } else { None }).collect()
}

fn agent(state: &str) -> TabToWorker {
    TabToWorker::Hook {
        event: HookEvent::Agent {
            agent: CcpAgent {
                username: "sato".into(),
                name: "Sato".into(),
                state: AgentState { name: state.into(), kind: StateKind::Routable },
                since: 1_000,
                contact: None,
                contact_id: None,
                queues: Vec::new(),
                default_queue: None,
            },
        },
    }
}

#[test]
fn outbox_from_storage_is_resent_on_welcome_and_cleared_by_the_ack() {
    let entry = OutboxEntry { to: "b@x".into(), text: "hi".into(), client_id: "c1".into(), queued_at: 1 };
    let mut core = Core::new(vec![entry], Vec::new());
    let effects = welcome(&mut core, "a@x");
    let frames = relayed(&effects);
    assert!(matches!(frames[0], ClientFrame::Subscribe { .. }));
    assert!(matches!(frames[1], ClientFrame::Sync { .. }));
    let ClientFrame::SendChat { id, client_id, .. } = frames[2] else { panic!("{frames:?}") };
    assert_eq!(client_id, "c1");
    let ack = ServerFrame::ChatAck {
        id: *id,
        client_id: "c1".into(),
        peer: "b@x".into(),
        seq: 7,
        sent_at: 5,
        duplicate: false,
    };
    let effects = core.on_frame(ack, 0);
    assert!(core.outbox().is_empty());
    assert!(effects.contains(&Effect::Save(Record::Outbox(Vec::new()))));
    assert!(effects.iter().any(|e| matches!(e, Effect::Panels(WorkerToPanel::Chat { message }) if message.seq == 7)));
}

#[test]
fn a_long_outbox_goes_out_at_the_pace_of_the_acks_and_refused_messages_go_again() {
    let entries: Vec<OutboxEntry> = (0..30)
        .map(|n| OutboxEntry { to: "b@x".into(), text: format!("m{n}"), client_id: format!("c{n}"), queued_at: 1 })
        .collect();
    let mut core = Core::new(entries, Vec::new());
    let sends = |effects: &[Effect]| -> Vec<(u64, String)> {
        relayed(effects)
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::SendChat { id, client_id, .. } => Some((*id, client_id.clone())),
                _ => None,
            })
            .collect()
    };
    let first = sends(&welcome(&mut core, "a@x"));
    assert_eq!(first.len(), 8, "a window, not the whole outbox at once");
    let ack = |id: u64, client_id: &str| ServerFrame::ChatAck {
        id,
        client_id: client_id.into(),
        peer: "b@x".into(),
        seq: id,
        sent_at: 5,
        duplicate: false,
    };
    let next = sends(&core.on_frame(ack(first[0].0, &first[0].1), 0));
    assert_eq!(next.iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(), ["c8"], "one answer, one more");
    // Refused for now: not resent at once, but with the next tick, and only that one.
    let refused = ServerFrame::Error {
        id: Some(first[1].0),
        error: protocol::ErrorBody::new(protocol::ErrorCode::RateLimited, "slow down"),
    };
    assert!(sends(&core.on_frame(refused, 0)).is_empty());
    assert_eq!(sends(&core.tick()).iter().map(|(_, c)| c.as_str()).collect::<Vec<_>>(), ["c1"]);
    assert_eq!(core.outbox().len(), 29, "nothing lost");
    // A reconnect forgets what was in flight and sends a window again.
    core.set_connection(Connection::Offline { retry_at: 0, problem: Problem::Unreachable });
    assert_eq!(sends(&welcome(&mut core, "a@x")).len(), 8);
}

#[test]
fn a_message_typed_offline_waits_in_the_outbox_and_a_duplicate_client_id_is_ignored() {
    let mut core = Core::new(Vec::new(), Vec::new());
    let send = PanelToWorker::SendChat { to: "b@x".into(), text: "hi".into(), client_id: "c1".into() };
    let effects = core.on_panel(1, send.clone(), 10);
    assert!(relayed(&effects).is_empty(), "nothing goes to a relay that is not there");
    assert_eq!(core.outbox().len(), 1);
    assert!(core.on_panel(1, send, 11).is_empty());
    assert_eq!(core.outbox().len(), 1);
}

#[test]
fn presence_is_published_once_per_change_and_again_after_a_reconnect() {
    let mut core = Core::new(Vec::new(), Vec::new());
    assert!(relayed(&core.on_tab(3, agent("Available"))).is_empty());
    let effects = welcome(&mut core, "sato@example.com");
    assert!(relayed(&effects).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. })));
    assert!(relayed(&core.on_tab(3, agent("Available"))).is_empty(), "no change, nothing sent");
    core.set_connection(Connection::Offline { retry_at: 0, problem: Problem::Unreachable });
    let effects = welcome(&mut core, "sato@example.com");
    assert!(relayed(&effects).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. })));
}

#[test]
fn presence_of_a_ccp_logged_in_as_someone_else_is_not_published() {
    let publishes = |effects: &[Effect]| relayed(effects).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. }));
    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(3, agent("Available"));
    assert!(!publishes(&welcome(&mut core, "tanaka@example.com")), "the CCP is sato's");
    assert!(!publishes(&core.on_tab(3, agent("Busy"))));
    // The directory lists sato@example.com as Connect user "asato": "sato" is someone else.
    assert!(!publishes(&welcome_listed(&mut core, "sato@example.com", Some("asato"))));
    assert!(publishes(&welcome_listed(&mut core, "sato@example.com", Some("SATO"))));
}

#[test]
fn calls_on_a_ccp_logged_in_as_someone_else_stay_out_of_the_history() {
    let call = CallEvent {
        contact_id: "c-9".into(),
        number: "+81312345678".into(),
        queue_arn: None,
        phase: CallPhase::Dialling,
        at: 1,
    };
    let hook = TabToWorker::Hook { event: HookEvent::Call { call } };
    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(3, agent("Available"));
    welcome(&mut core, "tanaka@example.com");
    assert!(core.on_tab(3, hook.clone()).is_empty(), "sato's CCP: neither kept nor reported");
    welcome(&mut core, "sato@example.com");
    assert!(relayed(&core.on_tab(3, hook)).iter().any(|f| matches!(f, ClientFrame::ReportCall { .. })));
}

#[test]
fn unread_counts_feed_the_badge_and_notifications_only_when_unfocused() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "a@x");
    core.on_tab(3, TabToWorker::Focus { focused: true });
    let message = |seq| ChatMessage {
        from: "b@x".into(),
        to: "a@x".into(),
        seq,
        client_id: format!("c{seq}"),
        text: "hello".into(),
        sent_at: 1,
    };
    let effects = core.on_frame(ServerFrame::Chat { message: message(1) }, 0);
    assert!(effects.contains(&Effect::Badge(1)));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Notify { .. })), "the CCP has focus");
    core.on_tab(3, TabToWorker::Focus { focused: false });
    let effects = core.on_frame(ServerFrame::Chat { message: message(2) }, 0);
    assert!(effects.contains(&Effect::Badge(2)));
    assert!(effects.iter().any(|e| matches!(e, Effect::Notify { .. })));
    let again = core.on_frame(ServerFrame::Chat { message: message(2) }, 0);
    assert!(!again.iter().any(|e| matches!(e, Effect::Notify { .. })), "a message seen before is not announced twice");
    let effects = core.on_panel(1, PanelToWorker::MarkRead { peer: "b@x".into(), seq: 2 }, 0);
    assert!(effects.contains(&Effect::Badge(0)));
}

#[test]
fn a_push_past_the_cursor_syncs_the_gap_and_is_announced_once() {
    let stored = Stored { session: Some(session("s1")), ..Stored::default() };
    let (mut core, _) = Core::start(stored, 1_000);
    let socket = opened(&core.cursors_loaded("s1", Vec::new())).expect("opens");
    core.socket_opened(socket);
    let welcomed = core.socket_frame(socket, welcome_frame("a@x"), 1_000);
    let sync_id = |effects: &[Effect]| {
        relayed(effects).into_iter().find_map(|f| match f {
            ClientFrame::Sync { id, .. } => Some(*id),
            _ => None,
        })
    };
    let first = sync_id(&welcomed).expect("the sync after welcome");
    let nothing = ServerFrame::Synced { id: first, conversations: Vec::new(), messages: Vec::new(), more: false };
    core.socket_frame(socket, nothing, 1_000);
    let message = |seq| ChatMessage {
        from: "b@x".into(),
        to: "a@x".into(),
        seq,
        client_id: format!("c{seq}"),
        text: format!("m{seq}"),
        sent_at: 1,
    };
    let push = |core: &mut Core, seq| core.socket_frame(socket, ServerFrame::Chat { message: message(seq) }, 2_000);
    let syncs = |effects: &[Effect]| -> Vec<Vec<protocol::Cursor>> {
        relayed(effects)
            .into_iter()
            .filter_map(|f| match f {
                ClientFrame::Sync { cursors, .. } => Some(cursors.clone()),
                _ => None,
            })
            .collect()
    };
    let notified = |effects: &[Effect]| effects.iter().filter(|e| matches!(e, Effect::Notify { .. })).count();
    // A new conversation starts where its first push is; the next one follows it.
    assert!(syncs(&push(&mut core, 1)).is_empty());
    assert!(syncs(&push(&mut core, 2)).is_empty());
    // Message 4 before 3 (two relay nodes, or 3 lost): the cursor stays at 2 and a sync asks
    // for what follows it; 4 is announced now.
    let early = push(&mut core, 4);
    let cursor = protocol::Cursor { peer: "b@x".into(), seq: 2 };
    assert_eq!(syncs(&early), vec![vec![cursor]]);
    assert_eq!(notified(&early), 1);
    // Message 3 arriving meanwhile moves the cursor, asks nothing more (a sync is on its way) and
    // is not announced over the later one.
    let late = push(&mut core, 3);
    assert!(syncs(&late).is_empty());
    assert_eq!(notified(&late), 0);
    // The sync brings 3 and 4 again: nothing announced twice, the cursor at 4, no further sync.
    let synced = ServerFrame::Synced {
        id: sync_id(&early).unwrap(),
        conversations: Vec::new(),
        messages: vec![message(3), message(4)],
        more: false,
    };
    let effects = core.socket_frame(socket, synced, 2_000);
    assert_eq!(notified(&effects), 0);
    assert!(syncs(&effects).is_empty());
    assert!(effects.iter().any(|e| matches!(e, Effect::Save(Record::Cursors { cursors, .. }) if cursors[0].seq == 4)));
    // The next push follows on.
    assert!(syncs(&push(&mut core, 5)).is_empty());
}

#[test]
fn a_dial_goes_to_the_panels_tab_and_its_result_back_to_that_panel() {
    let mut core = Core::new(Vec::new(), Vec::new());
    let none = core.on_panel(9, PanelToWorker::Dial { id: 1, phone: "+8131234".into(), queue_arn: None }, 0);
    assert!(matches!(&none[0], Effect::Panel(9, WorkerToPanel::Result { ok: false, .. })), "no CCP tab yet");
    core.tab_opened(3);
    core.on_tab(3, agent("Available"));
    core.panel_opened(9, Some(3));
    let effects =
        core.on_panel(9, PanelToWorker::Dial { id: 2, phone: "+8131234".into(), queue_arn: Some("q".into()) }, 0);
    assert!(matches!(&effects[0], Effect::Tab(3, _)));
    let result =
        TabToWorker::Hook { event: HookEvent::Result { id: command_id(&effects), ok: true, error: None, code: None } };
    assert_eq!(
        core.on_tab(3, result),
        vec![Effect::Panel(9, WorkerToPanel::Result { id: 2, ok: true, error: None, code: None })]
    );
}

/// The id the worker gave the command it sent a CCP tab.
fn command_id(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Tab(
                _,
                WorkerToTab::Command { command: HookCommand::Dial { id, .. } | HookCommand::Transfer { id, .. } },
            ) => Some(*id),
            _ => None,
        })
        .expect("a command to a CCP tab")
}

#[test]
fn two_panels_numbering_their_dials_alike_each_get_their_own_result() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.tab_opened(3);
    core.on_tab(3, agent("Available"));
    core.tab_opened(4);
    core.panel_opened(8, Some(3));
    core.panel_opened(9, Some(4));
    // Each panel numbers its requests from 1.
    let dial = PanelToWorker::Dial { id: 1, phone: "+8131234".into(), queue_arn: None };
    let first = command_id(&core.on_panel(8, dial.clone(), 0));
    let transfer = PanelToWorker::Transfer { id: 1, username: "tanaka".into() };
    let second = command_id(&core.on_panel(9, transfer, 0));
    assert_ne!(first, second, "the worker numbers what it sends the CCP");
    let done = |id, ok| TabToWorker::Hook { event: HookEvent::Result { id, ok, error: None, code: None } };
    assert_eq!(
        core.on_tab(4, done(second, false)),
        vec![Effect::Panel(9, WorkerToPanel::Result { id: 1, ok: false, error: None, code: None })]
    );
    assert_eq!(
        core.on_tab(3, done(first, true)),
        vec![Effect::Panel(8, WorkerToPanel::Result { id: 1, ok: true, error: None, code: None })]
    );
    assert!(core.on_tab(3, done(first, true)).is_empty(), "answered once");
}

#[test]
fn online_a_typed_number_is_checked_by_the_relay_before_the_ccp_dials_it() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.tab_opened(3);
    core.on_tab(3, agent("Available"));
    core.panel_opened(9, Some(3));
    welcome(&mut core, "sato@example.com");
    let typed = PanelToWorker::Dial { id: 4, phone: "03-1234-5678".into(), queue_arn: Some("q".into()) };
    let check = Api::Normalize { panel: 9, id: 4, phone: "03-1234-5678".into(), queue_arn: Some("q".into()) };
    assert_eq!(core.on_panel(9, typed, 0), vec![Effect::Api(check.clone())]);
    let dial =
        core.on_api(ApiReply::Normalized { panel: 9, id: 4, e164: "+81312345678".into(), queue_arn: Some("q".into()) });
    let Effect::Tab(3, WorkerToTab::Command { command }) = &dial[0] else { panic!("{dial:?}") };
    let id = command_id(&dial);
    assert_eq!(*command, HookCommand::Dial { id, phone: "+81312345678".into(), queue_arn: Some("q".into()) });
    let refused =
        core.on_api(ApiReply::Failed { api: check, code: Some("invalid_number".into()), message: "not valid".into() });
    assert_eq!(
        refused,
        vec![Effect::Panel(
            9,
            WorkerToPanel::Result {
                id: 4,
                ok: false,
                error: Some("not valid".into()),
                code: Some("invalid_number".into()),
            }
        )]
    );
}

#[test]
fn call_reports_reach_the_relay_once_even_across_a_reconnect() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.tab_opened(3);
    let call = |phase| CallEvent {
        contact_id: "c-1".into(),
        number: "+81312345678".into(),
        queue_arn: Some("q".into()),
        phase,
        at: 1_000,
    };
    let hook = |phase| TabToWorker::Hook { event: HookEvent::Call { call: call(phase) } };
    // Offline: kept (in storage too), nothing sent.
    let kept = core.on_tab(3, hook(CallPhase::Dialling));
    assert!(relayed(&kept).is_empty());
    assert_eq!(
        kept,
        vec![Effect::Save(Record::PendingCalls(vec![PendingCall { call: call(CallPhase::Dialling), ccp: None }]))]
    );
    assert!(relayed(&core.on_tab(3, hook(CallPhase::Dialling))).is_empty(), "a repeat is not kept twice");
    let effects = welcome(&mut core, "sato@example.com");
    let reports: Vec<_> =
        relayed(&effects).into_iter().filter(|f| matches!(f, ClientFrame::ReportCall { .. })).collect();
    assert_eq!(reports.len(), 1, "sent once on welcome");
    assert!(
        effects.contains(&Effect::Api(Api::CallerIds)) && effects.contains(&Effect::Api(Api::Calls { before: None }))
    );
    let ClientFrame::ReportCall { id, .. } = reports[0] else { unreachable!() };
    let confirmed = core.on_frame(ServerFrame::Ok { id: *id }, 0);
    assert_eq!(
        confirmed,
        vec![Effect::Save(Record::PendingCalls(Vec::new())), Effect::Api(Api::Calls { before: None })],
        "stored no longer, and history is fetched again"
    );
    let effects = welcome(&mut core, "sato@example.com");
    assert!(!relayed(&effects).iter().any(|f| matches!(f, ClientFrame::ReportCall { .. })), "confirmed: not resent");
    // A report kept by a worker that Chrome stopped is sent by the next one.
    let pending = PendingCall { call: call(CallPhase::Ended), ccp: Some("sato".into()) };
    let mut next = Core::new(Vec::new(), Vec::new()).with_pending_calls(vec![pending]);
    let resent = welcome(&mut next, "sato@example.com");
    assert!(
        relayed(&resent)
            .iter()
            .any(|f| matches!(f, ClientFrame::ReportCall { call: CallEvent { phase: CallPhase::Ended, .. }, .. }))
    );
    let connected = core.on_tab(3, hook(CallPhase::Connected));
    assert!(matches!(
        relayed(&connected)[0],
        ClientFrame::ReportCall { call: CallEvent { phase: CallPhase::Connected, .. }, .. }
    ));
}

#[test]
fn calls_made_while_nobody_was_signed_in_are_not_reported_under_the_next_person() {
    let call = CallEvent {
        contact_id: "c-7".into(),
        number: "+81312345678".into(),
        queue_arn: None,
        phase: CallPhase::Dialling,
        at: 1,
    };
    let mut core = Core::new(Vec::new(), Vec::new());
    core.on_tab(3, agent("Available"));
    let kept = core.on_tab(3, TabToWorker::Hook { event: HookEvent::Call { call } });
    assert!(
        matches!(&kept[..], [Effect::Save(Record::PendingCalls(p))] if p[0].ccp.as_deref() == Some("sato")),
        "{kept:?}"
    );
    let effects = welcome(&mut core, "tanaka@example.com");
    assert!(!relayed(&effects).iter().any(|f| matches!(f, ClientFrame::ReportCall { .. })), "sato's call");
    assert!(effects.contains(&Effect::Save(Record::PendingCalls(Vec::new()))), "and forgotten");
}

#[test]
fn signing_out_forgets_the_person_and_what_they_left_unsent() {
    let mut core = Core::new(Vec::new(), Vec::new());
    core.panel_opened(1, None);
    core.on_tab(3, agent("Available"));
    welcome(&mut core, "sato@example.com");
    core.set_connection(Connection::Offline { retry_at: 0, problem: Problem::Unreachable });
    let send = PanelToWorker::SendChat { to: "b@x".into(), text: "typed offline".into(), client_id: "c1".into() };
    core.on_panel(1, send, 10);
    assert_eq!(core.outbox().len(), 1);

    let effects = core.sign_out();
    assert_eq!(core.connection(), &Connection::SignedOut);
    assert!(core.outbox().is_empty());
    assert!(effects.contains(&Effect::Save(Record::Outbox(Vec::new()))), "the stored outbox is emptied too");
    assert!(effects.contains(&Effect::Save(Record::PendingCalls(Vec::new()))));
    let snapshot = effects.iter().find_map(|e| match e {
        Effect::Panel(1, WorkerToPanel::Snapshot { snapshot }) => Some(snapshot),
        _ => None,
    });
    let snapshot = snapshot.expect("the panel is told");
    assert!(snapshot.me.is_none() && snapshot.roster.is_empty() && snapshot.outbox.is_empty());
    assert_eq!(snapshot.ccp.as_ref().map(|a| a.username.as_str()), Some("sato"), "the CCP is still there");

    // The next person's welcome sends nothing the previous one typed.
    let effects = welcome(&mut core, "tanaka@example.com");
    assert!(!relayed(&effects).iter().any(|f| matches!(f, ClientFrame::SendChat { .. })));
}

fn failed_list(effects: &[Effect]) -> Option<Vec<FailedChat>> {
    effects.iter().find_map(|e| match e {
        Effect::Panels(WorkerToPanel::Failed { failed }) => Some(failed.clone()),
        _ => None,
    })
}

fn send(core: &mut Core, client_id: &str, text: &str) -> Vec<Effect> {
    core.on_panel(1, PanelToWorker::SendChat { to: "b@x".into(), text: text.into(), client_id: client_id.into() }, 5)
}

#[test]
fn presence_follows_the_ccp_tabs_not_the_socket() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "sato@example.com");
    core.tab_opened(3);
    assert!(relayed(&core.on_tab(3, agent("Available"))).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. })));
    // The last CCP tab closes: the relay hears that no CCP reports (the socket stays for chat).
    let effects = core.tab_closed(3);
    assert!(matches!(relayed(&effects)[..], [ClientFrame::ClearPresence { .. }]), "{effects:?}");
    // The tab was reloaded: the same state is reported again and published again.
    core.tab_opened(4);
    let effects = core.on_tab(4, agent("Available"));
    assert!(relayed(&effects).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. })), "{effects:?}");
    // With a second CCP tab still open, closing one keeps the agent present.
    core.tab_opened(5);
    core.on_tab(5, agent("Available"));
    assert!(!relayed(&core.tab_closed(4)).iter().any(|f| matches!(f, ClientFrame::ClearPresence { .. })));
    // A tab that never reported an agent (the CCP not logged in) changes nothing.
    core.tab_opened(6);
    assert!(relayed(&core.tab_closed(6)).is_empty());
}

#[test]
fn a_message_over_the_limit_never_enters_the_outbox_and_shows_why() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "a@x"); // The limit is 20 characters.
    let effects = send(&mut core, "long", &"あ".repeat(21));
    assert!(core.outbox().is_empty());
    assert!(!effects.iter().any(|e| matches!(e, Effect::Save(Record::Outbox(_)) | Effect::Relay(_))), "{effects:?}");
    let failed = failed_list(&effects).expect("the panels hear of it");
    assert_eq!((failed[0].entry.client_id.as_str(), failed[0].code), ("long", ErrorCode::TooLarge));
    // Characters, not bytes: 20 Japanese characters (60 bytes) go.
    let effects = send(&mut core, "fits", &"あ".repeat(20));
    assert!(relayed(&effects).iter().any(|f| matches!(f, ClientFrame::SendChat { .. })));
    // The agent edits it (or discards it): it is forgotten.
    let effects = core.on_panel(1, PanelToWorker::Dismiss { client_id: "long".into() }, 6);
    assert_eq!(failed_list(&effects), Some(Vec::new()));
    assert!(core.snapshot(None).failed.is_empty());
}

#[test]
fn a_queued_message_the_relay_refuses_leaves_the_outbox_and_shows_why() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "a@x");
    let effects = send(&mut core, "c1", "hello");
    let Some(ClientFrame::SendChat { id, .. }) = relayed(&effects).into_iter().next().cloned() else { panic!() };
    let refusal = ServerFrame::Error { id: Some(id), error: ErrorBody::new(ErrorCode::Forbidden, "not allowed") };
    let effects = core.on_frame(refusal, 0);
    assert!(core.outbox().is_empty(), "no poison message retried forever");
    assert!(effects.contains(&Effect::Save(Record::Outbox(Vec::new()))));
    let failed = failed_list(&effects).expect("the refusal reaches the message");
    assert_eq!((failed[0].entry.text.as_str(), failed[0].code), ("hello", ErrorCode::Forbidden));
    // Kept in storage with its text, so a worker restart loses nothing the agent typed.
    assert!(effects.contains(&Effect::Save(Record::FailedChats(failed.clone()))));
    let restarted = Core::new(Vec::new(), Vec::new()).with_failed(failed.clone());
    assert_eq!(restarted.snapshot(None).failed, failed);
    // A refusal for now (rate) keeps it queued.
    let effects = send(&mut core, "c2", "again");
    let Some(ClientFrame::SendChat { id, .. }) = relayed(&effects).into_iter().next().cloned() else { panic!() };
    core.on_frame(ServerFrame::Error { id: Some(id), error: ErrorBody::new(ErrorCode::RateLimited, "slow down") }, 0);
    assert_eq!(core.outbox().len(), 1);
}

#[test]
fn an_outbox_kept_from_before_leaves_what_the_relay_would_refuse_at_welcome() {
    let entry = |id: &str, text: String| OutboxEntry { to: "b@x".into(), text, client_id: id.into(), queued_at: 1 };
    let mut core = Core::new(vec![entry("huge", "字".repeat(10_000)), entry("ok", "short".into())], Vec::new());
    let effects = welcome(&mut core, "a@x");
    let sent: Vec<&str> = relayed(&effects)
        .into_iter()
        .filter_map(|f| if let ClientFrame::SendChat { client_id, .. } = f { Some(client_id.as_str()) } else { None })
        .collect();
    assert_eq!(sent, ["ok"], "the oversized one is never sent");
    assert_eq!(core.outbox().len(), 1);
    assert!(effects.iter().any(|e| matches!(e, Effect::Save(Record::Outbox(o)) if o.len() == 1)));
    assert_eq!(failed_list(&effects).map(|f| f[0].entry.client_id.clone()), Some("huge".to_owned()));
}

#[test]
fn cursors_are_saved_under_the_key_they_were_restored_from_not_the_principal() {
    // The issuer's `sub` is an opaque id; the relay's principal is the e-mail.
    let mut core = Core::new(Vec::new(), Vec::new());
    core.restore_cursors("00u1alice9x7q", vec![protocol::Cursor { peer: "b@x".into(), seq: 4 }]);
    welcome(&mut core, "alice@example.com");
    let message = ChatMessage {
        from: "b@x".into(),
        to: "alice@example.com".into(),
        seq: 5,
        client_id: "m5".into(),
        text: "hi".into(),
        sent_at: 1,
    };
    let effects = core.on_frame(ServerFrame::Chat { message }, 0);
    let saved = effects.iter().find_map(|e| match e {
        Effect::Save(Record::Cursors { owner, cursors }) => Some((owner.clone(), cursors.clone())),
        _ => None,
    });
    assert_eq!(saved, Some(("00u1alice9x7q".to_owned(), vec![protocol::Cursor { peer: "b@x".into(), seq: 5 }])));
}

#[test]
fn the_dock_shortcut_toggles_the_focused_ccp_tab() {
    let mut core = Core::new(Vec::new(), Vec::new());
    assert!(core.toggle_dock().is_empty(), "no CCP tab: nothing to toggle");
    core.tab_opened(3);
    core.on_tab(3, agent("Available"));
    core.tab_opened(4);
    core.on_tab(4, TabToWorker::Focus { focused: true });
    assert_eq!(core.toggle_dock(), [Effect::Tab(4, WorkerToTab::Toggle)]);
    core.on_tab(4, TabToWorker::Focus { focused: false });
    assert_eq!(core.toggle_dock(), [Effect::Tab(3, WorkerToTab::Toggle)]);
}

#[test]
fn presence_is_withdrawn_when_the_ccp_left_open_is_someone_elses() {
    let other = |tab: &str| TabToWorker::Hook {
        event: HookEvent::Agent {
            agent: CcpAgent {
                username: tab.into(),
                name: tab.into(),
                state: AgentState { name: "Available".into(), kind: StateKind::Routable },
                since: 1_000,
                contact: None,
                contact_id: None,
                queues: Vec::new(),
                default_queue: None,
            },
        },
    };
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "sato@example.com");
    core.tab_opened(3);
    core.on_tab(3, other("tanaka")); // A colleague's CCP left open at a shared desk.
    core.tab_opened(4);
    assert!(relayed(&core.on_tab(4, agent("Available"))).iter().any(|f| matches!(f, ClientFrame::SetPresence { .. })));
    // Sato closes her own tab: the colleague's is still open, but it is not hers.
    let effects = core.tab_closed(4);
    assert!(matches!(relayed(&effects)[..], [ClientFrame::ClearPresence { .. }]), "{effects:?}");
    // Her CCP tab, logged out and then in as the colleague, withdraws her presence too.
    core.tab_opened(5);
    core.on_tab(5, agent("Available"));
    let effects = core.on_tab(5, other("tanaka"));
    assert!(matches!(relayed(&effects)[..], [ClientFrame::ClearPresence { .. }]), "{effects:?}");
    // With one of her tabs and a colleague's open, closing the colleague's keeps hers published.
    core.tab_opened(6);
    core.on_tab(6, agent("Available"));
    core.tab_opened(7);
    assert!(relayed(&core.on_tab(7, other("tanaka"))).is_empty(), "a colleague's CCP opening changes nothing");
    assert!(relayed(&core.tab_closed(7)).is_empty(), "nor does it closing");
}

// ---- storage keys, sign-in, renewal, reconnects ---------------------------------------------

/// An ID token (unsigned: the worker reads its claims only) for `sub`, expiring at `exp` seconds.
fn token(sub: &str, exp: i64) -> String {
    let claims = crate::base64url::encode(format!(r#"{{"sub":"{sub}","exp":{exp},"nonce":"n"}}"#).as_bytes());
    format!("eyJhbGciOiJub25lIn0.{claims}.sig")
}

fn session(sub: &str) -> Session {
    Session { id_token: token(sub, 2_000_000), expires_at: 2_000_000_000 }
}

fn opened(effects: &[Effect]) -> Option<u64> {
    effects.iter().find_map(|e| if let Effect::OpenSocket { socket } = e { Some(*socket) } else { None })
}

fn sign_in_of(effects: &[Effect]) -> Option<(u64, Prompt)> {
    effects
        .iter()
        .find_map(|e| if let Effect::SignIn { attempt, prompt } = e { Some((*attempt, *prompt)) } else { None })
}

fn timer(effects: &[Effect], kind: Timer) -> Option<u32> {
    effects.iter().find_map(|e| match e {
        Effect::SetTimer { timer, ms } if *timer == kind => Some(*ms),
        _ => None,
    })
}

fn connection(effects: &[Effect]) -> Option<Connection> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Panels(WorkerToPanel::Connection { connection }) => Some(connection.clone()),
        _ => None,
    })
}

/// A core started with a kept session for `sub`, its socket open and welcomed as `principal`.
fn online(sub: &str, principal: &str) -> (Core, u64) {
    let stored = Stored { session: Some(session(sub)), ..Stored::default() };
    let (mut core, effects) = Core::start(stored, 1_000);
    assert!(effects.contains(&Effect::Load(Key::Cursors(sub.into()))), "{effects:?}");
    let socket = opened(&core.cursors_loaded(sub, Vec::new())).expect("the socket opens once the cursors are read");
    core.socket_opened(socket);
    core.socket_frame(socket, welcome_frame(principal), 1_000);
    (core, socket)
}

#[test]
fn every_storage_key_is_named_in_one_place_and_kept_where_it_is_read() {
    let session = session("00u1alice9x7q");
    let records = [
        (Record::Outbox(Vec::new()), "outbox", Area::Local),
        (Record::FailedChats(Vec::new()), "failed_chats", Area::Local),
        (Record::PendingCalls(Vec::new()), "pending_calls", Area::Local),
        (Record::Cursors { owner: "00u1alice9x7q".into(), cursors: Vec::new() }, "cursors:00u1alice9x7q", Area::Local),
        (Record::Session(session.clone()), "session", Area::Session),
        (Record::SignedOut, "signed_out", Area::Local),
    ];
    for (record, name, area) in &records {
        assert_eq!((record.key().name().as_ref(), record.key().area()), (*name, *area), "{record:?}");
    }
    // The e2e tests and older versions read these names: they are part of the stored format.
    assert_eq!(Key::Outbox.name(), "outbox");

    // Cursors: read under the token's `sub` before connecting, saved under the same key after
    // the relay names the principal (once they were written under the principal and never
    // found again).
    let (mut core, socket) = online("00u1alice9x7q", "alice@example.com");
    let message = ChatMessage {
        from: "b@x".into(),
        to: "alice@example.com".into(),
        seq: 3,
        client_id: "m3".into(),
        text: "hi".into(),
        sent_at: 1,
    };
    let effects = core.socket_frame(socket, ServerFrame::Chat { message }, 2_000);
    let saved: Vec<Key> =
        effects.iter().filter_map(|e| if let Effect::Save(r) = e { Some(r.key()) } else { None }).collect();
    assert_eq!(saved, [Key::Cursors("00u1alice9x7q".into())]);

    // Sign-in saves the session where start-up reads it, and clears the sign-out mark.
    let (mut core, started) = Core::start(Stored::default(), 0);
    let (attempt, _) = sign_in_of(&started).expect("a silent sign-in");
    let effects = core.signed_in(attempt, Ok(session.clone()), 0, 0.0);
    assert!(effects.contains(&Effect::Save(Record::Session(session))));
    assert!(effects.contains(&Effect::Remove(Key::SignedOut)));
    assert!(effects.contains(&Effect::Load(Key::Cursors("00u1alice9x7q".into()))));
    // Sign-out marks it, forgets the session, and empties what would go out under the next name.
    let effects = core.sign_out();
    for key in [Key::SignedOut, Key::Outbox, Key::FailedChats, Key::PendingCalls] {
        assert!(effects.iter().any(|e| matches!(e, Effect::Save(r) if r.key() == key)), "{key:?}");
    }
    assert!(effects.contains(&Effect::Remove(Key::Session)));
}

#[test]
fn start_up_uses_a_kept_session_signs_in_silently_without_one_and_never_after_a_sign_out() {
    // A kept session: straight to the relay, with the token in the first frame.
    let kept = session("s1");
    let (mut core, effects) = Core::start(Stored { session: Some(kept.clone()), ..Stored::default() }, 1_000);
    assert_eq!(timer(&effects, Timer::Ping), Some(PING_MS));
    assert!(sign_in_of(&effects).is_none());
    let open = core.cursors_loaded("s1", vec![protocol::Cursor { peer: "b@x".into(), seq: 9 }]);
    let socket = opened(&open).expect("opens");
    assert_eq!(connection(&open), Some(Connection::Connecting));
    let hello = core.socket_opened(socket);
    assert!(matches!(&relayed(&hello)[..], [ClientFrame::Hello { token: Some(t), .. }] if *t == kept.id_token));
    let welcomed = core.socket_frame(socket, welcome_frame("a@x"), 1_000);
    let sync = relayed(&welcomed).into_iter().find_map(|f| match f {
        ClientFrame::Sync { cursors, .. } => Some(cursors.clone()),
        _ => None,
    });
    assert_eq!(sync, Some(vec![protocol::Cursor { peer: "b@x".into(), seq: 9 }]), "resumes from the kept cursors");
    assert!(timer(&welcomed, Timer::Renew).is_some(), "renewal planned");

    // Cursors read for an account no longer signed in open nothing.
    assert!(core.cursors_loaded("someone-else", Vec::new()).is_empty());

    // A session about to expire is not used: a silent sign-in is.
    let expiring = Session { expires_at: 1_000 + 30_000, ..session("s1") };
    let (_, effects) = Core::start(Stored { session: Some(expiring), ..Stored::default() }, 1_000);
    assert_eq!(sign_in_of(&effects).map(|s| s.1), Some(Prompt::Silent));
    assert_eq!(connection(&effects), Some(Connection::SigningIn));

    // Signed out before the restart: nothing signs in by itself, not even with a session kept.
    let stored = Stored { session: Some(session("s1")), signed_out: true, ..Stored::default() };
    let (mut core, effects) = Core::start(stored, 1_000);
    assert!(sign_in_of(&effects).is_none() && opened(&effects).is_none(), "{effects:?}");
    assert_eq!(connection(&effects), Some(Connection::SignedOut));
    assert!(core.reconfigured(None).iter().all(|e| !matches!(e, Effect::SignIn { .. })), "nor do new settings");
    // The person's click does, and the issuer authenticates again.
    let effects = core.on_panel(1, PanelToWorker::SignIn, 0);
    assert_eq!(sign_in_of(&effects).map(|s| s.1), Some(Prompt::Login));
}

#[test]
fn an_unreachable_issuer_is_retried_with_the_attempts_prompt_and_a_refusal_waits_for_the_person() {
    let (mut core, started) = Core::start(Stored::default(), 0);
    let (attempt, _) = sign_in_of(&started).expect("silent sign-in");
    let down = || Err(SignInError::Unreachable("cannot reach the issuer".into()));
    let effects = core.signed_in(attempt, down(), 10_000, 0.0);
    assert_eq!(timer(&effects, Timer::SignInRetry), Some(500));
    assert_eq!(connection(&effects), Some(Connection::Offline { retry_at: 10_500, problem: Problem::Unreachable }));
    let (again, prompt) = sign_in_of(&core.timer_fired(Timer::SignInRetry, 0)).expect("tried again");
    assert_eq!(prompt, Prompt::Silent);
    // The next failure waits longer.
    assert_eq!(timer(&core.signed_in(again, down(), 20_000, 0.0), Timer::SignInRetry), Some(1000));
    // A click meanwhile supersedes the retry.
    let (clicked, prompt) = sign_in_of(&core.on_panel(1, PanelToWorker::SignIn, 0)).expect("signs in");
    assert_eq!(prompt, Prompt::Interactive);
    assert!(core.timer_fired(Timer::SignInRetry, 0).is_empty(), "the retry is moot");
    // A refusal of what the person asked for is shown, and not retried.
    let effects = core.signed_in(clicked, Err(SignInError::Refused("access_denied".into())), 0, 0.0);
    assert_eq!(timer(&effects, Timer::SignInRetry), None);
    assert!(matches!(connection(&effects), Some(Connection::Failed { problem: Problem::SignInFailed, .. })));
    // A silent one refused: signed out, until the person asks.
    let (mut core, started) = Core::start(Stored::default(), 0);
    let (attempt, _) = sign_in_of(&started).expect("silent sign-in");
    let effects = core.signed_in(attempt, Err(SignInError::Refused("login_required".into())), 0, 0.0);
    assert_eq!(connection(&effects), Some(Connection::SignedOut));
}

#[test]
fn a_superseded_sign_in_is_ignored_and_one_in_flight_at_sign_out_signs_nobody_in() {
    let (mut core, started) = Core::start(Stored::default(), 0);
    let (first, _) = sign_in_of(&started).expect("silent sign-in");
    let (second, _) = sign_in_of(&core.on_panel(1, PanelToWorker::SignIn, 0)).expect("click");
    assert!(core.signed_in(first, Ok(session("old")), 0, 0.0).is_empty(), "the older attempt's answer");
    assert!(!core.signed_in(second, Ok(session("new")), 0, 0.0).is_empty());

    let (mut core, started) = Core::start(Stored::default(), 0);
    let (attempt, _) = sign_in_of(&started).expect("silent sign-in");
    core.sign_out();
    assert!(core.signed_in(attempt, Ok(session("s1")), 0, 0.0).is_empty());
    assert_eq!(core.token(), None);
}

#[test]
fn a_lost_connection_comes_back_after_a_growing_backoff_and_a_welcome_resets_it() {
    let (mut core, socket) = online("s1", "a@x");
    let effects = core.socket_closed(socket, 1006, String::new(), 5_000, 0.0);
    assert_eq!(timer(&effects, Timer::Reconnect), Some(500));
    assert_eq!(connection(&effects), Some(Connection::Offline { retry_at: 5_500, problem: Problem::Unreachable }));
    let reopened = core.timer_fired(Timer::Reconnect, 0);
    let second = opened(&reopened).expect("reconnects");
    assert_ne!(second, socket);
    // The old socket's late events change nothing.
    assert!(core.socket_closed(socket, 1006, String::new(), 5_000, 0.0).is_empty());
    assert!(core.socket_frame(socket, welcome_frame("a@x"), 5_000).is_empty());
    assert!(core.socket_opened(socket).is_empty());
    // Failing again waits longer; a welcome starts the count again.
    assert_eq!(timer(&core.socket_closed(second, 1006, String::new(), 6_000, 0.0), Timer::Reconnect), Some(1000));
    let third = opened(&core.timer_fired(Timer::Reconnect, 0)).expect("reconnects");
    core.socket_frame(third, welcome_frame("a@x"), 7_000);
    assert_eq!(timer(&core.socket_closed(third, 4000, String::new(), 8_000, 0.0), Timer::Reconnect), Some(500));
    // A close that says do not come back is shown and not retried.
    let fourth = opened(&core.timer_fired(Timer::Reconnect, 0)).expect("reconnects");
    let effects = core.socket_closed(fourth, 4104, String::new(), 9_000, 0.0);
    assert_eq!(timer(&effects, Timer::Reconnect), None);
    assert!(matches!(connection(&effects), Some(Connection::Failed { problem: Problem::Replaced, .. })));
    // New settings cancel a pending reconnect.
    let (mut core, socket) = online("s1", "a@x");
    core.socket_closed(socket, 1006, String::new(), 0, 0.0);
    let effects = core.reconfigured(None);
    assert!(effects.contains(&Effect::CancelTimer(Timer::Reconnect)));
    assert!(core.timer_fired(Timer::Reconnect, 0).is_empty());
}

#[test]
fn an_expired_or_refused_token_signs_in_again_silently_once() {
    let (mut core, socket) = online("s1", "a@x");
    let effects = core.socket_closed(socket, CloseCode::TokenExpired.code(), String::new(), 0, 0.0);
    assert_eq!(sign_in_of(&effects).map(|s| s.1), Some(Prompt::Silent));
    assert_eq!(connection(&effects), Some(Connection::SigningIn));

    let (mut core, socket) = online("s1", "a@x");
    let refused = CloseCode::Unauthenticated.code();
    let (attempt, _) = sign_in_of(&core.socket_closed(socket, refused, String::new(), 0, 0.0)).expect("once");
    core.signed_in(attempt, Ok(session("s1")), 0, 0.0);
    let socket = opened(&core.cursors_loaded("s1", Vec::new())).expect("reconnects");
    let effects = core.socket_closed(socket, refused, "the issuer's keys changed".into(), 0, 0.0);
    assert!(sign_in_of(&effects).is_none(), "a second refusal in a row is shown");
    assert!(matches!(connection(&effects), Some(Connection::Failed { problem: Problem::Refused, .. })));
}

#[test]
fn the_token_is_renewed_silently_and_handed_to_the_open_connection() {
    let (mut core, _) = online("s1", "a@x");
    let (attempt, prompt) = sign_in_of(&core.timer_fired(Timer::Renew, 0)).expect("renews");
    assert_eq!(prompt, Prompt::Silent);
    let renewed = Session { id_token: token("s1", 3_000_000), expires_at: 3_000_000_000 };
    let effects = core.signed_in(attempt, Ok(renewed.clone()), 2_000_000_000 - 600_000, 0.0);
    assert!(effects.contains(&Effect::Save(Record::Session(renewed.clone()))));
    assert!(matches!(&relayed(&effects)[..], [ClientFrame::Reauth { token, .. }] if *token == renewed.id_token));
    assert!(timer(&effects, Timer::Renew).is_some(), "the next renewal");
    assert_eq!(connection(&effects), None, "the agent sees nothing of it");
    assert_eq!(core.token(), Some(renewed.id_token.as_str()));
    // A failed renewal is tried again while the token lasts, and not once it is nearly out.
    let (attempt, _) = sign_in_of(&core.timer_fired(Timer::Renew, 0)).expect("renews");
    let failed = || Err(SignInError::Unreachable("down".into()));
    assert_eq!(timer(&core.signed_in(attempt, failed(), 0, 0.0), Timer::Renew), Some(RENEW_RETRY_MS));
    let (attempt, _) = sign_in_of(&core.timer_fired(Timer::Renew, 0)).expect("renews");
    assert!(core.signed_in(attempt, failed(), 3_000_000_000 - 10_000, 0.0).is_empty());
    // A sign-out makes a renewal in flight moot.
    let (attempt, _) = sign_in_of(&core.timer_fired(Timer::Renew, 0)).expect("renews");
    core.sign_out();
    assert!(core.signed_in(attempt, Ok(session("s1")), 0, 0.0).is_empty());
    assert!(core.timer_fired(Timer::Renew, 0).is_empty());
}

#[test]
fn pings_go_out_on_an_open_socket_and_every_id_comes_from_one_allocator() {
    let (mut core, socket) = online("s1", "a@x");
    let effects = core.timer_fired(Timer::Ping, 0);
    assert_eq!(timer(&effects, Timer::Ping), Some(PING_MS), "again in a while");
    let ping =
        relayed(&effects).into_iter().find_map(|f| if let ClientFrame::Ping { id } = f { Some(*id) } else { None });
    let ping = ping.expect("a ping");
    // Sockets, relay requests, panels, commands and sign-ins never share a number.
    core.tab_opened(3);
    let panel = core.new_panel();
    core.panel_opened(panel, Some(3));
    let history = core.on_panel(panel, PanelToWorker::History { peer: "b@x".into(), before: None }, 0);
    let history = relayed(&history)
        .into_iter()
        .find_map(|f| if let ClientFrame::History { id, .. } = f { Some(*id) } else { None });
    let command = command_id(&core.on_panel(panel, PanelToWorker::Transfer { id: 1, username: "b".into() }, 0));
    let (renewal, _) = sign_in_of(&core.timer_fired(Timer::Renew, 0)).expect("renews");
    let mut ids = vec![socket, ping, panel, history.expect("history asked"), command, renewal];
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "{ids:?}");
    // Offline, no ping is made.
    core.socket_closed(socket, 1006, String::new(), 0, 0.0);
    assert!(relayed(&core.timer_fired(Timer::Ping, 0)).is_empty());
}

#[test]
fn a_refused_history_request_reaches_the_chat_view_of_that_peer() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "a@x");
    core.panel_opened(1, None);
    let asked = core.on_panel(1, PanelToWorker::History { peer: "b@x".into(), before: Some(40) }, 0);
    let Some(ClientFrame::History { id, .. }) = relayed(&asked).into_iter().next().cloned() else {
        panic!("{asked:?}")
    };
    let refusal = ServerFrame::Error { id: Some(id), error: ErrorBody::new(ErrorCode::RateLimited, "slow down") };
    assert_eq!(
        core.on_frame(refusal, 0),
        vec![Effect::Panel(
            1,
            WorkerToPanel::ChatRefused {
                peer: "b@x".into(),
                code: ErrorCode::RateLimited,
                message: "slow down".into()
            }
        )],
        "to the conversation, never as a dial result"
    );
}

#[test]
fn ports_are_taken_only_from_a_ccp_tabs_top_frame_and_from_the_panel_pages() {
    let base = "chrome-extension://abc/";
    let panel = "chrome-extension://abc/panel.html";
    let page = "https://x.my.connect.aws/ccp-v2/";
    assert_eq!(accept_port("tab", Some(3), Some(0), page, base), Some(PortOf::Tab(3)));
    assert_eq!(accept_port("tab", Some(3), Some(7), page, base), None, "a frame inside the page");
    assert_eq!(accept_port("tab", None, Some(0), page, base), None, "not from a tab");
    let docked = "chrome-extension://abc/panel.html?tab=3";
    assert_eq!(accept_port("panel", Some(3), Some(4), docked, base), Some(PortOf::Panel(Some(3))));
    assert_eq!(accept_port("panel", None, None, panel, base), Some(PortOf::Panel(None)));
    assert_eq!(accept_port("panel", Some(3), Some(0), page, base), None, "a page calling itself a panel");
    assert_eq!(accept_port("options", None, None, panel, base), None);
    // The full-tab floor is a panel in its own tab; other extension pages are not panels.
    let floor = "chrome-extension://abc/floor.html";
    assert_eq!(accept_port("panel", Some(5), Some(0), floor, base), Some(PortOf::Floor(Some(5))));
    assert_eq!(
        accept_port("panel", Some(5), Some(0), "chrome-extension://abc/floor.html#x", base),
        Some(PortOf::Floor(Some(5)))
    );
    assert_eq!(accept_port("panel", None, None, "chrome-extension://abc/options.html", base), None);
    assert_eq!(
        accept_port("panel", None, None, "chrome-extension://other/panel.html", base),
        None,
        "another extension"
    );
    assert_eq!(accept_port("panel", None, None, "chrome-extension://abc/panel.html.evil", base), None);
}

#[test]
fn a_core_is_made_from_what_storage_kept_so_the_first_ports_add_to_it() {
    // Panels and tabs reconnecting are what wakes a stopped worker: their first messages reach
    // a core already holding the kept outbox (once they reached an empty one, and start-up then
    // overwrote what they had added, and storage with it).
    let kept = OutboxEntry { to: "b@x".into(), text: "kept".into(), client_id: "k1".into(), queued_at: 1 };
    let stored = Stored { outbox: vec![kept], session: Some(session("s1")), ..Stored::default() };
    let (mut core, _) = Core::start(stored, 1_000);
    let panel = core.new_panel();
    assert_eq!(core.snapshot(None).outbox.len(), 1, "the snapshot shows the kept message");
    let send = PanelToWorker::SendChat { to: "b@x".into(), text: "resent".into(), client_id: "r1".into() };
    let effects = core.on_panel(panel, send, 2_000);
    let saved = effects.iter().find_map(|e| match e {
        Effect::Save(Record::Outbox(o)) => Some(o.iter().map(|m| m.client_id.as_str()).collect::<Vec<_>>()),
        _ => None,
    });
    assert_eq!(saved, Some(vec!["k1", "r1"]), "saved beside the kept one, not over it");

    // A sign-out right after start-up stays: nothing later restores the kept session.
    let stored = Stored { session: Some(session("s1")), ..Stored::default() };
    let (mut core, _) = Core::start(stored, 1_000);
    core.sign_out();
    assert_eq!(core.token(), None);
    assert!(core.cursors_loaded("s1", Vec::new()).is_empty(), "the kept session's socket never opens");
}

// ---- the supervisor's floor --------------------------------------------------------------------

/// Thresholds as the end-to-end tests set them: hold 3 s, the rest the defaults.
fn fast_thresholds() -> floor::Thresholds {
    let alerts = protocol::AlertSettings {
        hold_minutes: Some(protocol::Minutes::from_millis(3_000)),
        ..protocol::AlertSettings::default()
    };
    floor::Thresholds::resolve(Some(&alerts), None)
}

/// A supervisor's core, welcomed, with the fast thresholds and what storage kept.
fn supervisor_with(seen: Vec<floor::alerts::SeenEpisode>, watch: Option<Vec<String>>) -> (Core, Vec<Effect>) {
    supervisor_in(seen, watch, None)
}

/// A supervisor's core as [`supervisor_with`], whose floor the policy scopes to `scope`.
fn supervisor_in(
    seen: Vec<floor::alerts::SeenEpisode>,
    watch: Option<Vec<String>>,
    scope: Option<Vec<String>>,
) -> (Core, Vec<Effect>) {
    let alerts = floor::Alerts::restore(fast_thresholds(), seen);
    let mut core = Core::new(Vec::new(), Vec::new()).with_floor(alerts, watch, scope);
    let ServerFrame::Welcome { protocol, principal, display_name, roster, username, expires_at, limits, .. } =
        welcome_frame("boss@x")
    else {
        unreachable!()
    };
    let welcome = ServerFrame::Welcome {
        protocol,
        principal,
        display_name,
        supervisor: true,
        roster,
        username,
        expires_at,
        limits,
    };
    let effects = core.on_frame(welcome, 0);
    (core, effects)
}

fn supervisor() -> Core {
    supervisor_with(Vec::new(), None).0
}

fn on_hold(principal: &str, roster: &str, since: protocol::Millis) -> protocol::Presence {
    protocol::Presence {
        principal: principal.into(),
        username: None,
        display_name: principal.to_uppercase(),
        roster: roster.into(),
        state: AgentState { name: "Busy".into(), kind: StateKind::System },
        since,
        contact: Some(protocol::ContactSummary {
            channel: protocol::Channel::Voice,
            state: protocol::ContactState::OnHold,
            since: since + 1,
        }),
        online: true,
        source: protocol::Source::Extension,
        ccp_closed: false,
    }
}

fn available(principal: &str, roster: &str, since: protocol::Millis) -> protocol::Presence {
    protocol::Presence {
        state: AgentState { name: "Available".into(), kind: StateKind::Routable },
        contact: None,
        ..on_hold(principal, roster, since)
    }
}

fn roster_frame(agents: Vec<protocol::Presence>) -> ServerFrame {
    ServerFrame::Roster { id: 1, roster: "*".into(), agents, complete: true }
}

fn notified(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| if let Effect::NotifyAlert(a) = e { Some(a.key.principal.clone()) } else { None })
        .collect()
}

fn badges(effects: &[Effect]) -> Vec<u64> {
    effects.iter().filter_map(|e| if let Effect::Badge(n) = e { Some(*n) } else { None }).collect()
}

#[test]
fn a_supervisor_watches_every_roster_and_publishes_nothing_without_a_ccp() {
    let (core, effects) = supervisor_with(Vec::new(), None);
    let frames = relayed(&effects);
    assert!(matches!(frames[0], ClientFrame::Subscribe { roster: Some(r), .. } if r == "*"), "{frames:?}");
    assert!(
        !frames.iter().any(|f| matches!(f, ClientFrame::SetPresence { .. } | ClientFrame::ClearPresence { .. })),
        "no CCP has reported: nothing is published or withdrawn"
    );
    assert!(core.snapshot(None).me.is_some_and(|m| m.supervisor));
    // An agent subscribes to their own roster, as before.
    let mut agent = Core::new(Vec::new(), Vec::new());
    assert!(matches!(relayed(&welcome(&mut agent, "a@x"))[0], ClientFrame::Subscribe { roster: None, .. }));
}

#[test]
fn an_alert_notifies_once_per_episode_with_the_badge_and_one_timer_for_the_next_crossing() {
    let mut core = supervisor();
    let effects = core.on_frame(roster_frame(vec![on_hold("ito", "東京", 1_000), available("kato", "東京", 0)]), 1_000);
    assert_eq!(timer(&effects, Timer::Alerts), Some(3_001), "the hold's threshold, counted from its start");
    assert!(notified(&effects).is_empty());

    let effects = core.timer_fired(Timer::Alerts, 4_001);
    assert_eq!(notified(&effects), ["ito"]);
    assert_eq!(badges(&effects), [1], "the badge counts the alert");
    assert_eq!(timer(&effects, Timer::Alerts), Some(3_000), "then red at twice the threshold");
    assert!(effects.iter().any(|e| matches!(e, Effect::Save(Record::AlertsSeen(s)) if s.len() == 1)), "remembered");

    let effects = core.timer_fired(Timer::Alerts, 7_001);
    assert!(notified(&effects).is_empty(), "red is no new episode: no second notification");
    assert_eq!(timer(&effects, Timer::Alerts), Some(894_000), "next, the contact's own threshold");

    // The agent takes the caller off hold: the alert ends by itself.
    let effects = core.on_frame(ServerFrame::Presence { presence: available("ito", "東京", 8_000) }, 8_000);
    assert_eq!(badges(&effects), [0]);
    // An agent's core keeps no alerts.
    let mut desk = Core::new(Vec::new(), Vec::new()).with_floor(floor::Alerts::new(fast_thresholds()), None, None);
    welcome(&mut desk, "a@x");
    let effects = desk.on_frame(roster_frame(vec![on_hold("ito", "東京", 0)]), 60_000);
    assert!(notified(&effects).is_empty() && timer(&effects, Timer::Alerts).is_none());
}

#[test]
fn no_notification_while_a_floor_is_visible_and_focused() {
    let mut core = supervisor();
    core.panel_opened(7, None);
    core.on_panel(7, PanelToWorker::FloorFocus { visible_and_focused: true }, 0);
    core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0)]), 0);
    let effects = core.timer_fired(Timer::Alerts, 3_001);
    assert!(notified(&effects).is_empty(), "the supervisor is looking at it");
    assert_eq!(badges(&effects), [1], "counted all the same");
    // The floor closes: the next episode notifies.
    core.panel_closed(7);
    core.on_frame(ServerFrame::Presence { presence: on_hold("kato", "東京", 10_000) }, 10_000);
    assert_eq!(notified(&core.timer_fired(Timer::Alerts, 13_001)), ["kato"]);
}

fn missed(principal: &str, roster: &str, since: protocol::Millis) -> protocol::Presence {
    protocol::Presence {
        state: AgentState { name: "MissedCallAgent".into(), kind: StateKind::Error },
        contact: None,
        ..on_hold(principal, roster, since)
    }
}

#[test]
fn a_dismissal_reaches_every_panel_the_badge_and_storage_and_a_restart_keeps_it() {
    let mut core = supervisor();
    let effects = core.on_frame(roster_frame(vec![missed("ito", "東京", 0), missed("kato", "東京", 0)]), 100);
    assert_eq!(notified(&effects), ["ito", "kato"], "a missed contact alerts at once");
    let key = protocol::AlertKey { principal: "ito".into(), rule: protocol::Rule::Missed, since: 0 };
    let effects = core.on_panel(1, PanelToWorker::DismissAlert { key: key.clone() }, 3_500);
    assert!(effects.contains(&Effect::Panels(WorkerToPanel::Dismissed { keys: vec![key.clone()] })));
    assert_eq!(badges(&effects), [1]);
    let seen =
        effects.iter().find_map(|e| if let Effect::Save(Record::AlertsSeen(s)) = e { Some(s.clone()) } else { None });
    let Some(seen) = seen else { panic!("{effects:?}") };
    assert!(core.on_panel(1, PanelToWorker::DismissAlert { key: key.clone() }, 3_600).is_empty(), "once");
    assert_eq!(core.snapshot(None).dismissed, std::slice::from_ref(&key), "a panel that connects hides it too");

    // A restarted worker neither notifies these episodes again nor shows the dismissed one.
    let (mut again, _) = supervisor_with(seen, None);
    let effects = again.on_frame(roster_frame(vec![missed("ito", "東京", 0), missed("kato", "東京", 0)]), 5_000);
    assert!(notified(&effects).is_empty(), "{effects:?}");
    assert_eq!(badges(&effects), [1], "kato's alert, not ito's dismissed one");
    assert_eq!(again.snapshot(None).dismissed, [key]);
}

#[test]
fn the_teams_watched_are_remembered_told_to_every_panel_and_decide_what_notifies_and_counts() {
    let mut core = supervisor();
    core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0), on_hold("oda", "大阪", 0)]), 0);
    let effects = core.timer_fired(Timer::Alerts, 3_001);
    assert_eq!(notified(&effects), ["ito", "oda"]);
    assert_eq!(badges(&effects), [2]);

    let choice = Some(vec!["東京".to_owned(), "東京".to_owned()]);
    let effects = core.on_panel(1, PanelToWorker::Watch { rosters: choice }, 4_000);
    let tokyo = Some(vec!["東京".to_owned()]);
    assert!(effects.contains(&Effect::Save(Record::Watch(vec!["東京".into()]))));
    assert!(effects.contains(&Effect::Panels(WorkerToPanel::Watching { rosters: tokyo.clone() })));
    assert_eq!(badges(&effects), [1], "Osaka's alert is not counted");
    assert_eq!(core.snapshot(None).watch, tokyo);
    assert!(core.on_panel(1, PanelToWorker::Watch { rosters: tokyo.clone() }, 4_000).is_empty(), "unchanged");
    core.on_frame(ServerFrame::Presence { presence: on_hold("ueda", "大阪", 5_000) }, 5_000);
    let effects = core.timer_fired(Timer::Alerts, 8_001);
    assert!(notified(&effects).is_empty(), "a team not watched notifies nothing");
    assert_eq!(badges(&effects), [1]);

    // None chosen is every team, and forgets the choice; nothing is notified twice.
    let effects = core.on_panel(1, PanelToWorker::Watch { rosters: Some(Vec::new()) }, 9_000);
    assert!(effects.contains(&Effect::Remove(Key::Watch)));
    assert!(effects.contains(&Effect::Panels(WorkerToPanel::Watching { rosters: None })));
    assert!(notified(&effects).is_empty());
    assert_eq!(badges(&effects), [3]);

    // A restart finds the choice where it was saved.
    let (core, _) = supervisor_with(Vec::new(), tokyo.clone());
    assert_eq!(core.snapshot(None).watch, tokyo);
}

fn teams(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|n| (*n).to_owned()).collect())
}

fn subscriptions(effects: &[Effect]) -> Vec<(Option<String>, Vec<String>)> {
    relayed(effects)
        .into_iter()
        .filter_map(|f| match f {
            ClientFrame::Subscribe { roster, rosters, .. } => Some((roster.clone(), rosters.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_policys_roster_scopes_a_supervisors_subscription_and_choice_and_a_change_resubscribes() {
    // Scoped to Osaka and Tokyo, with Sapporo and Tokyo chosen before the policy said so.
    let (mut core, effects) = supervisor_in(Vec::new(), teams(&["札幌", "東京"]), teams(&["大阪", "東京"]));
    assert_eq!(
        subscriptions(&effects),
        [(None, vec!["大阪".to_owned(), "東京".to_owned()])],
        "only the scope's rosters"
    );
    assert_eq!(core.snapshot(None).watch, teams(&["東京"]), "the choice stays within the scope");
    let effects = core.on_panel(1, PanelToWorker::Watch { rosters: teams(&["札幌"]) }, 0);
    assert!(
        effects.contains(&Effect::Panels(WorkerToPanel::Watching { rosters: None })),
        "nothing left: all of the scope"
    );
    assert!(effects.contains(&Effect::Remove(Key::Watch)));

    core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0), on_hold("oda", "大阪", 0)]), 0);
    assert_eq!(badges(&core.timer_fired(Timer::Alerts, 3_001)), [2]);

    // The policy narrows the scope while signed in: the same link, a new subscription and a new
    // read of the help requests; the relay's snapshot then takes Osaka's agent off the floor.
    let id = core.help_list_in_flight().expect("the welcome's list");
    core.on_frame(ServerFrame::HelpRequests { id, requests: Vec::new(), stats: Vec::new() }, 3_500);
    use protocol::config::{Config, Settings};
    let config =
        Config { roster: teams(&["大阪", "東京"]), ..Config::merge(&Settings::default(), &Settings::default()) };
    let tokyo = Config { roster: teams(&["東京"]), ..config.clone() };
    let effects = core.settings_changed(&config, &tokyo, fast_thresholds(), 4_000);
    assert!(sign_in_of(&effects).is_none(), "no new sign-in for a new scope");
    assert_eq!(subscriptions(&effects), [(None, vec!["東京".to_owned()])]);
    assert!(relayed(&effects).iter().any(|f| matches!(f, ClientFrame::HelpRequests { .. })), "{effects:?}");
    let effects = core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0)]), 4_000);
    assert_eq!(badges(&effects), [1], "Osaka's alert left with its agent");
    assert!(core.settings_changed(&tokyo, &tokyo.clone(), fast_thresholds(), 4_000).is_empty(), "unchanged");

    // No scope: every roster.
    let effects = core.settings_changed(&tokyo, &Config { roster: None, ..tokyo.clone() }, fast_thresholds(), 5_000);
    assert_eq!(subscriptions(&effects), [(Some("*".to_owned()), Vec::new())]);

    // An agent subscribes to their own roster whatever the policy says.
    let mut agent =
        Core::new(Vec::new(), Vec::new()).with_floor(floor::Alerts::new(fast_thresholds()), None, teams(&["東京"]));
    assert_eq!(subscriptions(&welcome(&mut agent, "a@x")), [(None, Vec::new())]);
}

#[test]
fn the_badge_counts_a_supervisors_alerts_over_unread_messages() {
    let mut core = supervisor();
    let message = ChatMessage {
        from: "b@x".into(),
        to: "boss@x".into(),
        seq: 1,
        client_id: "c1".into(),
        text: "hello".into(),
        sent_at: 1,
    };
    assert_eq!(badges(&core.on_frame(ServerFrame::Chat { message }, 0)), [1], "unread, without alerts");
    core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0), on_hold("kato", "東京", 0)]), 0);
    assert_eq!(badges(&core.timer_fired(Timer::Alerts, 3_001)), [2], "the alerts, while there are any");
    core.on_frame(ServerFrame::Presence { presence: available("ito", "東京", 4_000) }, 4_000);
    let effects = core.on_frame(ServerFrame::Presence { presence: available("kato", "東京", 4_000) }, 4_000);
    assert_eq!(badges(&effects), [1], "back to unread");
}

#[test]
fn new_thresholds_apply_without_a_new_sign_in_and_new_relay_settings_sign_in_again() {
    use protocol::config::{Config, Settings};
    let mut core = supervisor();
    core.on_frame(roster_frame(vec![on_hold("ito", "東京", 0)]), 0);
    let config = Config::merge(&Settings::default(), &Settings::default());
    let slower = {
        let alerts = protocol::AlertSettings {
            hold_minutes: Some(protocol::Minutes::from_millis(10_000)),
            ..protocol::AlertSettings::default()
        };
        floor::Thresholds::resolve(None, Some(&alerts))
    };
    let effects = core.settings_changed(&config, &config.clone(), slower.clone(), 1_000);
    assert!(sign_in_of(&effects).is_none(), "the link is untouched");
    assert_eq!(timer(&effects, Timer::Alerts), Some(9_001), "measured against the new threshold");
    assert!(core.settings_changed(&config, &config.clone(), slower.clone(), 1_000).is_empty(), "nothing changed");
    // A new dialling country is read at the next dial: no new sign-in for it.
    let abroad = Config { default_country: Some("US".into()), ..config.clone() };
    assert!(core.settings_changed(&config, &abroad, slower.clone(), 1_000).is_empty(), "the link is untouched");
    let moved = Config { relay_url: "wss://relay.example.com/ws".into(), ..config.clone() };
    assert!(sign_in_of(&core.settings_changed(&config, &moved, slower, 2_000)).is_some());
}

#[test]
fn the_toolbar_action_opens_a_supervisors_floor_once_and_toggles_an_agents_dock() {
    let mut core = supervisor();
    assert_eq!(core.action_clicked(), [Effect::OpenPage("floor.html")]);
    core.floor_opened(4, Some(12));
    assert_eq!(core.action_clicked(), [Effect::FocusTab(12)], "the one open comes to the front");
    assert_eq!(core.on_panel(4, PanelToWorker::OpenFloor, 0), [Effect::FocusTab(12)]);
    assert_eq!(core.notification_clicked("alert:ito"), [Effect::FocusTab(12)]);
    assert!(core.notification_clicked("chat:ito").is_empty());
    core.panel_closed(4);
    assert_eq!(core.action_clicked(), [Effect::OpenPage("floor.html")]);

    let mut desk = Core::new(Vec::new(), Vec::new());
    welcome(&mut desk, "a@x");
    desk.on_tab(3, agent("Available"));
    assert_eq!(desk.action_clicked(), [Effect::Tab(3, WorkerToTab::Toggle)]);
    assert!(desk.on_panel(1, PanelToWorker::OpenFloor, 0).is_empty(), "no floor for agents");
}

mod connect;

mod help;

mod update;
