use std::collections::BTreeMap;

use protocol::Rule;
use protocol::alerts::{AlertSettings, Minutes};
use protocol::config::Settings;

use super::{Thresholds, defaults};

fn not_routable(state: &str) -> Rule {
    Rule::NotRoutable { state: state.into() }
}

fn states(entries: &[(&str, Minutes)]) -> Option<BTreeMap<String, Minutes>> {
    Some(entries.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
}

#[test]
fn defaults_apply_with_nothing_set_and_nothing_is_locked() {
    let t = Thresholds::default();
    assert_eq!(t.for_rule(&Rule::LongContact), Some(15 * 60_000));
    assert_eq!(t.for_rule(&Rule::LongHold), Some(3 * 60_000));
    assert_eq!(t.for_rule(&Rule::LongAcw), Some(5 * 60_000));
    assert_eq!(t.for_rule(&not_routable("休憩")), Some(30 * 60_000));
    assert_eq!(t.for_rule(&Rule::Missed), Some(0));
    assert_eq!(t.for_rule(&Rule::ErrorState), Some(0));
    assert_eq!(t.locked, super::Locked::default());
    assert_eq!(
        (t.contact, t.hold, t.acw, t.not_routable),
        (defaults::CONTACT, defaults::HOLD, defaults::ACW, defaults::NOT_ROUTABLE)
    );
    assert_eq!(t, Thresholds::from_settings(&Settings::default(), &Settings::default()));
}

#[test]
fn policy_wins_over_options_over_defaults_field_by_field() {
    let policy =
        AlertSettings { hold_minutes: Some(Minutes::whole(2)), missed_or_error: Some(false), ..Default::default() };
    let options = AlertSettings {
        hold_minutes: Some(Minutes::whole(10)),
        acw_minutes: Some(Minutes::from_millis(3_000)),
        ..Default::default()
    };
    let t = Thresholds::resolve(Some(&policy), Some(&options));
    assert_eq!(t.for_rule(&Rule::LongHold), Some(120_000), "policy");
    assert_eq!(t.for_rule(&Rule::LongAcw), Some(3_000), "options, in seconds as a fraction of a minute");
    assert_eq!(t.for_rule(&Rule::LongContact), Some(15 * 60_000), "default");
    assert_eq!(t.for_rule(&Rule::Missed), None, "policy turned it off");
    assert!(t.locked.hold && t.locked.missed_or_error);
    assert!(!t.locked.acw && !t.locked.contact && !t.locked.not_routable);

    // Options alone lock nothing.
    let t = Thresholds::resolve(None, Some(&options));
    assert_eq!(t.for_rule(&Rule::LongHold), Some(600_000));
    assert!(!t.locked.hold);
}

#[test]
fn zero_turns_a_rule_off() {
    let options = AlertSettings {
        contact_minutes: Some(Minutes::whole(0)),
        not_routable_minutes: Some(Minutes::whole(0)),
        ..Default::default()
    };
    let t = Thresholds::resolve(None, Some(&options));
    assert_eq!(t.for_rule(&Rule::LongContact), None);
    assert_eq!(t.for_rule(&not_routable("Break")), None);
}

#[test]
fn states_merge_entry_by_entry_and_match_folded_names() {
    let policy = AlertSettings {
        not_routable: states(&[("休憩", Minutes::whole(30)), ("Lunch", Minutes::whole(60))]),
        ..Default::default()
    };
    let options = AlertSettings {
        not_routable_minutes: Some(Minutes::whole(20)),
        not_routable: states(&[("休憩", Minutes::whole(5)), (" ｹﾝｼｭｳ ", Minutes::whole(0)), ("  ", Minutes::whole(1))]),
        ..Default::default()
    };
    let t = Thresholds::resolve(Some(&policy), Some(&options));
    assert_eq!(t.for_rule(&not_routable("休憩")), Some(30 * 60_000), "policy's entry wins");
    assert_eq!(t.for_rule(&not_routable("LUNCH")), Some(60 * 60_000), "names fold");
    assert_eq!(t.for_rule(&not_routable("ケンシュウ")), None, "options add an entry; 0 is off");
    assert_eq!(t.for_rule(&not_routable("管理業務中")), Some(20 * 60_000), "the general threshold");
    assert!(t.locked.state("休憩") && t.locked.state("lunch"));
    assert!(!t.locked.state("ケンシュウ") && !t.locked.state("管理業務中"));
    let listed: Vec<(&str, Minutes)> = t.states().collect();
    assert_eq!(listed.len(), 3, "{listed:?}");

    // A state's own entry wins over a general threshold even when policy sets the general one.
    let policy = AlertSettings { not_routable_minutes: Some(Minutes::whole(45)), ..Default::default() };
    let options = AlertSettings { not_routable: states(&[("Break", Minutes::whole(15))]), ..Default::default() };
    let t = Thresholds::resolve(Some(&policy), Some(&options));
    assert_eq!(t.for_rule(&not_routable("Break")), Some(15 * 60_000));
    assert_eq!(t.for_rule(&not_routable("Meeting")), Some(45 * 60_000));
    assert!(t.locked.not_routable && !t.locked.state("Break"));
}

#[test]
fn settings_from_storage_resolve_the_same() {
    let managed: Settings =
        serde_json::from_str(r#"{"relay_url": "wss://r/ws", "alerts": {"contact_minutes": 20}}"#).unwrap();
    let options: Settings = serde_json::from_str(r#"{"alerts": {"contact_minutes": 1, "hold_minutes": 0.1}}"#).unwrap();
    let t = Thresholds::from_settings(&managed, &options);
    assert_eq!(t.for_rule(&Rule::LongContact), Some(20 * 60_000));
    assert_eq!(t.for_rule(&Rule::LongHold), Some(6_000));
    assert!(t.locked.contact && !t.locked.hold);
}
