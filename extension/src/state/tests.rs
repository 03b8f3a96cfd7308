//! `apply` for every message the worker sends, and what the agent's actions ask the worker.

use protocol::panel::{Connection, FailedChat, OutboxEntry, PanelToWorker, WorkerToPanel};
use protocol::{CallPage, ChatMessage, ConversationSummary, ErrorCode};
use serde_json::json;

use super::*;

const ME: &str = "me@example.com";
const SATO: &str = "sato@example.com";
const TANAKA: &str = "tanaka@example.com";

/// A message as the worker writes it (and as the panel decodes it).
fn msg(value: serde_json::Value) -> WorkerToPanel {
    decode(&value.to_string()).unwrap_or_else(|| panic!("decodes: {value}"))
}

fn presence(principal: &str, name: &str, state: &str) -> serde_json::Value {
    json!({"principal": principal, "display_name": name, "roster": "*",
           "state": {"name": state, "kind": "routable"}, "since": 1, "online": true})
}

fn me() -> serde_json::Value {
    json!({"principal": ME, "display_name": "Me", "supervisor": false, "roster": "*",
           "limits": {"max_frame_bytes": 65536, "max_text_chars": 10, "frames_per_second": 20, "max_page": 50, "heartbeat_ms": 20000}})
}

fn chat(from: &str, to: &str, seq: u64) -> ChatMessage {
    ChatMessage {
        from: from.into(),
        to: to.into(),
        seq,
        client_id: format!("c{seq}"),
        text: format!("m{seq}"),
        sent_at: seq as i64,
    }
}

fn conversation(peer: &str, last_seq: u64, unread: u64) -> ConversationSummary {
    ConversationSummary { peer: peer.into(), last_seq, read_seq: last_seq - unread, unread, last: None }
}

fn entry(to: &str, client_id: &str) -> OutboxEntry {
    OutboxEntry { to: to.into(), text: "hello".into(), client_id: client_id.into(), queued_at: 5 }
}

fn caller_ids(default: Option<&str>) -> serde_json::Value {
    json!({"caller_ids": [{"queue_arn": "q1", "queue_name": "Sales", "number": "+81312345678"},
                          {"queue_arn": "q2", "queue_name": "Support", "number": "+81312345679"}],
           "default_queue_arn": default})
}

fn posts(effects: Vec<Effect>) -> Vec<PanelToWorker> {
    effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Post(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Signed in as [`ME`], with Sato and Tanaka in the roster.
fn signed_in() -> PanelState {
    let mut state = PanelState::default();
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": me(),
        "roster": [presence(ME, "Me", "Available"), presence(SATO, "Sato", "Available"), presence(TANAKA, "Tanaka", "Break")]}});
    assert!(state.apply(msg(snapshot)).is_empty());
    state
}

#[test]
fn a_snapshot_replaces_what_the_worker_holds_and_hands_over_what_it_may_have_missed() {
    let mut state = signed_in();
    state.open(SATO.into());
    state.draft = "hi".into();
    let sent = posts(state.send("s"));
    assert_eq!(sent, [PanelToWorker::SendChat { to: SATO.into(), text: "hi".into(), client_id: "s-1".into() }]);
    // The worker restarted: a snapshot without that message in its outbox.
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "connecting"}, "me": me(),
        "caller_ids": caller_ids(Some("q2")), "calls": {"calls": [], "next_before": 77}}});
    let effects = state.apply(msg(snapshot));
    assert_eq!(state.worker.connection, Connection::Connecting);
    assert!(state.worker.roster.is_empty());
    assert_eq!((state.queue.as_deref(), state.more_calls), (Some("q2"), Some(77)));
    assert!(effects.contains(&Effect::ReadRememberedCallerId));
    assert_eq!(
        posts(effects),
        [
            PanelToWorker::SendChat { to: SATO.into(), text: "hi".into(), client_id: "s-1".into() },
            PanelToWorker::History { peer: SATO.into(), before: None },
        ]
    );
    // Once the outbox holds it, it is not handed over again.
    state.apply(WorkerToPanel::Outbox { pending: vec![entry(SATO, "s-1")] });
    assert!(state.unconfirmed.is_empty());
    let effects = state.apply(msg(json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}}})));
    assert_eq!(posts(effects), [PanelToWorker::History { peer: SATO.into(), before: None }]);
}

