use std::collections::{BTreeMap, BTreeSet};

use protocol::alerts::{AlertSettings, Minutes};
use protocol::{
    AgentState, AlertKey, Channel, ContactState, ContactSummary, Millis, Presence, Rule, Source, StateKind,
};

use super::{AlertChange, Alerts, SeenEpisode, Severity};
use crate::testing::Rng;
use crate::thresholds::Thresholds;

/// Small thresholds, in seconds: contact 10 s, hold 3 s, ACW 5 s, not routable 30 s
/// (管理業務中 60 s, 研修 off), missed and error at once.
fn thresholds() -> Thresholds {
    let ms = Minutes::from_millis;
    let options = AlertSettings {
        contact_minutes: Some(ms(10_000)),
        hold_minutes: Some(ms(3_000)),
        acw_minutes: Some(ms(5_000)),
        not_routable_minutes: Some(ms(30_000)),
        not_routable: Some(BTreeMap::from([("管理業務中".into(), ms(60_000)), ("研修".into(), ms(0))])),
        missed_or_error: None,
    };
    Thresholds::resolve(None, Some(&options))
}

fn agent(principal: &str, state: &str, kind: StateKind, since: Millis) -> Presence {
    Presence {
        principal: principal.into(),
        username: None,
        display_name: principal.to_uppercase(),
        roster: "東京".into(),
        state: AgentState { name: state.into(), kind },
        since,
        contact: None,
        online: true,
        source: Source::Extension,
        ccp_closed: false,
    }
}

fn available(principal: &str, since: Millis) -> Presence {
    agent(principal, "Available", StateKind::Routable, since)
}

fn on_contact(p: Presence, state: ContactState, since: Millis) -> Presence {
    Presence { contact: Some(ContactSummary { channel: Channel::Voice, state, since }), ..p }
}

fn busy(principal: &str, state: ContactState, contact_since: Millis) -> Presence {
    on_contact(agent(principal, "Busy", StateKind::System, 0), state, contact_since)
}

fn key(principal: &str, rule: Rule, since: Millis) -> AlertKey {
    AlertKey { principal: principal.into(), rule, since }
}

/// The changes as (kind, key, severity) for short assertions.
fn brief(changes: Vec<AlertChange>) -> Vec<(&'static str, AlertKey, Option<Severity>)> {
    changes
        .into_iter()
        .map(|c| match c {
            AlertChange::Started(a) => ("started", a.key, Some(a.severity)),
            AlertChange::Updated(a) => ("updated", a.key, Some(a.severity)),
            AlertChange::Ended(k) => ("ended", k, None),
        })
        .collect()
}

fn listed(alerts: &Alerts) -> Vec<(AlertKey, Severity)> {
    alerts.active().map(|a| (a.key.clone(), a.severity)).collect()
}

#[test]
fn a_long_contact_is_amber_at_the_threshold_red_at_twice_and_ends_when_the_contact_does() {
    let mut alerts = Alerts::new(thresholds());
    let k = key("sato", Rule::LongContact, 1_000);
    assert!(alerts.update(&busy("sato", ContactState::Connected, 1_000), 1_000).is_empty());
    assert!(alerts.tick(10_999).is_empty());
    assert_eq!(brief(alerts.tick(11_000)), [("started", k.clone(), Some(Severity::Amber))]);
    assert_eq!(alerts.count(), 1);
    // Nothing again on later ticks or unchanged reports: one notification per episode.
    assert!(alerts.tick(15_000).is_empty());
    assert!(alerts.update(&busy("sato", ContactState::Connected, 1_000), 16_000).is_empty());
    assert_eq!(brief(alerts.tick(21_000)), [("updated", k.clone(), Some(Severity::Red))]);
    assert!(alerts.tick(100_000).is_empty());
    let alert = alerts.active().next().unwrap();
    assert_eq!(
        (alert.name.as_str(), alert.team.as_str(), alert.threshold, alert.raised_at),
        ("SATO", "東京", 10_000, 11_000)
    );
    // After-contact work ends it; ACW has its own episode, from its own start.
    let acw =
        on_contact(agent("sato", "AfterCallWork", StateKind::System, 100_000), ContactState::AfterContactWork, 100_000);
    assert_eq!(brief(alerts.update(&acw, 100_000)), [("ended", k, None)]);
    assert_eq!(alerts.count(), 0);
    assert_eq!(brief(alerts.tick(105_000)), [("started", key("sato", Rule::LongAcw, 100_000), Some(Severity::Amber))]);
}

