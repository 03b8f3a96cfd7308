//! The UI language: the browser's, or one an administrator or agent chose (`ui_language`), and
//! the extension's own `_locales/<lang>/messages.json` catalogue read as Chrome reads it, for
//! when the language chosen is not the browser's (`chrome.i18n` only ever speaks the browser's).
//!
//! The panel and the worker both read it: the panel for every screen, the worker for its
//! notifications. Chrome's rules, kept here so both agree with `chrome.i18n.getMessage`:
//! message names and placeholder names are case-insensitive; a message's `$name$` is replaced by
//! its placeholder's `content` when the catalogue is read; `$1`..`$9` are then replaced by the
//! substitutions (one missing is empty), `$$` is a `$`, and a `$` before anything else is dropped
//! with that character.

use std::collections::HashMap;

use serde::Deserialize;

/// The languages the extension has a catalogue for (`_locales/<lang>`).
pub const LANGUAGES: [&str; 2] = ["en", "ja"];

/// The catalogue language for `tag` (`ja`, `JA-jp`, `en_US`), if the extension has one.
pub fn language(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    LANGUAGES.into_iter().find(|l| *l == primary)
}

/// The catalogue to read instead of `chrome.i18n` when the language chosen (`setting`) is not the
/// one Chrome shows (`browser`, `chrome.i18n.getUILanguage()`); `None` when Chrome's own is right.
/// Chrome falls back to the default locale (`en`) for a browser language without a catalogue.
pub fn override_for(setting: Option<&str>, browser: &str) -> Option<&'static str> {
    let chosen = language(setting?)?;
    let chrome = language(browser).unwrap_or("en");
    (chosen != chrome).then_some(chosen)
}

/// One `messages.json`, its named placeholders already replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    messages: HashMap<String, String>,
}

#[derive(Deserialize)]
struct Entry {
    message: String,
    #[serde(default)]
    placeholders: HashMap<String, Placeholder>,
}

#[derive(Deserialize)]
struct Placeholder {
    content: String,
}

impl Catalogue {
    /// Reads a `messages.json`.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        let entries: HashMap<String, Entry> = serde_json::from_str(json)?;
        let messages = entries
            .into_iter()
            .map(|(name, entry)| (name.to_ascii_lowercase(), named(&entry.message, &entry.placeholders)))
            .collect();
        Ok(Self { messages })
    }

    /// The message `name` with `$1`.. replaced by `substitutions`, as `chrome.i18n.getMessage`
    /// gives it; `None` if the catalogue lacks it.
    pub fn get(&self, name: &str, substitutions: &[&str]) -> Option<String> {
        self.messages.get(&name.to_ascii_lowercase()).map(|m| numbered(m, substitutions))
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// `$name$` replaced by its placeholder's content; an unknown name is left as written.
fn named(message: &str, placeholders: &HashMap<String, Placeholder>) -> String {
    let lower: HashMap<String, &str> =
        placeholders.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.content.as_str())).collect();
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name_end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@'));
        match name_end.filter(|&end| end > 0 && after[end..].starts_with('$')) {
            Some(end) => match lower.get(&after[..end].to_ascii_lowercase()) {
                Some(content) => {
                    out.push_str(content);
                    rest = &after[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            },
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `$1`..`$9` replaced by `substitutions`, `$$` by `$`, as Chrome's `getMessage` does.
fn numbered(message: &str, substitutions: &[&str]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('$') => {
                out.push('$');
                while chars.next_if_eq(&'$').is_some() {
                    out.push('$');
                }
            }
            Some(d @ '1'..='9') => {
                if let Some(text) = substitutions.get(d as usize - '1' as usize) {
                    out.push_str(text);
                }
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_chosen_overrides_chromes_only_when_it_differs() {
        assert_eq!(language("ja-JP"), Some("ja"));
        assert_eq!(language("EN_us"), Some("en"));
        assert_eq!(language("fr"), None);
        assert_eq!(override_for(Some("ja"), "en-US"), Some("ja"));
        assert_eq!(override_for(Some("ja"), "ja"), None, "Chrome already speaks it");
        assert_eq!(override_for(Some("en"), "ja"), Some("en"));
        assert_eq!(override_for(Some("en"), "fr"), None, "Chrome falls back to English itself");
        assert_eq!(override_for(Some("ja"), "fr"), Some("ja"));
        assert_eq!(override_for(None, "ja"), None);
        assert_eq!(override_for(Some("auto"), "ja"), None);
    }

    #[test]
    fn messages_read_as_chrome_reads_them() {
        let catalogue = Catalogue::parse(
            r##"{
              "Chat_With": {"message": "Chat with $ARG$", "placeholders": {"arg": {"content": "$1", "example": "Sato"}}},
              "two": {"message": "$WHO$ — $N$ ($2 of $1)", "placeholders": {"Who": {"content": "$2"}, "n": {"content": "#$1"}}},
              "money": {"message": "$$5 and $$$ and $x. $"},
              "plain": {"message": "そのまま", "description": "no placeholders"}
            }"##,
        )
        .unwrap();
        assert_eq!(catalogue.len(), 4);
        assert_eq!(catalogue.get("chat_with", &["佐藤"]).as_deref(), Some("Chat with 佐藤"));
        assert_eq!(catalogue.get("CHAT_WITH", &[]).as_deref(), Some("Chat with "), "a missing substitution is empty");
        assert_eq!(catalogue.get("two", &["a", "b"]).as_deref(), Some("b — #a (b of a)"));
        assert_eq!(catalogue.get("money", &[]).as_deref(), Some("$5 and $$ and . "));
        assert_eq!(catalogue.get("plain", &["ignored"]).as_deref(), Some("そのまま"));
        assert_eq!(catalogue.get("absent", &[]), None);
        assert!(Catalogue::parse("[1]").is_err());
    }
}
