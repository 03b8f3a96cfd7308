//! `manifest/schema.json`, the managed-storage schema, names every setting the extension reads,
//! and uses only what Chrome's policy schema accepts: Chrome refuses to load an extension whose
//! schema it cannot parse, and, for one, `minimum` is allowed on `integer` but not on `number`.

use std::collections::{BTreeMap, BTreeSet};

use protocol::alerts::{AlertSettings, Minutes};
use protocol::config::Settings;
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../manifest/schema.json"))
        .expect("manifest/schema.json");
    serde_json::from_str(&text).expect("the schema is JSON")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// The attributes Chrome's policy schema parser accepts per type (components/policy's schema).
fn allowed(kind: &str) -> &'static [&'static str] {
    match kind {
        "boolean" => &["description", "id", "sensitiveValue", "title", "type"],
        "integer" => &["description", "enum", "id", "maximum", "minimum", "sensitiveValue", "title", "type"],
        "number" => &["description", "id", "sensitiveValue", "title", "type"],
        "string" => &["description", "enum", "id", "pattern", "sensitiveValue", "title", "type"],
        "array" => &["description", "id", "items", "sensitiveValue", "title", "type"],
        "object" => &[
            "additionalProperties",
            "description",
            "id",
            "patternProperties",
            "properties",
            "required",
            "sensitiveValue",
            "title",
            "type",
        ],
        other => panic!("type {other:?} is not one Chrome's policy schema knows"),
    }
}

fn check(node: &Value, path: &str) {
    let kind = node["type"].as_str().unwrap_or_else(|| panic!("{path}: every schema needs a type"));
    for key in keys(node) {
        assert!(allowed(kind).contains(&key.as_str()), "{path}: Chrome does not accept {key:?} on a {kind}");
    }
    for (name, child) in node["properties"].as_object().into_iter().flatten() {
        check(child, &format!("{path}.{name}"));
    }
    for key in ["items", "additionalProperties"] {
        if !node[key].is_null() {
            check(&node[key], &format!("{path}[{key}]"));
        }
    }
}

#[test]
fn the_schema_is_one_chrome_loads_and_names_every_setting() {
    let schema = schema();
    assert_eq!(schema["type"], "object");
    assert!(schema["additionalProperties"].is_null(), "the top level may not have additionalProperties");
    check(&schema, "schema");

    // `Settings` writes every field (as null when missing).
    let settings = keys(&serde_json::to_value(Settings::default()).unwrap());
    assert_eq!(keys(&schema["properties"]), settings);

    let every_alert = AlertSettings {
        contact_minutes: Some(Minutes::whole(1)),
        hold_minutes: Some(Minutes::whole(1)),
        acw_minutes: Some(Minutes::whole(1)),
        not_routable_minutes: Some(Minutes::whole(1)),
        not_routable: Some(BTreeMap::new()),
        missed_or_error: Some(true),
    };
    assert_eq!(keys(&schema["properties"]["alerts"]["properties"]), keys(&serde_json::to_value(every_alert).unwrap()));
}

#[test]
fn a_policy_the_schema_describes_decodes() {
    let policy = serde_json::json!({
        "relay_url": "wss://relay.example.com/ws",
        "alerts": {"contact_minutes": 20, "hold_minutes": 2.5, "acw_minutes": 0, "not_routable_minutes": 30,
                   "not_routable": {"休憩": 15, "管理業務中": 60}, "missed_or_error": false},
        "help_reasons": ["Listen in, please"],
        "roster": ["東京", "大阪"],
        "ui_language": "ja"
    });
    let settings: Settings = serde_json::from_value(policy.clone()).unwrap();
    let alerts = settings.alerts.unwrap();
    assert_eq!(alerts.hold_minutes, Some(Minutes::from_millis(150_000)));
    assert_eq!(alerts.acw_minutes, Some(Minutes::whole(0)));
    assert_eq!(alerts.not_routable.map(|m| m.len()), Some(2));
    assert_eq!(alerts.missed_or_error, Some(false));
    assert_eq!(settings.roster.as_deref(), Some(&["東京".to_owned(), "大阪".to_owned()][..]));
    assert_eq!(settings.ui_language.as_deref(), Some("ja"));
}