#[test]
fn a_state_already_long_when_first_seen_alerts_at_once_with_its_severity() {
    let mut alerts = Alerts::new(thresholds());
    let changes = alerts.update(&agent("kato", "休憩", StateKind::NotRoutable, 0), 61_000);
    let rule = Rule::NotRoutable { state: "休憩".into() };
    assert_eq!(brief(changes), [("started", key("kato", rule, 0), Some(Severity::Red))]);
    assert!(alerts.tick(1_000_000).is_empty());
}

#[test]
fn holds_are_timed_from_their_own_start_and_do_not_restart_the_contact() {
    use ContactState::{Connected, OnHold};
    let mut alerts = Alerts::new(thresholds());
    let contact = key("ito", Rule::LongContact, 0);
    alerts.update(&busy("ito", Connected, 0), 0);
    // The CCP reports the contact's time for a hold: the hold starts when first seen (8 s).
    assert!(alerts.update(&busy("ito", OnHold, 0), 8_000).is_empty());
    assert_eq!(
        brief(alerts.tick(11_000)),
        [
            ("started", contact.clone(), Some(Severity::Amber)),
            ("started", key("ito", Rule::LongHold, 8_000), Some(Severity::Amber))
        ]
    );
    // Back from hold: the hold ends, the contact goes on.
    assert_eq!(
        brief(alerts.update(&busy("ito", Connected, 0), 12_000)),
        [("ended", key("ito", Rule::LongHold, 8_000), None)]
    );
    // A hold reported with its own start (later than the contact's) is timed from it.
    assert!(alerts.update(&busy("ito", OnHold, 12_500), 13_000).is_empty());
    assert_eq!(brief(alerts.tick(15_500)), [("started", key("ito", Rule::LongHold, 12_500), Some(Severity::Amber))]);
    assert_eq!(alerts.active().filter(|a| a.key == contact).count(), 1, "the contact was never restarted");
    // Unhold reported with a new time is still the same contact.
    let changes = brief(alerts.update(&busy("ito", Connected, 16_000), 16_000));
    assert_eq!(changes, [("ended", key("ito", Rule::LongHold, 12_500), None)]);
    // A connected contact with a new start is a new contact.
    let changes = brief(alerts.update(&busy("ito", Connected, 40_000), 40_000));
    assert_eq!(changes, [("ended", contact, None)]);
    assert_eq!(brief(alerts.tick(50_000)), [("started", key("ito", Rule::LongContact, 40_000), Some(Severity::Amber))]);
}

#[test]
fn after_contact_work_comes_from_the_agent_state_or_the_contact() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&agent("a", "AfterCallWork", StateKind::System, 0), 0);
    // A chat in ACW while the agent state stays Available.
    let chat = Presence {
        contact: Some(ContactSummary { channel: Channel::Chat, state: ContactState::AfterContactWork, since: 2_000 }),
        ..available("b", 0)
    };
    alerts.update(&chat, 2_000);
    let started = brief(alerts.tick(7_000));
    assert_eq!(
        started,
        [
            ("started", key("a", Rule::LongAcw, 0), Some(Severity::Amber)),
            ("started", key("b", Rule::LongAcw, 2_000), Some(Severity::Amber))
        ]
    );
}

#[test]
fn not_routable_states_use_their_own_threshold_or_the_general_one() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&agent("a", "休憩", StateKind::NotRoutable, 0), 0);
    alerts.update(&agent("b", "管理業務中", StateKind::NotRoutable, 0), 0);
    alerts.update(&agent("c", "研修", StateKind::NotRoutable, 0), 0);
    let nr = |s: &str| Rule::NotRoutable { state: s.into() };
    assert_eq!(brief(alerts.tick(30_000)), [("started", key("a", nr("休憩"), 0), Some(Severity::Amber))]);
    assert_eq!(
        brief(alerts.tick(60_000)),
        [
            ("updated", key("a", nr("休憩"), 0), Some(Severity::Red)),
            ("started", key("b", nr("管理業務中"), 0), Some(Severity::Amber))
        ]
    );
    assert!(
        alerts.tick(10_000_000).iter().all(|c| !matches!(c, AlertChange::Started(a) if a.key.principal == "c")),
        "研修 is off"
    );
    // Another not-routable state is another episode.
    let changes = brief(alerts.update(&agent("a", "管理業務中", StateKind::NotRoutable, 70_000), 70_000));
    assert_eq!(changes, [("ended", key("a", nr("休憩"), 0), None)]);
}

