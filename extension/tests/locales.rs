//! Every string the panel shows comes from `_locales`, in both languages: each relay error code,
//! connection problem and close code has a message, so does every key the panel's source names
//! (`t("...")`, `t1("...", ..)`, `tn("...", ..)` and the keys it builds), and English and Japanese
//! have the same keys with the same placeholders.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};

use protocol::panel::Problem;
use protocol::{CloseCode, ErrorCode};

type Catalogue = BTreeMap<String, serde_json::Value>;

fn catalogue(language: &str) -> Catalogue {
    let path = format!("{}/../assets/_locales/{language}/messages.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Keys the panel builds at run time (`format!("tab_{key}")` and the like), as the source lists them.
fn built_keys() -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    keys.extend(extension::state::Tab::ALL.map(|t| format!("tab_{}", t.key())));
    keys.extend(
        ["incoming", "connecting", "connected", "on_hold", "acw", "ended", "missed", "error"]
            .map(|c| format!("contact_{c}")),
    );
    keys.extend(["call_answered", "call_not_answered", "call_failed", "call_in_progress"].map(String::from));
    keys.extend(ErrorCode::ALL.map(|c| format!("error_{}", c.as_str())));
    keys.extend(Problem::ALL.map(|p| format!("problem_{}", p.as_str())));
    keys.extend(CloseCode::ALL.map(|c| format!("close_{}", c.code())));
    keys.push("failure_unknown".into());
    // The floor's: each rule (the worker's notifications use them too) and each channel's count.
    keys.extend(protocol::Rule::TAGS.map(|r| format!("rule_{r}")));
    keys.extend(protocol::Channel::ALL.map(|c| format!("cat_contact_{}", extension::state::channel_key(c))));
    keys
}

/// The literal keys of `t("..")`, `t1("..", ..)` and `tn("..", ..)` calls in the panel's source.
fn keys_in_source() -> BTreeSet<String> {
    let dir = format!("{}/src", env!("CARGO_MANIFEST_DIR"));
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source");
        for call in ["t(\"", "t1(\"", "tn(\""] {
            for (at, _) in source.match_indices(call) {
                // `t("` but not `get("` or `set("`: the call's name starts the identifier.
                let before = source[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &source[at + call.len()..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_owned());
                }
            }
        }
    }
    keys
}

fn placeholders(message: &serde_json::Value) -> BTreeSet<String> {
    message.get("placeholders").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn english_and_japanese_have_the_same_keys_and_placeholders() {
    let (en, ja) = (catalogue("en"), catalogue("ja"));
    let only_en: Vec<_> = en.keys().filter(|k| !ja.contains_key(*k)).collect();
    let only_ja: Vec<_> = ja.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(only_en.is_empty() && only_ja.is_empty(), "only in en: {only_en:?}; only in ja: {only_ja:?}");
    for (key, message) in &en {
        assert_eq!(placeholders(message), placeholders(&ja[key]), "placeholders of {key}");
        for m in [message, &ja[key]] {
            let text = m.get("message").and_then(|t| t.as_str()).unwrap_or_default();
            assert!(!text.trim().is_empty(), "{key} is empty");
        }
    }
}

#[test]
fn every_code_and_every_key_the_panel_uses_has_a_message_in_both_languages() {
    let source = keys_in_source();
    // The scan itself works: it finds keys we know the panel uses.
    assert!(
        source.contains("conn_online") && source.contains("chat_with") && source.contains("text_length"),
        "{source:?}"
    );
    for language in ["en", "ja"] {
        let catalogue = catalogue(language);
        let missing: Vec<_> =
            source.iter().cloned().chain(built_keys()).filter(|k| !catalogue.contains_key(k)).collect();
        assert!(missing.is_empty(), "{language} lacks {missing:?}");
    }
}

#[test]
fn japanese_says_connected_as_the_ccp_does() {
    let ja = catalogue("ja");
    let text = |key: &str| ja[key]["message"].as_str().unwrap_or_default().to_owned();
    // 接続中 reads "connecting"; the CCP says 接続済み for connected.
    assert_eq!(text("conn_online"), "接続済み");
    assert_ne!(text("conn_connecting"), text("conn_online"));
}
