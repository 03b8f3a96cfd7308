//! Pure helpers the views use: time in state, state colours, search, the Enter key.

use protocol::{Millis, Presence, StateKind};

/// `m:ss` under an hour, `h:mm:ss` after.
pub fn elapsed(since: Millis, now: Millis) -> String {
    let s = (now - since).max(0) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// The CSS class of a state's dot and pill.
pub fn state_class(presence: &Presence) -> &'static str {
    if !presence.online {
        return "offline";
    }
    match presence.state.kind {
        StateKind::Routable => "routable",
        StateKind::NotRoutable => "not-routable",
        StateKind::Offline => "offline",
        StateKind::System if presence.state.name == "AfterCallWork" => "acw",
        StateKind::System => "busy",
        StateKind::Error => "error",
    }
}

/// Whether a colleague matches the search box: any word of the query in the name, username,
/// principal or state, ignoring case and full-width/half-width differences.
pub fn matches(presence: &Presence, query: &str) -> bool {
    let hay = fold(&format!(
        "{} {} {} {}",
        presence.display_name,
        presence.username.as_deref().unwrap_or_default(),
        presence.principal,
        presence.state.name
    ));
    fold(query).split_whitespace().all(|word| hay.contains(word))
}

fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            // Full-width ASCII (ＡＢＣ１２３) to ASCII, as Japanese keyboards often type it.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// What Enter does in the message box.
#[derive(Debug, PartialEq, Eq)]
pub enum EnterKey {
    Send,
    /// Let the browser insert a newline or finish an IME conversion.
    Default,
}

/// Enter sends; Shift+Enter is a newline; an Enter that confirms an IME conversion
/// (`isComposing`, or key code 229 in browsers that report that instead) does neither.
pub fn enter_key(key: &str, shift: bool, composing: bool, key_code: u32) -> EnterKey {
    if key == "Enter" && !shift && !composing && key_code != 229 { EnterKey::Send } else { EnterKey::Default }
}

/// Whether a typed number could be dialled: an optional `+` and 6 to 15 digits once spaces,
/// hyphens, dots and brackets are gone. (The relay normalises numbers to E.164 with the
/// caller-ID issue; this only stops obvious typos before the CCP sees them.)
pub fn plausible_phone(typed: &str) -> bool {
    let kept: String = typed.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}')).collect();
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    (6..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit())
}

/// Orders colleagues: online first, then available, then by name.
pub fn roster_order(a: &Presence, b: &Presence) -> std::cmp::Ordering {
    let rank = |p: &Presence| match (p.online, p.state.kind) {
        (true, StateKind::Routable) => 0,
        (true, StateKind::System) => 1,
        (true, StateKind::NotRoutable) => 2,
        (true, _) => 3,
        (false, _) => 4,
    };
    rank(a).cmp(&rank(b)).then_with(|| a.display_name.cmp(&b.display_name))
}

#[cfg(test)]
mod tests {
    use protocol::AgentState;

    use super::*;

    fn presence(name: &str, state: &str, kind: StateKind, online: bool) -> Presence {
        Presence {
            principal: format!("{name}@example.com"),
            username: Some(name.to_lowercase()),
            display_name: name.into(),
            roster: "*".into(),
            state: AgentState { name: state.into(), kind },
            since: 0,
            contact: None,
            online,
        }
    }

    #[test]
    fn elapsed_formats_minutes_and_hours() {
        assert_eq!(elapsed(0, 59_999), "0:59");
        assert_eq!(elapsed(0, 61_000), "1:01");
        assert_eq!(elapsed(0, 3_723_000), "1:02:03");
        assert_eq!(elapsed(10_000, 0), "0:00");
    }

    #[test]
    fn enter_sends_except_with_shift_or_during_ime_composition() {
        assert_eq!(enter_key("Enter", false, false, 13), EnterKey::Send);
        assert_eq!(enter_key("Enter", true, false, 13), EnterKey::Default);
        assert_eq!(enter_key("Enter", false, true, 13), EnterKey::Default);
        assert_eq!(enter_key("Enter", false, false, 229), EnterKey::Default);
        assert_eq!(enter_key("a", false, false, 65), EnterKey::Default);
    }

    #[test]
    fn search_ignores_case_and_width_and_needs_every_word() {
        let p = presence("Sato", "管理業務中", StateKind::NotRoutable, true);
        assert!(matches(&p, "sato"));
        assert!(matches(&p, "ＳＡＴＯ　管理"));
        assert!(!matches(&p, "sato available"));
        assert!(matches(&p, ""));
    }

    #[test]
    fn phone_numbers_are_checked_before_dialling() {
        assert!(plausible_phone("+81 3-1234-5678"));
        assert!(plausible_phone("03-1234-5678"));
        assert!(!plausible_phone("12345"));
        assert!(!plausible_phone("+81 3 abc"));
        assert!(!plausible_phone("+1234567890123456"));
    }

    #[test]
    fn classes_and_order_follow_state() {
        let a = presence("B", "Available", StateKind::Routable, true);
        let acw = presence("A", "AfterCallWork", StateKind::System, true);
        let off = presence("A", "Available", StateKind::Routable, false);
        assert_eq!((state_class(&a), state_class(&acw), state_class(&off)), ("routable", "acw", "offline"));
        assert_eq!(roster_order(&a, &acw), std::cmp::Ordering::Less);
        assert_eq!(roster_order(&off, &acw), std::cmp::Ordering::Greater);
    }
}