#[test]
fn missed_contacts_and_error_states_alert_at_once_in_red() {
    let mut alerts = Alerts::new(thresholds());
    let missed = brief(alerts.update(&agent("a", "MissedCallAgent", StateKind::Error, 5), 10));
    assert_eq!(missed, [("started", key("a", Rule::Missed, 5), Some(Severity::Red))]);
    let failed = brief(alerts.update(&agent("b", "FailedConnectCustomer", StateKind::Error, 7), 10));
    assert_eq!(failed, [("started", key("b", Rule::ErrorState, 7), Some(Severity::Red))]);
    // A contact reported missed while the state is still Available; with an error state as
    // well, one alert, not two.
    let contact = brief(alerts.update(&on_contact(available("c", 0), ContactState::Missed, 9), 10));
    assert_eq!(contact, [("started", key("c", Rule::Missed, 9), Some(Severity::Red))]);
    let both = on_contact(agent("d", "MissedCallAgent", StateKind::Error, 9), ContactState::Missed, 8);
    assert_eq!(brief(alerts.update(&both, 10)).len(), 1);
    // Even when the agent's clock runs ahead of ours.
    let ahead = brief(alerts.update(&agent("e", "FailedConnectAgent", StateKind::Error, 5_000), 10));
    assert_eq!(ahead, [("started", key("e", Rule::ErrorState, 5_000), Some(Severity::Red))]);
    // Leaving the state ends it.
    assert_eq!(brief(alerts.update(&available("a", 20), 20)), [("ended", key("a", Rule::Missed, 5), None)]);

    // Turned off by policy: nothing.
    let policy = AlertSettings { missed_or_error: Some(false), ..AlertSettings::default() };
    let mut off = Alerts::new(Thresholds::resolve(Some(&policy), None));
    assert!(off.update(&agent("a", "MissedCallAgent", StateKind::Error, 5), 10).is_empty());
    assert!(off.tick(10_000_000).is_empty());
}

#[test]
fn offline_ends_every_alert_and_the_same_state_after_a_blip_does_not_notify_again() {
    let mut alerts = Alerts::new(thresholds());
    let p = agent("a", "休憩", StateKind::NotRoutable, 0);
    let k = key("a", Rule::NotRoutable { state: "休憩".into() }, 0);
    alerts.update(&p, 0);
    assert_eq!(alerts.tick(30_000).len(), 1);
    let gone = Presence { online: false, state: AgentState::offline(), since: 35_000, ..p.clone() };
    assert_eq!(brief(alerts.update(&gone, 35_000)), [("ended", k.clone(), None)]);
    assert!(alerts.tick(1_000_000).is_empty());
    // Back in the same state: shown again, not notified again.
    assert_eq!(brief(alerts.update(&p, 40_000)), [("updated", k.clone(), Some(Severity::Amber))]);
    // Once online in another state, the old episode is forgotten.
    alerts.update(&available("a", 41_000), 41_000);
    assert_eq!(brief(alerts.update(&p, 42_000)), [("started", k, Some(Severity::Amber))]);
}

#[test]
fn a_dismissed_episode_is_hidden_until_it_ends_and_the_next_one_alerts_again() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&busy("a", ContactState::Connected, 0), 0);
    alerts.update(&busy("b", ContactState::Connected, 1_000), 1_000);
    alerts.tick(11_000);
    let k = key("a", Rule::LongContact, 0);
    assert_eq!(alerts.count(), 2);
    assert!(alerts.dismiss(&k));
    assert!(!alerts.dismiss(&k), "already dismissed");
    assert!(!alerts.dismiss(&key("a", Rule::LongContact, 5)), "not this episode");
    assert!(!alerts.dismiss(&key("nobody", Rule::LongContact, 0)));
    assert_eq!(alerts.count(), 1);
    assert_eq!(listed(&alerts), [(key("b", Rule::LongContact, 1_000), Severity::Amber)]);
    // It still turns red (the row's colour), silently.
    assert_eq!(brief(alerts.tick(20_000)), []);
    assert_eq!(alerts.severity("a"), Some(Severity::Red));
    assert!(alerts.of("a").all(|a| a.dismissed));
    // It ends silently: it was no longer listed.
    assert!(alerts.update(&available("a", 25_000), 25_000).is_empty());
    assert_eq!(alerts.severity("a"), None);
    // The next long contact alerts again.
    alerts.update(&busy("a", ContactState::Connected, 30_000), 30_000);
    let changes = brief(alerts.tick(40_000));
    assert_eq!(
        changes,
        [
            ("updated", key("b", Rule::LongContact, 1_000), Some(Severity::Red)),
            ("started", key("a", Rule::LongContact, 30_000), Some(Severity::Amber))
        ]
    );
    assert_eq!(alerts.count(), 2);
}

