//! The conformance suite every [`Store`] backend must pass. Each check uses its own principals,
//! so the whole suite runs against one fresh store: `conformance::run(&store).await`.

use std::sync::Arc;

use protocol::{
    AgentState, CallEvent, CallOutcome, CallPhase, CallerId, DirectoryUser, HelpRequest, HelpStatus, Presence,
    RoutingProfile, StateKind,
};

use super::{NewHelp, NewMessage, PresenceRecord, Store};

/// Runs every check; panics with the check's name on the first failure.
pub async fn run(store: Arc<dyn Store>) {
    sequence_numbers_are_per_conversation(&*store).await;
    resends_never_duplicate(&*store).await;
    reads_page_both_ways(&*store).await;
    summaries_count_unread_from_the_peer_only(&*store).await;
    read_markers_only_rise(&*store).await;
    presence_keeps_the_latest_state(&*store).await;
    directory_is_replaced_whole(&*store).await;
    text_is_stored_exactly(&*store).await;
    routing_profiles_are_replaced_whole(&*store).await;
    calls_belong_to_their_agent_and_page_newest_first(&*store).await;
    help_requests_only_move_forward(&*store).await;
    help_requests_are_listed_live_and_by_day(&*store).await;
    // After the other help checks: it deletes their ended requests.
    ended_help_requests_expire_and_live_ones_stay(&*store).await;
    concurrent_appends_get_distinct_contiguous_numbers(store.clone()).await;
    // Last: it deletes what is older than its cutoff, which only its own records are.
    expiry_deletes_old_messages_and_calls_and_numbers_go_on(&*store).await;
    store.ping().await.expect("ping");
}

fn msg(from: &str, to: &str, client_id: &str, text: &str) -> NewMessage {
    NewMessage {
        from: from.into(),
        to: to.into(),
        client_id: client_id.into(),
        text: text.into(),
        sent_at: 1_700_000_000_000,
    }
}

async fn sequence_numbers_are_per_conversation(s: &dyn Store) {
    let a = s.append_message(msg("seq-a", "seq-b", "1", "one")).await.unwrap();
    let b = s.append_message(msg("seq-b", "seq-a", "1", "two")).await.unwrap();
    let c = s.append_message(msg("seq-a", "seq-c", "1", "other")).await.unwrap();
    assert_eq!((a.message.seq, b.message.seq, c.message.seq), (1, 2, 1), "sequence numbers");
    assert!(!a.duplicate && !b.duplicate && !c.duplicate);
    assert_eq!(b.message.from, "seq-b");
    assert_eq!(b.message.to, "seq-a");
}

async fn resends_never_duplicate(s: &dyn Store) {
    let first = s.append_message(msg("dup-a", "dup-b", "same", "original")).await.unwrap();
    let again = s.append_message(msg("dup-a", "dup-b", "same", "changed on resend")).await.unwrap();
    assert!(again.duplicate, "resend must be a duplicate");
    assert_eq!(again.message, first.message, "a resend returns the stored message");
    let other_sender = s.append_message(msg("dup-b", "dup-a", "same", "hers")).await.unwrap();
    assert!(!other_sender.duplicate, "client ids are per sender");
    assert_eq!(other_sender.message.seq, 2);
    let all = s.messages_after("dup-a", "dup-b", 0, 100).await.unwrap();
    assert_eq!(all.len(), 2, "resend stored twice: {all:?}");
}

async fn reads_page_both_ways(s: &dyn Store) {
    for i in 1..=25 {
        s.append_message(msg("page-a", "page-b", &format!("c{i}"), &format!("m{i}"))).await.unwrap();
    }
    let after = s.messages_after("page-b", "page-a", 20, 3).await.unwrap();
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), [21, 22, 23], "messages_after");
    let newest = s.history("page-a", "page-b", None, 10).await.unwrap();
    assert_eq!(newest.first().map(|m| m.seq), Some(25), "history starts at the newest");
    assert_eq!(newest.last().map(|m| m.seq), Some(16));
    let older = s.history("page-b", "page-a", Some(16), 10).await.unwrap();
    assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), (6..=15).rev().collect::<Vec<_>>());
    let oldest = s.history("page-a", "page-b", Some(6), 10).await.unwrap();
    assert_eq!(oldest.len(), 5, "the last page is short");
    assert!(s.history("page-a", "page-x", None, 10).await.unwrap().is_empty(), "unknown pair");
    assert!(s.messages_after("page-a", "page-b", 25, 10).await.unwrap().is_empty());
}

