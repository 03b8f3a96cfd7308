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
    assert!(state.apply(msg(snapshot), 0).is_empty());
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
    let effects = state.apply(msg(snapshot), 0);
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
    state.apply(WorkerToPanel::Outbox { pending: vec![entry(SATO, "s-1")] }, 0);
    assert!(state.unconfirmed.is_empty());
    let effects = state.apply(msg(json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}}})), 0);
    assert_eq!(posts(effects), [PanelToWorker::History { peer: SATO.into(), before: None }]);
}

#[test]
fn connection_and_me_are_replaced() {
    let mut state = signed_in();
    state.apply(
        msg(
            json!({"type": "connection", "connection": {"status": "offline", "retry_at": 9, "problem": "unreachable"}}),
        ),
        0,
    );
    assert!(matches!(state.worker.connection, Connection::Offline { retry_at: 9, .. }));
    assert_eq!((state.me(), state.max_text_chars()), (ME, Some(10)));
    state.apply(WorkerToPanel::Me { me: None }, 0);
    assert_eq!((state.me(), state.max_text_chars()), ("", None));
}

#[test]
fn presence_is_upserted_and_a_roster_replaces_all() {
    let mut state = signed_in();
    state.apply(msg(json!({"type": "presence", "presence": presence(SATO, "Sato \u{202E}x", "Lunch")})), 0);
    assert_eq!(state.worker.roster.len(), 3);
    let sato = state.presence(SATO).expect("sato");
    // Names lose their bidi controls where they enter the panel.
    assert_eq!((sato.display_name.as_str(), sato.state.name.as_str()), ("Sato x", "Lunch"));
    state.apply(msg(json!({"type": "presence", "presence": presence("new@example.com", "New", "Available")})), 0);
    assert_eq!(state.worker.roster.len(), 4);
    assert_eq!(state.display_name("new@example.com"), "New");
    assert_eq!(state.display_name("gone@example.com"), "gone@example.com");
    state.apply(msg(json!({"type": "roster", "agents": [presence(ME, "Me", "Available")]})), 0);
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
    state.apply(ccp(true), 0);
    assert_eq!(
        (state.dialing.clone(), state.queue.as_deref(), state.on_call()),
        (Some(Dialing::Pending), Some("q9"), true)
    );
    state.apply(ccp(false), 0);
    assert_eq!((state.dialing.clone(), state.on_call()), (None, false));
    state.apply(msg(json!({"type": "result", "id": 2, "ok": false, "code": "invalid_number"})), 0);
    state.apply(ccp(false), 0);
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
    state.apply(WorkerToPanel::Chat { message: mine }, 0);
    state.apply(WorkerToPanel::Chat { message: chat(SATO, ME, 2) }, 0);
    state.apply(WorkerToPanel::Chat { message: chat(TANAKA, ME, 3) }, 0);
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
    state.apply(WorkerToPanel::Outbox { pending: vec![entry(SATO, "s-1")] }, 0);
    assert_eq!(state.unconfirmed.iter().map(|u| u.client_id.as_str()).collect::<Vec<_>>(), ["s-2"]);
    let failed = FailedChat { entry: entry(SATO, "s-2"), code: ErrorCode::TooLarge };
    state.apply(WorkerToPanel::Failed { failed: vec![failed.clone()] }, 0);
    assert!(state.unconfirmed.is_empty());
    assert_eq!(state.failed_to(SATO), 1);
    // A refused first message lists its peer first, before any conversation.
    state.apply(WorkerToPanel::Conversations { conversations: vec![conversation(TANAKA, 4, 0)] }, 0);
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
    assert!(state.apply(unread(), 0).is_empty());
    assert_eq!(state.unread(), 3);
    state.open(SATO.into());
    assert_eq!(posts(state.apply(unread(), 0)), [PanelToWorker::MarkRead { peer: SATO.into(), seq: 7 }]);
    assert!(state.show(Tab::Status).is_empty());
    assert!(state.apply(unread(), 0).is_empty(), "not read while another view shows");
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
    state.apply(history(SATO, &[5, 6], true), 0);
    state.apply(history(TANAKA, &[1], false), 0);
    assert_eq!((state.messages.keys().copied().collect::<Vec<_>>(), state.more), (vec![5, 6], true));
    assert_eq!(posts(state.older()), [PanelToWorker::History { peer: SATO.into(), before: Some(5) }]);
    state.apply(history(SATO, &[3, 4, 5], false), 0);
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
    let effects = state.apply(refused, 0);
    assert_eq!(effects, [Effect::Warn("CCP Sidecar: chat request refused: slow down".into())]);
    assert_eq!((state.refused_for(SATO), state.refused_for(TANAKA)), (Some(ErrorCode::RateLimited), None));
    assert_eq!(state.dialing, None, "never in the dial result line");
    state.apply(WorkerToPanel::History { peer: TANAKA.into(), messages: vec![], more: false }, 0);
    assert!(state.refused_for(SATO).is_some());
    state.apply(WorkerToPanel::History { peer: SATO.into(), messages: vec![], more: false }, 0);
    assert_eq!(state.refused_for(SATO), None);
}

