//! Help requests in the worker: the ask held across a reconnect, the live list kept forward,
//! one notification per request, the badge and the day's figures.

use protocol::panel::{Connection, PanelToWorker, Problem};
use protocol::{ClientFrame, ErrorBody, ErrorCode, HelpRequest, HelpStatus, ServerFrame};

use super::super::{Core, Effect, WorkerToPanel};
use super::{badges, relayed, supervisor, welcome};

fn request(id: u64, agent: &str, status: HelpStatus) -> HelpRequest {
    HelpRequest {
        id,
        agent: agent.into(),
        display_name: agent.to_uppercase(),
        roster: "team-a".into(),
        reason: "complaint".into(),
        note: "refund".into(),
        asked_at: 1_000,
        status,
        taken_by: (status >= HelpStatus::Taken && status != HelpStatus::Cancelled).then(|| "sup@x".into()),
        taken_by_name: None,
        taken_at: (status >= HelpStatus::Taken && status != HelpStatus::Cancelled).then_some(2_000),
        ended_at: None,
    }
}

/// What the panels were last sent of help: the requests' ids and statuses, asking, reach.
type Shown = (Vec<(u64, HelpStatus)>, bool, Option<u32>);

fn help_shown(effects: &[Effect]) -> Option<Shown> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Panels(WorkerToPanel::Help { requests, asking, reach }) => {
            Some((requests.iter().map(|r| (r.id, r.status)).collect(), *asking, *reach))
        }
        _ => None,
    })
}

fn notified_help(effects: &[Effect]) -> Vec<u64> {
    effects.iter().filter_map(|e| if let Effect::NotifyHelp(r) = e { Some(r.id) } else { None }).collect()
}

fn asks(effects: &[Effect]) -> Vec<u64> {
    relayed(effects)
        .into_iter()
        .filter_map(|f| if let ClientFrame::AskHelp { id, .. } = f { Some(*id) } else { None })
        .collect()
}

fn list_requests(effects: &[Effect]) -> Vec<(u64, Option<i64>)> {
    relayed(effects)
        .into_iter()
        .filter_map(|f| if let ClientFrame::HelpRequests { id, since } = f { Some((*id, *since)) } else { None })
        .collect()
}

/// The id of the list in flight (the one the welcome asked for, or a later one).
fn listed(core: &Core) -> u64 {
    core.help_list_in_flight().expect("a list is on its way")
}

fn ask(core: &mut Core) -> Vec<Effect> {
    core.on_panel(7, PanelToWorker::AskHelp { reason: "complaint".into(), note: "refund".into() }, 0)
}

#[test]
fn an_ask_lost_with_the_connection_is_asked_again_once_and_the_answer_says_who_was_told() {
    let mut core = Core::new(Vec::new(), Vec::new());
    let first = welcome(&mut core, "agent@x");
    assert_eq!(list_requests(&first).len(), 1, "the live requests are read after the welcome");
    let effects = ask(&mut core);
    assert_eq!(asks(&effects).len(), 1);
    assert_eq!(help_shown(&effects), Some((vec![], true, None)), "the panel shows the ask on its way");
    assert!(asks(&ask(&mut core)).is_empty(), "a second click while asking asks nothing");

    // The connection drops before the relay answers; after the next welcome the list shows the
    // ask did not get through, and it is asked again.
    core.set_connection(Connection::Offline { retry_at: 5, problem: Problem::Unreachable });
    let effects = welcome(&mut core, "agent@x");
    assert!(asks(&effects).is_empty(), "the list first");
    assert!(asks(&core.tick()).is_empty(), "not while the list is on its way");
    let effects = core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] }, 5);
    let [id] = asks(&effects)[..] else { panic!("asked again once: {effects:?}") };
    let ack = ServerFrame::HelpAck {
        id,
        request: Box::new(request(3, "agent@x", HelpStatus::Open)),
        supervisors: 0,
        duplicate: false,
    };
    let effects = core.on_frame(ack, 10);
    assert_eq!(help_shown(&effects), Some((vec![(3, HelpStatus::Open)], false, Some(0))), "nobody was told: 0");
    assert!(notified_help(&effects).is_empty(), "an agent is not notified of their own request");
    assert!(asks(&ask(&mut core)).is_empty(), "while the request is open, no second one");
    assert!(asks(&core.tick()).is_empty());

    // Taken: "Taro is on it".
    let effects = core.on_frame(ServerFrame::Help { request: Box::new(request(3, "agent@x", HelpStatus::Taken)) }, 20);
    assert_eq!(help_shown(&effects).map(|h| h.0), Some(vec![(3, HelpStatus::Taken)]));
    let snapshot = core.snapshot(None);
    assert_eq!(snapshot.help[0].taken_by.as_deref(), Some("sup@x"));
    assert_eq!(snapshot.help_reach, Some(0));
}