async fn summaries_count_unread_from_the_peer_only(s: &dyn Store) {
    s.append_message(msg("sum-a", "sum-b", "1", "a1")).await.unwrap();
    s.append_message(msg("sum-b", "sum-a", "1", "b1")).await.unwrap();
    s.append_message(msg("sum-b", "sum-a", "2", "b2")).await.unwrap();
    s.append_message(msg("sum-c", "sum-a", "1", "c1")).await.unwrap();
    let mut mine = s.conversations("sum-a").await.unwrap();
    mine.sort_by(|x, y| x.peer.cmp(&y.peer));
    assert_eq!(mine.len(), 2);
    assert_eq!((mine[0].peer.as_str(), mine[0].last_seq, mine[0].unread), ("sum-b", 3, 2));
    assert_eq!(mine[0].last.as_ref().map(|m| m.text.as_str()), Some("b2"));
    assert_eq!((mine[1].peer.as_str(), mine[1].unread), ("sum-c", 1));
    let hers = s.conversations("sum-b").await.unwrap();
    assert_eq!((hers.len(), hers[0].peer.as_str(), hers[0].unread), (1, "sum-a", 1));
    assert!(s.conversations("sum-nobody").await.unwrap().is_empty());
}

async fn read_markers_only_rise(s: &dyn Store) {
    for i in 1..=5 {
        s.append_message(msg("read-b", "read-a", &i.to_string(), "x")).await.unwrap();
    }
    assert_eq!(s.mark_read("read-a", "read-b", 3).await.unwrap(), 3);
    assert_eq!(s.mark_read("read-a", "read-b", 2).await.unwrap(), 3, "never lowered");
    assert_eq!(s.mark_read("read-a", "read-b", 99).await.unwrap(), 5, "never past the last");
    assert_eq!(s.mark_read("read-a", "read-nobody", 4).await.unwrap(), 0, "no conversation");
    let summary = &s.conversations("read-a").await.unwrap()[0];
    assert_eq!((summary.read_seq, summary.unread), (5, 0));
    let theirs = &s.conversations("read-b").await.unwrap()[0];
    assert_eq!(theirs.read_seq, 0, "markers are per participant");
}

fn presence(principal: &str, name: &str, since: i64) -> PresenceRecord {
    applied(principal, name, since, since)
}

fn applied(principal: &str, name: &str, since: i64, seen_at: i64) -> PresenceRecord {
    PresenceRecord {
        presence: Presence {
            principal: principal.into(),
            username: Some("user".into()),
            display_name: "名前".into(),
            roster: "all".into(),
            state: AgentState { name: name.into(), kind: StateKind::NotRoutable },
            since,
            contact: None,
            online: true,
            source: Default::default(),
            ccp_closed: false,
        },
        seen_at,
    }
}

async fn presence_keeps_the_latest_state(s: &dyn Store) {
    assert!(s.put_presence(&presence("pres-a", "Available", 100)).await.unwrap());
    assert!(s.put_presence(&presence("pres-a", "休憩", 200)).await.unwrap());
    assert!(!s.put_presence(&presence("pres-a", "Stale", 150)).await.unwrap(), "a write applied earlier is refused");
    assert!(s.put_presence(&presence("pres-a", "休憩", 200)).await.unwrap(), "the same write again is accepted");
    assert!(s.put_presence(&presence("pres-b", "Lunch", 50)).await.unwrap());
    let all = s.load_presence().await.unwrap();
    let a = all.iter().find(|r| r.presence.principal == "pres-a").expect("pres-a stored");
    assert_eq!((a.presence.state.name.as_str(), a.presence.since), ("休憩", 200));
    // Applied later with an earlier state start (another device, once the first stopped
    // reporting): stored, so a restart shows what the relay last showed.
    assert!(s.put_presence(&applied("pres-a", "Available", 120, 300)).await.unwrap());
    let all = s.load_presence().await.unwrap();
    let a = all.iter().find(|r| r.presence.principal == "pres-a").expect("pres-a stored");
    assert_eq!((a.presence.state.name.as_str(), a.presence.since), ("Available", 120));
    assert!(all.iter().any(|r| r.presence.principal == "pres-b"));
}