#[test]
fn results_of_dials_and_transfers() {
    let mut state = signed_in();
    state.apply(msg(json!({"type": "result", "id": 2, "ok": true})), 0);
    assert_eq!(state.dialing, Some(Dialing::Ok));
    let effects = state.apply(
        msg(json!({"type": "result", "id": 3, "ok": false, "error": "nope", "code": "AccessDeniedException"})),
        0,
    );
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
    assert_eq!(state.apply(ids(None), 0), [Effect::ReadRememberedCallerId]);
    assert_eq!(state.queue.as_deref(), Some("q1"), "the first without a default");
    assert!(state.remembered(Some("q2".into())));
    assert_eq!(state.queue.as_deref(), Some("q2"));
    assert!(!state.remembered(Some("gone".into())), "no longer offered");
    state.pick_queue("q1".into());
    state.apply(ids(Some("q2")), 0);
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
    state.apply(WorkerToPanel::Calls { before: None, page: page(&["a", "b"], Some(10)) }, 0);
    assert_eq!(posts(state.older_calls()), [PanelToWorker::Calls { before: 10 }]);
    state.apply(WorkerToPanel::Calls { before: Some(10), page: page(&["c"], None) }, 0);
    assert_eq!((ids(&state), state.more_calls), (vec!["a".to_owned(), "b".into(), "c".into()], None));
    state.apply(WorkerToPanel::Calls { before: None, page: page(&["d"], None) }, 0);
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
    state.apply(
        WorkerToPanel::Failed { failed: vec![FailedChat { entry: entry(SATO, "x"), code: ErrorCode::TooLarge }] },
        0,
    );
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

// ---- a supervisor's floor ----------------------------------------------------------------------

fn boss() -> serde_json::Value {
    let mut me = me();
    me["supervisor"] = json!(true);
    me
}

fn agent_in(principal: &str, name: &str, team: &str, state: &str, kind: &str, since: i64) -> serde_json::Value {
    json!({"principal": principal, "display_name": name, "roster": team,
           "state": {"name": state, "kind": kind}, "since": since, "online": true})
}

/// A supervisor's panel at time 0: Sato available in 東京, Tanaka on 休憩 in 大阪 since 0, with
/// a not-routable threshold of 6 s.
fn supervising(watch: Option<Vec<&str>>, dismissed: serde_json::Value) -> PanelState {
    let mut state = PanelState::default();
    let options = protocol::AlertSettings {
        not_routable_minutes: Some(protocol::Minutes::from_millis(6_000)),
        ..protocol::AlertSettings::default()
    };
    state.set_thresholds(::floor::Thresholds::resolve(None, Some(&options)), 0);
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": boss(),
        "roster": [agent_in(SATO, "Sato", "東京", "Available", "routable", 0),
                   agent_in(TANAKA, "Tanaka", "大阪", "休憩", "not_routable", 0)],
        "watch": watch, "dismissed": dismissed}});
    state.apply(msg(snapshot), 0);
    state
}

fn tanaka_break() -> AlertKey {
    AlertKey { principal: TANAKA.into(), rule: protocol::Rule::NotRoutable { state: "休憩".into() }, since: 0 }
}

fn active(state: &PanelState) -> Vec<String> {
    state.floor.active().map(|a| a.key.principal.clone()).collect()
}

#[test]
fn the_floor_tab_is_a_supervisors_alone() {
    let agent = signed_in();
    assert_eq!(agent.tabs(), [Tab::Status, Tab::Chat, Tab::CallerId]);
    assert!(agent.floor.board.is_empty(), "an agent's panel keeps no board");
    let mut boss = supervising(None, json!([]));
    assert_eq!(boss.tabs(), Tab::ALL);
    assert_eq!(boss.floor.board.len(), 2);
    boss.show(Tab::Floor);
    // No longer a supervisor (another sign-in): the floor goes, and its tab.
    boss.apply(msg(json!({"type": "me", "me": me()})), 0);
    assert_eq!((boss.tab, boss.floor.board.len()), (Tab::Status, 0));
}

#[test]
fn the_floor_follows_presence_with_counts_rows_and_alerts() {
    let mut state = supervising(None, json!([]));
    let total = state.floor.board.total();
    assert_eq!(total.get(&::floor::Category::Available), 1);
    assert_eq!(total.get(&::floor::Category::NotRoutable("休憩".into())), 1);
    assert_eq!(state.floor.rows().len(), 4, "two team headers and two agents");
    assert!(!state.tick(5_999));
    assert!(state.tick(6_000), "Tanaka's break crossed its threshold");
    assert_eq!(active(&state), [TANAKA]);
    assert_eq!(state.floor.alerts.severity(TANAKA), Some(::floor::Severity::Amber));
    // Tanaka is back: the alert ends by itself; the board moves them.
    let back = agent_in(TANAKA, "Tanaka", "大阪", "Available", "routable", 7_000);
    state.apply(msg(json!({"type": "presence", "presence": back})), 7_000);
    assert!(active(&state).is_empty());
    assert_eq!(state.floor.board.total().get(&::floor::Category::Available), 2);
    // A roster without Sato: gone from the board.
    let roster =
        json!({"type": "roster", "agents": [agent_in(TANAKA, "Tanaka", "大阪", "Available", "routable", 7_000)]});
    state.apply(msg(roster), 8_000);
    assert_eq!(state.floor.board.len(), 1);
}