#[test]
fn active_alerts_are_newest_first() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&agent("a", "休憩", StateKind::NotRoutable, 0), 0); // raised at 30 s
    alerts.update(&busy("b", ContactState::Connected, 5_000), 5_000); // at 15 s
    alerts.update(&agent("c", "AfterCallWork", StateKind::System, 20_000), 20_000); // at 25 s
    alerts.tick(31_000);
    let order: Vec<&str> = alerts.active().map(|a| a.key.principal.as_str()).collect();
    assert_eq!(order, ["a", "c", "b"]);
    assert_eq!(alerts.count(), 3);
}

#[test]
fn new_thresholds_raise_lower_and_end_episodes() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&busy("a", ContactState::Connected, 0), 0);
    alerts.update(&agent("b", "AfterCallWork", StateKind::System, 0), 0);
    assert_eq!(alerts.tick(12_000).len(), 2);
    let ms = Minutes::from_millis;
    let options = AlertSettings {
        contact_minutes: Some(ms(7_000)),
        acw_minutes: Some(ms(0)),
        hold_minutes: Some(ms(1_000)),
        ..AlertSettings::default()
    };
    let changes = brief(alerts.set_thresholds(Thresholds::resolve(None, Some(&options)), 14_000));
    assert_eq!(
        changes,
        [("updated", key("a", Rule::LongContact, 0), Some(Severity::Red)), ("ended", key("b", Rule::LongAcw, 0), None)]
    );
    // Higher than the time in state: no longer over it.
    let options = AlertSettings { contact_minutes: Some(ms(60_000)), ..options };
    let changes = brief(alerts.set_thresholds(Thresholds::resolve(None, Some(&options)), 15_000));
    assert_eq!(changes, [("ended", key("a", Rule::LongContact, 0), None)]);
    // Remembered while under the threshold, across a restart too.
    let mut restarted = Alerts::restore(Thresholds::resolve(None, Some(&options)), alerts.seen());
    restarted.update(&busy("a", ContactState::Connected, 0), 16_000);
    // Reached again under the new threshold: shown, but it was notified already.
    assert_eq!(brief(alerts.tick(60_000)), [("updated", key("a", Rule::LongContact, 0), Some(Severity::Amber))]);
    assert_eq!(brief(restarted.tick(60_000)), [("updated", key("a", Rule::LongContact, 0), Some(Severity::Amber))]);
}

#[test]
fn a_restarted_tracker_remembers_what_it_notified_and_dismissed() {
    let mut alerts = Alerts::new(thresholds());
    let missed = agent("a", "MissedCallAgent", StateKind::Error, 0);
    let long = busy("b", ContactState::Connected, 0);
    alerts.update(&missed, 0);
    alerts.update(&long, 0);
    alerts.tick(10_000);
    assert!(alerts.dismiss(&key("a", Rule::Missed, 0)));
    let kept = serde_json::to_string(&alerts.seen()).unwrap();

    let seen: Vec<SeenEpisode> = serde_json::from_str(&kept).unwrap();
    let mut again = Alerts::restore(thresholds(), seen);
    assert!(again.update(&missed, 11_000).is_empty(), "dismissed: stays hidden");
    assert_eq!(
        brief(again.update(&long, 11_000)),
        [("updated", key("b", Rule::LongContact, 0), Some(Severity::Amber))]
    );
    assert_eq!(again.count(), 1);
    // A new episode still notifies.
    let started = brief(again.update(&agent("c", "FailedConnectAgent", StateKind::Error, 1), 11_000));
    assert_eq!(started[0].0, "started");
}

