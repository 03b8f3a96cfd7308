//! The extension's configuration: where the relay is, how to sign in, and the supervisor's
//! alert thresholds and help reasons.
//!
//! IT sets it by managed policy (`chrome.storage.managed`, schema in `manifest/schema.json`);
//! otherwise an agent sets it on the options page (`chrome.storage.local`, key
//! [`OPTIONS_KEY`]); otherwise the defaults name a relay on this machine with its development
//! issuer, which is what `cargo xtask demo` runs.

use serde::{Deserialize, Serialize};

use crate::alerts::{AlertSettings, lenient_alerts, lenient_country, lenient_language, lenient_strings};

/// The `chrome.storage.local` key of the options page's settings.
pub const OPTIONS_KEY: &str = "options";

/// One source of settings; every field may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The relay's WebSocket URL, `wss://relay.example.com/ws`.
    pub relay_url: Option<String>,
    /// The OIDC issuer URL (its discovery document is at `/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    /// The OIDC client id registered for the extension.
    pub client_id: Option<String>,
    /// Passed to the issuer as `login_hint` (the development issuer signs this user in at once).
    pub login_hint: Option<String>,
    /// The floor's alert thresholds (merged field by field by the `floor` crate's `Thresholds`).
    /// Invalid, it counts as missing rather than failing the whole settings.
    #[serde(deserialize_with = "lenient_alerts")]
    pub alerts: Option<AlertSettings>,
    /// The reasons an agent may give when asking a supervisor for help. Invalid, it counts as
    /// missing.
    #[serde(deserialize_with = "lenient_strings")]
    pub help_reasons: Option<Vec<String>>,
    /// The country whose national format a number typed without `+` is read in (ISO 3166
    /// alpha-2, `JP`); absent, the relay's `--default-country`. Invalid, it counts as missing.
    #[serde(deserialize_with = "lenient_country")]
    pub default_country: Option<String>,
    /// The teams (rosters) a supervisor's floor covers: the relay sends only theirs and the
    /// floor's team choice stays within them. Absent, every roster. Agents' own roster comes from
    /// the directory, never from here. Invalid, it counts as missing.
    #[serde(deserialize_with = "lenient_strings")]
    pub roster: Option<Vec<String>>,
    /// The language of every screen and notification (`en`, `ja`); absent or `auto`, the
    /// browser's. Invalid, it counts as missing.
    #[serde(deserialize_with = "lenient_language")]
    pub ui_language: Option<String>,
}

/// `text` as an ISO 3166 alpha-2 code (two ASCII letters, upper-cased), if it is one.
pub fn country_code(text: &str) -> Option<String> {
    let text = text.trim();
    (text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic())).then(|| text.to_ascii_uppercase())
}

/// A roster list as the relay names rosters: trimmed, without blanks or repeats, in order.
fn roster(mut names: Vec<String>) -> Vec<String> {
    names.iter_mut().for_each(|n| *n = n.trim().to_owned());
    names.retain(|n| !n.is_empty());
    names.sort();
    names.dedup();
    names
}

/// The settings in force, after merging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub relay_url: String,
    pub issuer: String,
    pub client_id: String,
    pub login_hint: Option<String>,
    /// The country of numbers typed without `+`; `None` leaves it to the relay.
    pub default_country: Option<String>,
    /// The rosters a supervisor's floor covers (policy only: the floor's own team choice is the
    /// supervisor's); `None` for every roster.
    pub roster: Option<Vec<String>>,
    /// The UI language chosen (`en`, `ja`), `None` for the browser's.
    pub ui_language: Option<String>,
    /// Whether IT fixed the settings (the options page then shows them read-only).
    pub managed: bool,
}

impl Config {
    pub const DEFAULT_RELAY: &str = "ws://127.0.0.1:8787/ws";
    pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8787/dev/oidc";
    pub const DEFAULT_CLIENT: &str = "ccp-sidecar-dev";

    /// Managed policy first, then the options page, then the defaults, field by field.
    pub fn merge(managed: &Settings, options: &Settings) -> Self {
        let pick = |m: &Option<String>, o: &Option<String>| {
            m.clone().filter(|s| !s.is_empty()).or_else(|| o.clone().filter(|s| !s.is_empty()))
        };
        Self {
            relay_url: pick(&managed.relay_url, &options.relay_url).unwrap_or_else(|| Self::DEFAULT_RELAY.into()),
            issuer: pick(&managed.issuer, &options.issuer).unwrap_or_else(|| Self::DEFAULT_ISSUER.into()),
            client_id: pick(&managed.client_id, &options.client_id).unwrap_or_else(|| Self::DEFAULT_CLIENT.into()),
            login_hint: pick(&managed.login_hint, &options.login_hint),
            default_country: managed.default_country.clone().or_else(|| options.default_country.clone()),
            roster: managed.roster.clone().map(roster).filter(|r| !r.is_empty()),
            ui_language: managed.ui_language.clone().or_else(|| options.ui_language.clone()),
            managed: managed.relay_url.is_some() || managed.issuer.is_some(),
        }
    }

    /// Whether `other` reaches the same relay as the same person (else the link signs in again).
    pub fn same_link(&self, other: &Config) -> bool {
        (&self.relay_url, &self.issuer, &self.client_id, &self.login_hint)
            == (&other.relay_url, &other.issuer, &other.client_id, &other.login_hint)
    }