#[test]
fn an_ask_that_got_through_before_the_connection_was_lost_is_not_asked_again() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "agent@x");
    core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] }, 1);
    assert_eq!(asks(&ask(&mut core)).len(), 1);
    core.set_connection(Connection::Offline { retry_at: 5, problem: Problem::Unreachable });
    welcome(&mut core, "agent@x");
    // Stored and already taken meanwhile: the list has it.
    let list = vec![request(3, "agent@x", HelpStatus::Taken)];
    let effects = core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: list, stats: vec![] }, 6);
    assert!(asks(&effects).is_empty());
    assert_eq!(help_shown(&effects), Some((vec![(3, HelpStatus::Taken)], false, None)));
    assert!(asks(&core.tick()).is_empty());
}

#[test]
fn an_ask_refused_for_now_goes_again_with_the_tick_and_one_refused_for_good_is_said() {
    let mut core = Core::new(Vec::new(), Vec::new());
    welcome(&mut core, "agent@x");
    core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] }, 0);
    let [id] = asks(&ask(&mut core))[..] else { panic!() };
    let busy = ErrorBody::new(ErrorCode::RateLimited, "slow down");
    assert!(help_shown(&core.on_frame(ServerFrame::Error { id: Some(id), error: busy }, 1)).is_none());
    let [id] = asks(&core.tick())[..] else { panic!("asked again on the tick") };
    let bad = ErrorBody::new(ErrorCode::Invalid, "reason");
    let effects = core.on_frame(ServerFrame::Error { id: Some(id), error: bad }, 2);
    assert_eq!(help_shown(&effects), Some((vec![], false, None)));
    assert!(effects.contains(&Effect::Panels(WorkerToPanel::HelpRefused { code: ErrorCode::Invalid })));
    assert!(asks(&core.tick()).is_empty(), "a refusal for good is not asked again");
}

#[test]
fn a_supervisor_is_notified_once_per_request_and_the_list_only_moves_forward() {
    let mut core = supervisor();
    let push = |core: &mut Core, status| {
        core.on_frame(ServerFrame::Help { request: Box::new(request(5, "aiko@x", status)) }, 100)
    };
    let effects = push(&mut core, HelpStatus::Open);
    assert_eq!(notified_help(&effects), vec![5]);
    assert_eq!(badges(&effects), vec![1], "an open request counts on the badge");
    assert!(push(&mut core, HelpStatus::Open).is_empty(), "the same request again changes nothing");

    // A list read before the request was taken arrives after the taken push: it stays taken.
    let effects = push(&mut core, HelpStatus::Taken);
    assert_eq!(badges(&effects), vec![0], "taken: nobody else need get up");
    assert!(notified_help(&effects).is_empty());
    let stale = ServerFrame::HelpRequests {
        id: listed(&core),
        requests: vec![request(5, "aiko@x", HelpStatus::Open)],
        stats: vec![],
    };
    let effects = core.on_frame(stale, 101);
    assert_eq!(help_shown(&effects).map(|h| h.0), Some(vec![(5, HelpStatus::Taken)]));

    // Closed, then a stale list that still has it: it does not come back.
    let effects = push(&mut core, HelpStatus::Closed);
    assert_eq!(help_shown(&effects).map(|h| h.0), Some(vec![]));
    let stale = ServerFrame::HelpRequests {
        id: listed(&core),
        requests: vec![request(5, "aiko@x", HelpStatus::Taken)],
        stats: vec![],
    };
    assert_eq!(help_shown(&core.on_frame(stale, 102)).map(|h| h.0), Some(vec![]));

    // While a floor is looked at, a new request is shown, not notified.
    core.on_panel(3, PanelToWorker::FloorFocus { visible_and_focused: true }, 103);
    let effects = core.on_frame(ServerFrame::Help { request: Box::new(request(6, "ken@x", HelpStatus::Open)) }, 104);
    assert!(notified_help(&effects).is_empty());
    assert_eq!(badges(&effects), vec![1]);
}