#[test]
fn the_next_crossing_is_due_at_the_threshold_then_at_twice_it_then_never() {
    let mut alerts = Alerts::new(thresholds());
    assert_eq!(alerts.next_due(), None, "nobody watched");
    alerts.update(&busy("sato", ContactState::Connected, 1_000), 1_000);
    alerts.update(&agent("kato", "休憩", StateKind::NotRoutable, 2_000), 2_000);
    assert_eq!(alerts.next_due(), Some(11_000), "the contact's threshold, before the break's");
    alerts.tick(11_000);
    assert_eq!(alerts.next_due(), Some(21_000), "red at twice it");
    alerts.tick(21_000);
    assert_eq!(alerts.next_due(), Some(32_000), "then the break's");
    alerts.update(&available("kato", 25_000), 25_000);
    assert_eq!(alerts.next_due(), None, "red is final; the break ended");
    alerts.update(&agent("ito", "MissedCallAgent", StateKind::Error, 30_000), 30_000);
    assert_eq!(alerts.next_due(), None, "missed is red at once");
}

#[test]
fn removing_an_agent_ends_their_alerts() {
    let mut alerts = Alerts::new(thresholds());
    alerts.update(&agent("a", "MissedCallAgent", StateKind::Error, 0), 0);
    assert_eq!(brief(alerts.remove("a", 1)), [("ended", key("a", Rule::Missed, 0), None)]);
    assert!(alerts.remove("nobody", 1).is_empty());
    assert_eq!(alerts.count(), 0);
    assert!(alerts.seen().is_empty());
}

/// Available in Connect, with the CCP closed since a moment after `since` (the relay's view).
fn ccp_closed(principal: &str, since: Millis) -> Presence {
    Presence { source: Source::Connect, ccp_closed: true, ..available(principal, since) }
}

#[test]
fn available_in_connect_with_the_ccp_closed_alerts_at_once_until_the_flag_goes() {
    let mut alerts = Alerts::new(thresholds());
    let k = key("sato", Rule::CcpClosed, 1_000);
    assert_eq!(brief(alerts.update(&ccp_closed("sato", 1_000), 5_000)), [("started", k.clone(), Some(Severity::Red))]);
    assert_eq!(alerts.next_due(), None, "red at once: nothing to wait for");
    assert!(alerts.tick(1_000_000).is_empty());
    assert!(alerts.update(&ccp_closed("sato", 1_000), 6_000).is_empty(), "the same report: nothing again");
    let alert = alerts.active().next().unwrap();
    assert_eq!((alert.threshold, alert.raised_at), (0, 1_000));
    // The agent opened their CCP: the flag goes, and the alert with it.
    let open = available("sato", 1_000);
    assert_eq!(brief(alerts.update(&open, 7_000)), [("ended", k.clone(), None)]);
    assert_eq!(alerts.count(), 0);
    // Closed again within the same state: the state's one episode, shown, not notified again;
    // after a restart too.
    let mut restarted = Alerts::restore(thresholds(), alerts.seen());
    assert_eq!(brief(alerts.update(&ccp_closed("sato", 1_000), 8_000)), [("updated", k.clone(), Some(Severity::Red))]);
    assert_eq!(
        brief(restarted.update(&ccp_closed("sato", 1_000), 8_000)),
        [("updated", k.clone(), Some(Severity::Red))]
    );
    // Dismissed, it stays hidden through the same again.
    assert!(alerts.dismiss(&k));
    assert!(alerts.update(&open, 9_000).is_empty());
    assert!(alerts.update(&ccp_closed("sato", 1_000), 10_000).is_empty());
    // A new state is a new episode.
    let next = key("sato", Rule::CcpClosed, 20_000);
    assert_eq!(brief(alerts.update(&ccp_closed("sato", 20_000), 20_000)), [("started", next, Some(Severity::Red))]);
    // Whatever the thresholds say (it is always on); never for an agent gone offline.
    let policy = AlertSettings { missed_or_error: Some(false), ..AlertSettings::default() };
    let mut off = Alerts::new(Thresholds::resolve(Some(&policy), None));
    assert_eq!(off.update(&ccp_closed("kato", 0), 10).len(), 1);
    let gone = Presence { online: false, state: AgentState::offline(), ..ccp_closed("ito", 0) };
    assert!(off.update(&gone, 10).is_empty());
}