async fn directory_is_replaced_whole(s: &dyn Store) {
    let user = |id: &str, team: &str| DirectoryUser {
        id: id.into(),
        username: Some(id.into()),
        display_name: id.to_uppercase(),
        team: Some(team.into()),
        routing_profile: None,
        hierarchy_group: None,
        connect_user_id: None,
    };
    s.put_directory(&[user("dir-a", "t1"), user("dir-b", "t2")]).await.unwrap();
    assert_eq!(s.directory().await.unwrap().len(), 2);
    s.put_directory(&[user("dir-c", "t3")]).await.unwrap();
    assert_eq!(s.directory().await.unwrap(), [user("dir-c", "t3")], "replaced, not merged");
}

async fn text_is_stored_exactly(s: &dyn Store) {
    let text = "<script>alert(1)</script> 'quotes' \"dq\" \\ 改行\n絵文字🙂\u{0}";
    s.append_message(msg("text-a", "text-b", "t", text)).await.unwrap();
    let got = s.history("text-a", "text-b", None, 1).await.unwrap();
    assert_eq!(got[0].text, text);
}

async fn concurrent_appends_get_distinct_contiguous_numbers(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            let (from, to) = if i % 2 == 0 { ("conc-a", "conc-b") } else { ("conc-b", "conc-a") };
            tokio::spawn(async move { s.append_message(msg(from, to, &format!("c{i}"), "x")).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("task").expect("append").message.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>(), "concurrent appends");
}

async fn routing_profiles_are_replaced_whole(s: &dyn Store) {
    let caller_id = |n: &str| CallerId {
        queue_arn: format!("arn:aws:connect:ap-northeast-1:1:instance/i/queue/{n}"),
        queue_name: format!("Queue {n}"),
        name: Some("株式会社サンプル".into()),
        number: "+81312345678".into(),
    };
    let profile = |id: &str, queues: &[&str]| RoutingProfile {
        id: id.into(),
        name: Some(format!("{id} profile")),
        default_queue_arn: Some(caller_id(queues[0]).queue_arn),
        caller_ids: queues.iter().map(|q| caller_id(q)).collect(),
    };
    let first = vec![profile("rp-1", &["a", "b"]), profile("rp-2", &["c"])];
    s.put_routing_profiles(&first, Some(1_700_000_000_000)).await.unwrap();
    assert_eq!(s.routing_profiles().await.unwrap(), (first, Some(1_700_000_000_000)), "routing profiles stored");
    let second = vec![profile("rp-3", &["d"])];
    s.put_routing_profiles(&second, None).await.unwrap();
    assert_eq!(s.routing_profiles().await.unwrap(), (second, None), "routing profiles replaced whole");
}

async fn calls_belong_to_their_agent_and_page_newest_first(s: &dyn Store) {
    let event = |contact: &str, phase, at| CallEvent {
        contact_id: contact.into(),
        number: "+81312345678".into(),
        queue_arn: Some("arn:q".into()),
        phase,
        at,
    };
    for i in 0..5_i64 {
        let contact = format!("call-{i}");
        s.record_call("calls-a", &event(&contact, CallPhase::Dialling, 1_000 + i), Some("+8150".into())).await.unwrap();
    }
    s.record_call("calls-a", &event("call-1", CallPhase::Connected, 2_000), None).await.unwrap();
    let ended = s.record_call("calls-a", &event("call-1", CallPhase::Ended, 62_000), None).await.unwrap();
    assert_eq!((ended.outcome, ended.duration_s), (CallOutcome::Answered, Some(60)), "call advanced");
    assert_eq!(ended.caller_id.as_deref(), Some("+8150"), "caller id kept from the first report");
    // The same contact id reported by another agent is another agent's call.
    let theirs = s.record_call("calls-b", &event("call-1", CallPhase::Failed, 3_000), None).await.unwrap();
    assert_eq!(theirs.outcome, CallOutcome::Failed);

    let page = s.calls("calls-a", None, 3).await.unwrap();
    let ids: Vec<_> = page.iter().map(|c| c.contact_id.as_str()).collect();
    assert_eq!(ids, ["call-4", "call-3", "call-2"], "newest first");
    let rest = s.calls("calls-a", Some(page[2].started_at), 3).await.unwrap();
    let ids: Vec<_> = rest.iter().map(|c| c.contact_id.as_str()).collect();
    assert_eq!(ids, ["call-1", "call-0"], "next page");
    assert_eq!(rest[0].outcome, CallOutcome::Answered, "the other agent's report changed nothing");
    assert_eq!(s.calls("calls-b", None, 10).await.unwrap().len(), 1);
    assert!(s.calls("calls-nobody", None, 10).await.unwrap().is_empty());
}

async fn expiry_deletes_old_messages_and_calls_and_numbers_go_on(s: &dyn Store) {
    let at = |sent_at, client_id: &str| NewMessage { sent_at, ..msg("exp-a", "exp-b", client_id, client_id) };
    for (i, sent_at) in [10, 20, 30, 1_700_000_000_000].into_iter().enumerate() {
        s.append_message(at(sent_at, &format!("e{i}"))).await.unwrap();
    }
    let call = |contact: &str, at| CallEvent {
        contact_id: contact.into(),
        number: "+81312345678".into(),
        queue_arn: None,
        phase: CallPhase::Dialling,
        at,
    };
    s.record_call("exp-a", &call("old", 15), None).await.unwrap();
    s.record_call("exp-a", &call("new", 1_700_000_000_000), None).await.unwrap();

    assert_eq!(s.expire(50, 2).await.unwrap(), (2, 1), "a batch is at most `limit` of each");
    assert_eq!(s.expire(50, 2).await.unwrap(), (1, 0));
    assert_eq!(s.expire(50, 2).await.unwrap(), (0, 0), "nothing older is left");
    let left = s.messages_after("exp-a", "exp-b", 0, 10).await.unwrap();
    assert_eq!(left.iter().map(|m| m.seq).collect::<Vec<_>>(), [4], "only the recent message");
    let calls = s.calls("exp-a", None, 10).await.unwrap();
    assert_eq!(calls.iter().map(|c| c.contact_id.as_str()).collect::<Vec<_>>(), ["new"]);
    let next = s.append_message(at(1_700_000_000_001, "e4")).await.unwrap();
    assert_eq!(next.message.seq, 5, "sequence numbers are never reused");
    let summary = s.conversations("exp-b").await.unwrap();
    assert_eq!((summary[0].last_seq, summary[0].unread), (5, 2), "{summary:?}");
    assert!(s.history("exp-a", "exp-b", Some(4), 10).await.unwrap().is_empty(), "expired history is gone");
    // Another conversation's old-looking messages (the suite's fixed time) are untouched.
    assert!(!s.messages_after("seq-a", "seq-b", 0, 10).await.unwrap().is_empty());
}

async fn ended_help_requests_expire_and_live_ones_stay(s: &dyn Store) {
    let day = 1_700_000_000_000;
    let live_before: Vec<u64> = s.live_help().await.unwrap().iter().map(|r| r.id).collect();
    let old = s.add_help(ask("exp-help", 10)).await.unwrap();
    // The other checks' ended requests asked before the cutoff, and this one, are deleted in
    // batches; what is open or taken stays, however old.
    assert_eq!(s.expire_help(day + 1_000, 4).await.unwrap(), 4, "a batch is at most `limit`");
    assert_eq!(s.expire_help(day + 1_000, 4).await.unwrap(), 1);
    assert_eq!(s.expire_help(day + 1_000, 4).await.unwrap(), 0, "nothing ended and older is left");
    assert_eq!(
        s.live_help().await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(),
        [live_before, vec![old.id]].concat()
    );
    s.update_help(&ended(&old, HelpStatus::Cancelled, 20)).await.unwrap();
    assert_eq!(s.expire_help(day + 1_000, 4).await.unwrap(), 1, "ended now: it goes");
    assert!(s.help(old.id).await.unwrap().is_none());
}

fn ask(agent: &str, asked_at: i64) -> NewHelp {
    NewHelp {
        agent: agent.into(),
        display_name: "佐藤 愛子".into(),
        roster: "help-roster".into(),
        reason: "complaint".into(),
        note: "お客様が上長を希望 \"quoted\"".into(),
        asked_at,
    }
}

fn taken(request: &HelpRequest, at: i64) -> HelpRequest {
    HelpRequest {
        status: HelpStatus::Taken,
        taken_by: Some("help-sup".into()),
        taken_by_name: Some("田中 太郎".into()),
        taken_at: Some(at),
        ..request.clone()
    }
}

fn ended(request: &HelpRequest, status: HelpStatus, at: i64) -> HelpRequest {
    HelpRequest { status, ended_at: Some(at), ..request.clone() }
}

async fn help_requests_only_move_forward(s: &dyn Store) {
    let first = s.add_help(ask("help-a", 1_000)).await.unwrap();
    let second = s.add_help(ask("help-a", 1_001)).await.unwrap();
    assert!(second.id > first.id, "ids rise: {} then {}", first.id, second.id);
    assert_eq!((first.status, first.note.as_str()), (HelpStatus::Open, "お客様が上長を希望 \"quoted\""));
    assert_eq!(s.help(first.id).await.unwrap().as_ref(), Some(&first), "stored as returned");

    let took = taken(&first, 2_000);
    assert!(s.update_help(&took).await.unwrap(), "open -> taken");
    assert!(!s.update_help(&took).await.unwrap(), "the same status again is not a change");
    assert!(!s.update_help(&first).await.unwrap(), "never back to open");
    assert!(!s.update_help(&taken(&first, 3_000)).await.unwrap(), "a second taker does not replace the first");
    let closed = ended(&took, HelpStatus::Closed, 4_000);
    assert!(s.update_help(&closed).await.unwrap(), "taken -> closed");
    assert!(!s.update_help(&ended(&first, HelpStatus::Cancelled, 5_000)).await.unwrap(), "an end is final");
    assert_eq!(s.help(first.id).await.unwrap(), Some(closed), "the furthest status is kept");

    assert!(s.update_help(&ended(&second, HelpStatus::Cancelled, 1_500)).await.unwrap(), "open -> cancelled");
    assert!(!s.update_help(&taken(&second, 2_000)).await.unwrap(), "a cancelled request is not taken");
    assert!(s.help(u64::MAX).await.unwrap().is_none());
    let ghost = HelpRequest { id: second.id + 1_000, ..taken(&second, 1) };
    assert!(!s.update_help(&ghost).await.unwrap(), "an unknown id stores nothing");
    assert!(s.help(ghost.id).await.unwrap().is_none());
    // Ids are never reused, even after the newest request ended.
    let third = s.add_help(ask("help-a", 1_002)).await.unwrap();
    assert!(third.id > second.id);
    assert!(s.update_help(&ended(&third, HelpStatus::Cancelled, 1_003)).await.unwrap());
}

async fn help_requests_are_listed_live_and_by_day(s: &dyn Store) {
    let day = 1_700_000_000_000;
    let yesterday = s.add_help(ask("live-a", day - 1)).await.unwrap();
    let open = s.add_help(ask("live-b", day)).await.unwrap();
    let took = taken(&s.add_help(ask("live-c", day + 10)).await.unwrap(), day + 20);
    s.update_help(&took).await.unwrap();
    let cancelled = ended(&s.add_help(ask("live-d", day + 30)).await.unwrap(), HelpStatus::Cancelled, day + 40);
    s.update_help(&cancelled).await.unwrap();
    let closed =
        ended(&taken(&s.add_help(ask("live-e", day + 50)).await.unwrap(), day + 60), HelpStatus::Closed, day + 70);
    s.update_help(&closed).await.unwrap();

    let live: Vec<HelpRequest> =
        s.live_help().await.unwrap().into_iter().filter(|r| r.agent.starts_with("live-")).collect();
    assert_eq!(live, [yesterday.clone(), open.clone(), took.clone()], "open and taken, by id");
    let today: Vec<HelpRequest> =
        s.help_asked_since(day).await.unwrap().into_iter().filter(|r| r.agent.starts_with("live-")).collect();
    assert_eq!(today, [open, took, cancelled, closed], "asked at or after the moment, whatever their status");
}