#[test]
fn connection_and_me_are_replaced() {
    let mut state = signed_in();
    state.apply(msg(
        json!({"type": "connection", "connection": {"status": "offline", "retry_at": 9, "problem": "unreachable"}}),
    ));
    assert!(matches!(state.worker.connection, Connection::Offline { retry_at: 9, .. }));
    assert_eq!((state.me(), state.max_text_chars()), (ME, Some(10)));
    state.apply(WorkerToPanel::Me { me: None });
    assert_eq!((state.me(), state.max_text_chars()), ("", None));
}

#[test]
fn presence_is_upserted_and_a_roster_replaces_all() {
    let mut state = signed_in();
    state.apply(msg(json!({"type": "presence", "presence": presence(SATO, "Sato \u{202E}x", "Lunch")})));
    assert_eq!(state.worker.roster.len(), 3);
    let sato = state.presence(SATO).expect("sato");
    // Names lose their bidi controls where they enter the panel.
    assert_eq!((sato.display_name.as_str(), sato.state.name.as_str()), ("Sato x", "Lunch"));
    state.apply(msg(json!({"type": "presence", "presence": presence("new@example.com", "New", "Available")})));
    assert_eq!(state.worker.roster.len(), 4);
    assert_eq!(state.display_name("new@example.com"), "New");
    assert_eq!(state.display_name("gone@example.com"), "gone@example.com");
    state.apply(msg(json!({"type": "roster", "agents": [presence(ME, "Me", "Available")]})));
    assert_eq!(state.worker.roster.len(), 1);
    assert!(!state.has_colleagues());
}

#[test]
fn colleagues_leave_me_out_follow_the_search_and_the_roster_order() {
    let mut state = signed_in();
    let names = |s: &PanelState| s.colleagues().iter().map(|p| p.display_name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&state), ["Sato", "Tanaka"]);
    state.search = "ｔａｎａ".into();
    assert_eq!(names(&state), ["Tanaka"]);
}

#[test]
fn the_ccp_ends_calling_but_not_a_failure_and_offers_its_default_queue() {
    let mut state = signed_in();
    state.phone = "03-1234-5678".into();
    let ccp = |contact: bool| {
        let mut agent = json!({"username": "me", "name": "Me", "state": {"name": "Available", "kind": "routable"},
            "since": 1, "queues": [{"arn": "q9", "name": "Outbound"}], "default_queue": "q9"});
        if contact {
            agent["contact"] = json!({"channel": "voice", "state": "connected", "since": 2});
        }
        msg(json!({"type": "ccp", "agent": agent}))
    };
    assert_eq!(
        posts(state.dial()),
        [PanelToWorker::Dial { id: 2, phone: "0312345678".into(), queue_arn: None }],
        "no caller ID known yet: the CCP's default"
    );
    state.apply(ccp(true));
    assert_eq!(
        (state.dialing.clone(), state.queue.as_deref(), state.on_call()),
        (Some(Dialing::Pending), Some("q9"), true)
    );
    state.apply(ccp(false));
    assert_eq!((state.dialing.clone(), state.on_call()), (None, false));
    state.apply(msg(json!({"type": "result", "id": 2, "ok": false, "code": "invalid_number"})));
    state.apply(ccp(false));
    assert_eq!(state.dialing, Some(Dialing::Failed(Some("invalid_number".into()))));
}