#[test]
fn an_unknown_state_has_no_alerts_and_the_same_state_known_again_does_not_notify_again() {
    let mut alerts = Alerts::new(thresholds());
    let p = agent("a", "休憩", StateKind::NotRoutable, 0);
    let k = key("a", Rule::NotRoutable { state: "休憩".into() }, 0);
    alerts.update(&p, 0);
    assert_eq!(alerts.tick(30_000).len(), 1);
    // Connect's data grew too old: nothing can be said of the agent, the flag included.
    let unknown = Presence {
        source: Source::Connect,
        state: AgentState::unknown(),
        since: 31_000,
        ccp_closed: true,
        ..p.clone()
    };
    assert_eq!(brief(alerts.update(&unknown, 31_000)), [("ended", k.clone(), None)]);
    assert!(alerts.tick(10_000_000).is_empty());
    // Read again, in the same state.
    assert_eq!(brief(alerts.update(&p, 40_000)), [("updated", k, Some(Severity::Amber))]);
}

fn random_presence(rng: &mut Rng, principal: &str, now: Millis) -> Presence {
    use ContactState::*;
    let since = now - rng.below(90_000) as Millis;
    let mut p = match rng.below(9) {
        0 => available(principal, since),
        1 => agent(principal, "休憩", StateKind::NotRoutable, since),
        2 => agent(principal, "管理業務中", StateKind::NotRoutable, since),
        3 => agent(principal, "AfterCallWork", StateKind::System, since),
        4 => agent(principal, "MissedCallAgent", StateKind::Error, since),
        5 => Presence { online: false, ..agent(principal, "Offline", StateKind::Offline, since) },
        _ => agent(principal, "Busy", StateKind::System, since),
    };
    if rng.below(2) == 0 {
        let state = [Incoming, Connected, Connected, OnHold, OnHold, AfterContactWork, Missed, Error, Ended]
            [rng.below(9) as usize];
        // Few distinct starts, so contacts and holds continue as often as they change.
        let since = (now / 20_000) * 20_000 - 20_000 * rng.below(3) as Millis;
        p.contact = Some(ContactSummary { channel: Channel::ALL[rng.below(2) as usize], state, since });
    }
    // The CCP closed: the flag comes and goes, often within one state.
    p.ccp_closed = rng.below(4) == 0;
    p
}

#[test]
fn ticks_from_the_queue_agree_with_a_full_rescan() {
    let mut rng = Rng(0x5EED_F100);
    let principals: Vec<String> = (0..40).map(|i| format!("agent{i}")).collect();
    let mut queued = Alerts::new(thresholds());
    let mut rescanned = Alerts::new(thresholds());
    let mut latest: BTreeMap<String, Presence> = BTreeMap::new();
    let (mut started_queued, mut started_rescanned) = (Vec::new(), BTreeSet::new());
    let mut now: Millis = 1_000_000;
    for step in 0..3_000 {
        now += rng.below(2_500) as Millis;
        if rng.below(3) == 0 {
            let who = &principals[rng.below(principals.len() as u64) as usize];
            let p = random_presence(&mut rng, who, now);
            let (a, b) = (queued.update(&p, now), rescanned.update(&p, now));
            for c in a {
                if let AlertChange::Started(alert) = c {
                    started_queued.push(alert.key);
                }
            }
            for c in b {
                if let AlertChange::Started(alert) = c {
                    started_rescanned.insert(alert.key);
                }
            }
            latest.insert(who.clone(), p);
        }
        if step % 7 == 0 && rng.below(5) == 0 {
            let dismiss = queued.active().nth(rng.below(3) as usize).map(|a| a.key.clone());
            if let Some(k) = dismiss {
                assert!(queued.dismiss(&k) && rescanned.dismiss(&k));
            }
        }
        // One checks only what is due; the other measures every agent again.
        for c in queued.tick(now) {
            if let AlertChange::Started(alert) = c {
                started_queued.push(alert.key);
            }
        }
        for p in latest.values() {
            for c in rescanned.update(p, now) {
                if let AlertChange::Started(alert) = c {
                    started_rescanned.insert(alert.key);
                }
            }
        }
        assert_eq!(listed(&queued), listed(&rescanned), "step {step}");
        assert_eq!(queued.count(), queued.active().count());
        let raised: Vec<Millis> = queued.active().map(|a| a.raised_at).collect();
        assert!(raised.windows(2).all(|w| w[0] >= w[1]), "newest first");
    }
    let unique: BTreeSet<AlertKey> = started_queued.iter().cloned().collect();
    assert_eq!(unique.len(), started_queued.len(), "an episode is notified once");
    assert_eq!(unique, started_rescanned);
    assert!(unique.len() > 100, "the sequence exercised the rules: {}", unique.len());
}
