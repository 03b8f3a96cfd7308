//! Help requests in the panel: the agent's card through its life, a supervisor's list, take and
//! the chat it opens, who is helping whom, the day's figures.

use protocol::panel::PanelToWorker;
use protocol::{ErrorCode, HelpStatus};
use serde_json::json;

use super::super::{AgentHelp, PanelState};
use super::{ME, SATO, TANAKA, msg, posts, signed_in, supervising};

fn request(id: u64, agent: &str, name: &str, team: &str, status: &str, asked_at: i64) -> serde_json::Value {
    let mut r = json!({"id": id, "agent": agent, "display_name": name, "roster": team, "reason": "complaint",
                       "note": "wants a refund", "asked_at": asked_at, "status": status});
    if status == "taken" {
        r["taken_by"] = json!(ME);
        r["taken_by_name"] = json!("Taro\u{202e}");
        r["taken_at"] = json!(asked_at + 40_000);
    }
    r
}

fn help(state: &mut PanelState, requests: serde_json::Value, asking: bool, reach: Option<u32>) {
    state.apply(msg(json!({"type": "help", "requests": requests, "asking": asking, "reach": reach})), 0);
}

#[test]
fn an_agent_asks_sees_who_was_told_then_who_is_on_it() {
    let mut state = signed_in();
    assert_eq!(state.agent_help(), AgentHelp::Idle);
    state.show_help_form(true);
    let AgentHelp::Form(form) = state.agent_help() else { panic!() };
    assert_eq!(form.reason, "complaint", "the first default reason is chosen");
    state.help_reason("escalation".into());
    state.help_note("  angry customer  ".into());
    let asked = posts(state.ask_help());
    assert_eq!(asked, vec![PanelToWorker::AskHelp { reason: "escalation".into(), note: "angry customer".into() }]);
    assert_eq!(state.agent_help(), AgentHelp::Asking, "shown on its way before the worker answers");
    assert!(state.ask_help().is_empty(), "the form is closed: nothing more to send");

    help(&mut state, json!([request(4, ME, "Me", "*", "open", 10)]), false, Some(0));
    let AgentHelp::Open(r, Some(0)) = state.agent_help() else { panic!("{:?}", state.agent_help()) };
    assert_eq!(r.id, 4);
    assert_eq!(posts(state.cancel_help(4)), vec![PanelToWorker::CancelHelp { request: 4 }]);

    help(&mut state, json!([request(4, ME, "Me", "*", "taken", 10)]), false, Some(0));
    let AgentHelp::Taken(r) = state.agent_help() else { panic!() };
    assert_eq!(r.taken_by_name.as_deref(), Some("Taro"), "names are cleaned of bidi controls");

    help(&mut state, json!([]), false, Some(0));
    assert_eq!(state.agent_help(), AgentHelp::Idle, "closed: the button again");
}

#[test]
fn a_refusal_is_kept_in_words_until_the_next_try_and_a_note_over_the_limit_is_not_sent() {
    let mut state = signed_in();
    state.apply(msg(json!({"type": "help_refused", "code": "rate_limited"})), 0);
    assert_eq!(state.help_refused, Some(ErrorCode::RateLimited));
    state.show_help_form(true);
    assert_eq!(state.help_refused, None);
    state.help_note("x".repeat(protocol::help::MAX_NOTE_CHARS + 1));
    assert!(state.ask_help().is_empty());
}

#[test]
fn policy_reasons_replace_the_defaults_and_bad_ones_are_dropped() {
    let mut state = signed_in();
    state.show_help_form(true);
    state.set_help_reasons(vec!["  ".into(), "クレーム対応".into(), "x".repeat(65), "返品".into()]);
    assert_eq!(state.help_reasons(), vec!["クレーム対応".to_owned(), "返品".to_owned()]);
    let AgentHelp::Form(form) = state.agent_help() else { panic!() };
    assert_eq!(form.reason, "クレーム対応", "a reason no longer offered is replaced");
    state.set_help_reasons(Vec::new());
    assert_eq!(state.help_reasons()[0], "complaint");
}

#[test]
fn a_supervisor_sees_open_requests_first_takes_one_and_the_chat_opens_with_its_note() {
    let mut state = supervising(None, json!([]));
    help(
        &mut state,
        json!([
            request(2, TANAKA, "Tanaka", "大阪", "taken", 5),
            request(3, SATO, "Sato", "東京", "open", 20),
            request(1, "kei@example.com", "Kei", "東京", "open", 10)
        ]),
        false,
        None,
    );
    let order: Vec<u64> = state.floor_help().iter().map(|r| r.id).collect();
    assert_eq!(order, vec![1, 3, 2], "open first, the longest waiting on top, then those taken");
    assert_eq!(state.help_of(TANAKA).map(|r| r.status), Some(HelpStatus::Taken));

    let effects = posts(state.take_help(3));
    assert_eq!(effects[0], PanelToWorker::TakeHelp { request: 3 });
    assert_eq!(effects[1], PanelToWorker::History { peer: SATO.into(), before: None });
    assert_eq!(state.open.as_deref(), Some(SATO));
    assert!(state.chat_help().is_none(), "not taken yet: no context");
    help(&mut state, json!([request(3, SATO, "Sato", "東京", "taken", 20)]), false, None);
    assert_eq!(state.chat_help().map(|r| r.note.as_str()), Some("wants a refund"));

    // Only the teams watched.
    help(
        &mut state,
        json!([request(2, TANAKA, "Tanaka", "大阪", "open", 5), request(3, SATO, "Sato", "東京", "open", 20)]),
        false,
        None,
    );
    state.watch_team(Some("大阪"), false);
    assert_eq!(state.floor_help().iter().map(|r| r.id).collect::<Vec<_>>(), vec![3]);
}

#[test]
fn the_days_figures_count_from_local_midnight_again_after_a_worker_restart() {
    let mut state = supervising(None, json!([]));
    assert_eq!(posts(state.day_started(1_000)), vec![PanelToWorker::HelpStats { since: 1_000 }]);
    assert!(state.day_started(1_000).is_empty(), "the same day");
    // A restarted worker sends a snapshot: it is told again.
    let snapshot = json!({"type": "snapshot", "snapshot": {"connection": {"status": "online"}, "me": super::boss()}});
    assert!(posts(state.apply(msg(snapshot), 2)).contains(&PanelToWorker::HelpStats { since: 1_000 }));
    state.apply(
        msg(json!({"type": "help_stats", "stats": [
            {"roster": "東京", "asked": 3, "taken": 2, "cancelled": 1, "median_wait_ms": 30000, "longest_wait_ms": 50000},
            {"roster": "大阪", "asked": 1, "taken": 1, "cancelled": 0, "median_wait_ms": 70000, "longest_wait_ms": 70000}]})),
        3,
    );
    let total = state.day_total();
    assert_eq!((total.asked, total.taken, total.cancelled, total.longest_wait_ms), (4, 3, 1, Some(70_000)));
    // An agent's panel asks for no figures.
    let mut agent = signed_in();
    assert!(agent.day_started(1_000).is_empty());
}