#[test]
fn a_dismissal_goes_to_the_worker_and_one_from_another_panel_hides_it_here_even_before_it_is_raised() {
    let mut state = supervising(None, json!([]));
    state.tick(6_000);
    assert_eq!(posts(state.dismiss_alert(tanaka_break())), [PanelToWorker::DismissAlert { key: tanaka_break() }]);
    assert!(active(&state).is_empty());
    assert_eq!(state.floor.alerts.severity(TANAKA), Some(::floor::Severity::Amber), "the row keeps its colour");

    // Dismissed elsewhere before this panel's clock raised it.
    let mut other = supervising(None, json!([]));
    other.apply(WorkerToPanel::Dismissed { keys: vec![tanaka_break()] }, 100);
    other.tick(6_000);
    assert!(active(&other).is_empty());
    // A panel opened later learns it from the snapshot.
    let mut later = supervising(None, serde_json::to_value([tanaka_break()]).unwrap());
    later.tick(6_000);
    assert!(active(&later).is_empty());
}

#[test]
fn teams_watched_filter_the_rows_and_alerts_and_go_to_the_worker() {
    let mut state = supervising(Some(vec!["大阪"]), json!([]));
    let teams: Vec<&str> = state.floor.query.teams.iter().map(String::as_str).collect();
    assert_eq!(teams, ["大阪"]);
    assert_eq!(state.floor.rows().len(), 2, "大阪 alone");
    state.tick(6_000);
    assert_eq!(active(&state), [TANAKA]);
    // Hiding 大阪, the last team shown, shows them all again.
    assert_eq!(posts(state.watch_team(Some("大阪"), false)), [PanelToWorker::Watch { rosters: None }]);
    assert_eq!(state.floor.rows().len(), 4);
    // With every team shown, hiding one shows the others.
    assert_eq!(
        posts(state.watch_team(Some("大阪"), false)),
        [PanelToWorker::Watch { rosters: Some(vec!["東京".into()]) }]
    );
    assert!(active(&state).is_empty(), "大阪's alert is not listed");
    assert_eq!(posts(state.watch_team(Some("大阪"), true)), [PanelToWorker::Watch { rosters: None }], "all again");
    // The worker's word (another panel chose) wins.
    state.apply(WorkerToPanel::Watching { rosters: Some(vec!["東京".into()]) }, 6_500);
    assert_eq!(state.floor.rows().len(), 2);
}

#[test]
fn filters_search_sort_and_collapsed_teams_shape_the_rows() {
    let mut state = supervising(None, json!([]));
    state.floor.filter(&category_key(&::floor::Category::NotRoutable("休憩".into())));
    assert_eq!(state.floor.rows().len(), 2, "大阪 and Tanaka");
    state.floor.filter("");
    state.floor.search("さと".into());
    assert_eq!(state.floor.rows().len(), 0, "kana folds against kana, not romaji");
    state.floor.search("SATO".into());
    assert_eq!(state.floor.rows().len(), 2);
    state.floor.search(String::new());
    state.floor.toggle_team("東京");
    assert_eq!(state.floor.rows().len(), 3, "東京 by its header alone");
    state.floor.toggle_team("東京");
    state.floor.set_sort(::floor::Sort::LongestInState);
    assert_eq!(state.floor.rows().len(), 4);
    for category in [
        ::floor::Category::Available,
        ::floor::Category::OnContact(protocol::Channel::Email),
        ::floor::Category::Acw,
        ::floor::Category::NotRoutable("管理業務中".into()),
        ::floor::Category::ErrorOrMissed,
        ::floor::Category::Offline,
        ::floor::Category::Other,
    ] {
        assert_eq!(parse_category(&category_key(&category)), Some(category));
    }
    assert_eq!(parse_category(""), None);
    assert_eq!(parse_category("contact:fax"), None);
}

#[test]
fn the_worker_hears_when_the_floor_is_looked_at() {
    let mut state = supervising(None, json!([]));
    let looking = |v| vec![PanelToWorker::FloorFocus { visible_and_focused: v }];
    assert!(posts(state.focus(true)).is_empty(), "the status tab is showing");
    assert_eq!(posts(state.show(Tab::Floor)), looking(true));
    assert!(posts(state.focus(true)).is_empty(), "said once");
    // A snapshot (the worker took the port, or restarted) hears it again.
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": boss()}});
    assert_eq!(posts(state.apply(msg(snapshot), 0)), looking(true));
    assert_eq!(posts(state.focus(false)), looking(false));
    state.focus(true);
    assert_eq!(posts(state.show(Tab::Chat)), looking(false));
    assert_eq!(posts(state.open_floor()), [PanelToWorker::OpenFloor]);
    // An agent's panel never says so.
    let mut agent = signed_in();
    agent.focus(true);
    assert!(posts(agent.show(Tab::Floor)).is_empty());
}

mod connect;

mod help;