    /// The relay's REST base, from its WebSocket URL: `wss://host/ws` -> `https://host`.
    pub fn api_base(&self) -> String {
        let url = self.relay_url.trim_end_matches('/');
        let url = url.strip_suffix("/ws").unwrap_or(url);
        match url.split_once("://") {
            Some(("wss", rest)) => format!("https://{rest}"),
            Some(("ws", rest)) => format!("http://{rest}"),
            _ => url.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rest_base_follows_the_websocket_url() {
        let base = |url: &str| {
            Config { relay_url: url.into(), ..Config::merge(&Settings::default(), &Settings::default()) }.api_base()
        };
        assert_eq!(base("wss://relay.example.com/ws"), "https://relay.example.com");
        assert_eq!(base("ws://127.0.0.1:8787/ws/"), "http://127.0.0.1:8787");
        assert_eq!(base("wss://relay.example.com/sidecar/ws"), "https://relay.example.com/sidecar");
    }

    #[test]
    fn managed_wins_field_by_field_and_defaults_fill_the_rest() {
        let managed = Settings { relay_url: Some("wss://relay.example.com/ws".into()), ..Settings::default() };
        let options = Settings {
            relay_url: Some("ws://elsewhere/ws".into()),
            client_id: Some("mine".into()),
            issuer: Some(String::new()),
            ..Settings::default()
        };
        let config = Config::merge(&managed, &options);
        assert_eq!(config.relay_url, "wss://relay.example.com/ws");
        assert_eq!(config.client_id, "mine");
        assert_eq!(config.issuer, Config::DEFAULT_ISSUER);
        assert!(config.managed);
        assert!(!Config::merge(&Settings::default(), &options).managed);
    }

    #[test]
    fn policy_with_alerts_and_help_reasons_decodes_and_a_bad_one_spares_the_relay() {
        use crate::alerts::Minutes;
        let policy: Settings = serde_json::from_value(serde_json::json!({
            "relay_url": "wss://relay.example.com/ws",
            "alerts": {"hold_minutes": 2, "not_routable": {"休憩": 30}},
            "help_reasons": ["聞いてください", "Escalation"]
        }))
        .unwrap();
        let alerts = policy.alerts.clone().unwrap();
        assert_eq!(alerts.hold_minutes, Some(Minutes::whole(2)));
        assert_eq!(alerts.not_routable.unwrap()["休憩"], Minutes::whole(30));
        assert_eq!(policy.help_reasons.as_deref(), Some(&["聞いてください".to_owned(), "Escalation".to_owned()][..]));
        // The merge of the relay settings is unchanged by them.
        let config = Config::merge(&policy, &Settings::default());
        assert_eq!((config.relay_url.as_str(), config.managed), ("wss://relay.example.com/ws", true));

        let bad: Settings = serde_json::from_value(serde_json::json!({
            "relay_url": "wss://relay.example.com/ws", "alerts": "loud", "help_reasons": "help"
        }))
        .unwrap();
        assert_eq!((&bad.alerts, &bad.help_reasons), (&None, &None));
        let nested: Settings = serde_json::from_value(serde_json::json!({
            "alerts": [1, {"acw_minutes": 2}], "help_reasons": ["ok", {"no": 1}], "client_id": "c",
            "later": {"deep": [1, [2, {"x": null}]]}
        }))
        .unwrap();
        assert_eq!((&nested.alerts, &nested.help_reasons, nested.client_id.as_deref()), (&None, &None, Some("c")));
        assert_eq!(Config::merge(&bad, &Settings::default()).relay_url, "wss://relay.example.com/ws");
        // A country: letters read upper-cased, anything else dropped alone; policy over options.
        let country = |value: serde_json::Value| {
            serde_json::from_value::<Settings>(serde_json::json!({"default_country": value, "client_id": "c"}))
                .map(|s| (s.default_country, s.client_id))
                .unwrap()
        };
        assert_eq!(country(serde_json::json!("jp")), (Some("JP".into()), Some("c".into())));
        for bad in
            [serde_json::json!("JPN"), serde_json::json!("日本"), serde_json::json!(81), serde_json::json!(["JP"])]
        {
            assert_eq!(country(bad.clone()), (None, Some("c".into())), "{bad}");
        }
        let us = Settings { default_country: Some("US".into()), ..Settings::default() };
        let jp = Settings { default_country: Some("JP".into()), ..Settings::default() };
        assert_eq!(Config::merge(&jp, &us).default_country.as_deref(), Some("JP"));
        assert_eq!(Config::merge(&Settings::default(), &us).default_country.as_deref(), Some("US"));
        assert_eq!(Config::merge(&Settings::default(), &Settings::default()).default_country, None);
        // A roster is policy's alone, tidied as the relay names rosters; a language any source's.
        let both: Settings = serde_json::from_value(serde_json::json!({
            "roster": [" 東京 ", "osaka", "", "東京"], "ui_language": "ja-JP"
        }))
        .unwrap();
        let config = Config::merge(&both, &Settings::default());
        assert_eq!(config.roster, Some(vec!["osaka".to_owned(), "東京".to_owned()]));
        assert_eq!(config.ui_language.as_deref(), Some("ja"));
        let mine = Config::merge(&Settings::default(), &both);
        assert_eq!((mine.roster, mine.ui_language.as_deref()), (None, Some("ja")), "options set no roster");
        let empty = Settings { roster: Some(vec![" ".into()]), ..Settings::default() };
        assert_eq!(Config::merge(&empty, &Settings::default()).roster, None, "an empty list is every roster");
        for bad in [serde_json::json!("auto"), serde_json::json!("fr"), serde_json::json!(1), serde_json::json!(["ja"])]
        {
            let s: Settings =
                serde_json::from_value(serde_json::json!({"ui_language": bad, "roster": "東京"})).unwrap();
            assert_eq!((s.ui_language, s.roster), (None, None), "{bad}");
        }
        // What the options page writes reads back the same.
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(serde_json::from_str::<Settings>(&text).unwrap(), policy);
    }
}