#[test]
fn the_days_figures_are_asked_from_the_panels_midnight_and_again_after_each_change() {
    let mut core = supervisor();
    // The welcome's list is on its way: the figures are asked for when it arrives.
    assert!(list_requests(&core.on_panel(3, PanelToWorker::HelpStats { since: 500 }, 1_000)).is_empty());
    let welcome_list = ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] };
    let effects = core.on_frame(welcome_list, 1_000);
    let [(id, Some(500))] = list_requests(&effects)[..] else { panic!("{effects:?}") };
    assert!(core.on_panel(3, PanelToWorker::HelpStats { since: 500 }, 1_001).is_empty(), "the same day: nothing new");
    let stats = vec![protocol::HelpStats {
        roster: "team-a".into(),
        asked: 2,
        taken: 1,
        cancelled: 0,
        median_wait_ms: Some(40_000),
        longest_wait_ms: Some(40_000),
    }];
    let effects = core.on_frame(ServerFrame::HelpRequests { id, requests: vec![], stats }, 1_002);
    let shown = effects.iter().find_map(|e| match e {
        Effect::Panels(WorkerToPanel::HelpStats { stats }) => {
            Some(stats.iter().map(|s| s.roster.as_str()).collect::<Vec<_>>())
        }
        _ => None,
    });
    assert_eq!(shown, Some(vec!["team-a"]));
    // A change: the figures again, one request at a time.
    let effects = core.on_frame(ServerFrame::Help { request: Box::new(request(8, "aiko@x", HelpStatus::Open)) }, 1_003);
    assert_eq!(list_requests(&effects).len(), 1);
    let effects = core.on_frame(ServerFrame::Help { request: Box::new(request(9, "ken@x", HelpStatus::Open)) }, 1_004);
    assert!(list_requests(&effects).is_empty(), "one list in flight at a time");
    let effects =
        core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] }, 1_005);
    assert_eq!(list_requests(&effects).len(), 1, "read before the second change: asked again");
}

#[test]
fn a_take_someone_else_won_is_said_to_the_panel_that_asked_and_the_list_read_again() {
    let mut core = supervisor();
    let effects = core.on_panel(4, PanelToWorker::TakeHelp { request: 5 }, 0);
    let [ClientFrame::TakeHelp { id, request: 5 }] = relayed(&effects)[..] else { panic!("{effects:?}") };
    let taken = ErrorBody::new(ErrorCode::AlreadyTaken, "Ken has it");
    let effects = core.on_frame(ServerFrame::Error { id: Some(*id), error: taken }, 1);
    assert!(effects.contains(&Effect::Panel(4, WorkerToPanel::HelpRefused { code: ErrorCode::AlreadyTaken })));
    // The welcome's list is still on its way; when it comes, what the relay has is read again.
    let effects = core.on_frame(ServerFrame::HelpRequests { id: listed(&core), requests: vec![], stats: vec![] }, 1);
    assert_eq!(list_requests(&effects).len(), 1);
    // Offline: refused at once, in words the panel has.
    core.set_connection(Connection::Offline { retry_at: 5, problem: Problem::Unreachable });
    let effects = core.on_panel(4, PanelToWorker::CloseHelp { request: 5 }, 2);
    assert_eq!(effects, vec![Effect::Panel(4, WorkerToPanel::HelpRefused { code: ErrorCode::Unavailable })]);
}

#[test]
fn signing_out_forgets_the_requests() {
    let mut core = supervisor();
    core.on_frame(ServerFrame::Help { request: Box::new(request(5, "aiko@x", HelpStatus::Open)) }, 0);
    core.sign_out();
    assert!(core.snapshot(None).help.is_empty());
}