#[test]
fn stored_messages_join_only_the_open_conversation_and_confirm_what_was_typed() {
    let mut state = signed_in();
    state.open(SATO.into());
    state.draft = "m1".into();
    state.send("s");
    let mut mine = chat(ME, SATO, 1);
    mine.client_id = "s-1".into();
    state.apply(WorkerToPanel::Chat { message: mine });
    state.apply(WorkerToPanel::Chat { message: chat(SATO, ME, 2) });
    state.apply(WorkerToPanel::Chat { message: chat(TANAKA, ME, 3) });
    assert!(state.unconfirmed.is_empty());
    assert_eq!(state.messages.keys().copied().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn outbox_and_failed_forget_unconfirmed_messages_they_hold() {
    let mut state = signed_in();
    state.open(SATO.into());
    for text in ["one", "two"] {
        state.draft = text.into();
        state.send("s");
    }
    assert_eq!(state.items(SATO, 50).iter().map(Item::at).collect::<Vec<_>>(), [50, 50]);
    state.apply(WorkerToPanel::Outbox { pending: vec![entry(SATO, "s-1")] });
    assert_eq!(state.unconfirmed.iter().map(|u| u.client_id.as_str()).collect::<Vec<_>>(), ["s-2"]);
    let failed = FailedChat { entry: entry(SATO, "s-2"), code: ErrorCode::TooLarge };
    state.apply(WorkerToPanel::Failed { failed: vec![failed.clone()] });
    assert!(state.unconfirmed.is_empty());
    assert_eq!(state.failed_to(SATO), 1);
    // A refused first message lists its peer first, before any conversation.
    state.apply(WorkerToPanel::Conversations { conversations: vec![conversation(TANAKA, 4, 0)] });
    let peers: Vec<String> = state.conversations().into_iter().map(|c| c.peer).collect();
    assert_eq!(peers, [SATO, TANAKA]);
    // Pending then failed, in time order after the stored ones.
    state.messages.insert(1, chat(SATO, ME, 1));
    let items = state.items(SATO, 50);
    assert_eq!(items.len(), 3);
    assert!(matches!(items[0], Item::Stored(_)) && matches!(items[2], Item::Failed(f) if *f == failed));
}

#[test]
fn conversations_are_marked_read_only_while_open_in_view() {
    let mut state = signed_in();
    let unread =
        || WorkerToPanel::Conversations { conversations: vec![conversation(SATO, 7, 2), conversation(TANAKA, 3, 1)] };
    assert!(state.apply(unread()).is_empty());
    assert_eq!(state.unread(), 3);
    state.open(SATO.into());
    assert_eq!(posts(state.apply(unread())), [PanelToWorker::MarkRead { peer: SATO.into(), seq: 7 }]);
    assert!(state.show(Tab::Status).is_empty());
    assert!(state.apply(unread()).is_empty(), "not read while another view shows");
    assert_eq!(posts(state.show(Tab::Chat)), [PanelToWorker::MarkRead { peer: SATO.into(), seq: 7 }]);
}

#[test]
fn history_merges_only_into_the_open_conversation() {
    let mut state = signed_in();
    let history = |peer: &str, seqs: &[u64], more| WorkerToPanel::History {
        peer: peer.into(),
        messages: seqs.iter().map(|&s| chat(peer, ME, s)).collect(),
        more,
    };
    assert_eq!(posts(state.open(SATO.into())), [PanelToWorker::History { peer: SATO.into(), before: None }]);
    assert_eq!(state.tab, Tab::Chat);
    state.apply(history(SATO, &[5, 6], true));
    state.apply(history(TANAKA, &[1], false));
    assert_eq!((state.messages.keys().copied().collect::<Vec<_>>(), state.more), (vec![5, 6], true));
    assert_eq!(posts(state.older()), [PanelToWorker::History { peer: SATO.into(), before: Some(5) }]);
    state.apply(history(SATO, &[3, 4, 5], false));
    assert_eq!((state.messages.keys().copied().collect::<Vec<_>>(), state.more), (vec![3, 4, 5, 6], false));
    state.close();
    assert!(state.messages.is_empty() && state.open.is_none());
    assert!(state.older().is_empty());
}

#[test]
fn a_refused_chat_request_shows_in_its_conversation_until_its_history_arrives() {
    let mut state = signed_in();
    state.open(SATO.into());
    let refused = msg(json!({"type": "chat_refused", "peer": SATO, "code": "rate_limited", "message": "slow down"}));
    let effects = state.apply(refused);
    assert_eq!(effects, [Effect::Warn("CCP Sidecar: chat request refused: slow down".into())]);
    assert_eq!((state.refused_for(SATO), state.refused_for(TANAKA)), (Some(ErrorCode::RateLimited), None));
    assert_eq!(state.dialing, None, "never in the dial result line");
    state.apply(WorkerToPanel::History { peer: TANAKA.into(), messages: vec![], more: false });
    assert!(state.refused_for(SATO).is_some());
    state.apply(WorkerToPanel::History { peer: SATO.into(), messages: vec![], more: false });
    assert_eq!(state.refused_for(SATO), None);
}

#[test]
fn results_of_dials_and_transfers() {
    let mut state = signed_in();
    state.apply(msg(json!({"type": "result", "id": 2, "ok": true})));
    assert_eq!(state.dialing, Some(Dialing::Ok));
    let effects = state
        .apply(msg(json!({"type": "result", "id": 3, "ok": false, "error": "nope", "code": "AccessDeniedException"})));
    assert_eq!(effects, [Effect::Warn("CCP Sidecar: call failed: nope".into())]);
    assert_eq!(state.dialing, Some(Dialing::Failed(Some("AccessDeniedException".into()))));
    assert!(!state.dialing.as_ref().is_some_and(Dialing::ok));
    assert_eq!(posts(state.transfer("sato".into())), [PanelToWorker::Transfer { id: 2, username: "sato".into() }]);
    assert_eq!(state.dialing, None);
    state.phone = "12".into();
    assert!(state.dial().is_empty());
    assert_eq!(state.dialing, Some(Dialing::Invalid));
}

#[test]
fn caller_ids_choose_a_queue_unless_the_agent_picked_one() {
    let mut state = signed_in();
    let ids = |default| msg(json!({"type": "caller_ids", "caller_ids": caller_ids(default)}));
    assert_eq!(state.apply(ids(None)), [Effect::ReadRememberedCallerId]);
    assert_eq!(state.queue.as_deref(), Some("q1"), "the first without a default");
    assert!(state.remembered(Some("q2".into())));
    assert_eq!(state.queue.as_deref(), Some("q2"));
    assert!(!state.remembered(Some("gone".into())), "no longer offered");
    state.pick_queue("q1".into());
    state.apply(ids(Some("q2")));
    assert!(!state.remembered(Some("q2".into())));
    assert_eq!(state.queue.as_deref(), Some("q1"));
    assert_eq!(
        posts(state.redial("+81 3 1234 5678".into(), Some("q2".into()))),
        [PanelToWorker::Dial { id: 2, phone: "+81312345678".into(), queue_arn: Some("q2".into()) }]
    );
}

#[test]
fn call_pages_replace_the_newest_and_append_older_ones() {
    let mut state = signed_in();
    let page = |ids: &[&str], next: Option<i64>| -> CallPage {
        let calls: Vec<_> = ids
            .iter()
            .map(|id| json!({"contact_id": id, "number": "+8131", "started_at": 1, "outcome": "answered"}))
            .collect();
        serde_json::from_value(json!({"calls": calls, "next_before": next})).expect("page")
    };
    let ids = |s: &PanelState| s.calls().unwrap_or_default().iter().map(|c| c.contact_id.clone()).collect::<Vec<_>>();
    assert!(state.calls().is_none() && state.older_calls().is_empty());
    state.apply(WorkerToPanel::Calls { before: None, page: page(&["a", "b"], Some(10)) });
    assert_eq!(posts(state.older_calls()), [PanelToWorker::Calls { before: 10 }]);
    state.apply(WorkerToPanel::Calls { before: Some(10), page: page(&["c"], None) });
    assert_eq!((ids(&state), state.more_calls), (vec!["a".to_owned(), "b".into(), "c".into()], None));
    state.apply(WorkerToPanel::Calls { before: None, page: page(&["d"], None) });
    assert_eq!(ids(&state), ["d"]);
}

#[test]
fn sending_and_editing_follow_the_limit_and_keep_the_draft() {
    let mut state = signed_in();
    state.draft = "hi".into();
    assert!(state.send("s").is_empty(), "no conversation open");
    state.open(SATO.into());
    state.draft = "   ".into();
    assert!(state.send("s").is_empty());
    state.draft = "12345678901".into();
    assert!(state.send("s").is_empty(), "over the 10 characters the relay takes");
    assert_eq!(state.draft, "12345678901");
    state.apply(WorkerToPanel::Failed {
        failed: vec![FailedChat { entry: entry(SATO, "x"), code: ErrorCode::TooLarge }],
    });
    state.draft = "later".into();
    assert_eq!(posts(state.edit("x".into())), [PanelToWorker::Dismiss { client_id: "x".into() }]);
    assert_eq!(state.draft, "hello\nlater");
    assert!(state.worker.failed.is_empty());
    assert!(state.edit("x".into()).is_empty());
    assert_eq!(posts(state.discard("y".into())), [PanelToWorker::Dismiss { client_id: "y".into() }]);
}

#[test]
fn unreadable_caller_ids_cost_only_themselves() {
    let text = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": me(),
        "caller_ids": {"caller_ids": "not a list"}, "calls": 7}})
    .to_string();
    let Some(WorkerToPanel::Snapshot { snapshot }) = decode(&text) else { panic!("the rest decodes") };
    assert!(snapshot.caller_ids.is_none() && snapshot.calls.is_none() && snapshot.me.is_some());
    assert!(decode("{not json").is_none());
    assert!(decode(r#"{"type": "caller_ids", "caller_ids": 5}"#).is_none());
}
