//! The extension's configuration: where the relay is and how to sign in.
//!
//! IT sets it by managed policy (`chrome.storage.managed`, schema in `manifest/schema.json`);
//! otherwise an agent sets it on the options page (`chrome.storage.local`, key
//! [`OPTIONS_KEY`]); otherwise the defaults name a relay on this machine with its development
//! issuer, which is what `cargo xtask demo` runs.

use serde::{Deserialize, Serialize};

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
}

/// The settings in force, after merging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub relay_url: String,
    pub issuer: String,
    pub client_id: String,
    pub login_hint: Option<String>,
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
            managed: managed.relay_url.is_some() || managed.issuer.is_some(),
        }
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
}
