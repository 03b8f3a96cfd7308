//! Pure helpers the views use: time in state, the age of Connect's data, state colours, search,
//! the Enter key, the composer's length limit, day separators, bidi controls in user text and the
//! tab keys.

use std::borrow::Cow;

use protocol::{Millis, Presence, StateKind};

/// `m:ss` under an hour, `h:mm:ss` after.
pub fn elapsed(since: Millis, now: Millis) -> String {
    let s = (now - since).max(0) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// How old data read at some moment is, as a row from Connect says it ("as of 2 min ago"):
/// whole seconds under a minute, then whole minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    Seconds(u64),
    Minutes(u64),
}

/// The age at `now` of what was read at `read_at` (never negative: clocks differ).
pub fn age(read_at: Millis, now: Millis) -> Age {
    let s = ((now - read_at).max(0) / 1000) as u64;
    if s < 60 { Age::Seconds(s) } else { Age::Minutes(s / 60) }
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
        StateKind::Unknown => "unknown",
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

/// How the composer stands against the relay's limit (`max_text_chars`, counted in characters:
/// Unicode scalar values, as the relay counts them with `str::chars`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    /// Characters of the text as it would be sent (trailing whitespace trimmed).
    pub chars: usize,
    pub max: usize,
    /// Show the counter (from 80% of the limit).
    pub near: bool,
    /// Over the limit: the text may not be sent.
    pub over: bool,
}

/// The draft's length against `max` characters (`None`: no limit known yet, nothing shown).
pub fn length(draft: &str, max: Option<u32>) -> Length {
    let chars = draft.trim_end().chars().count();
    match max {
        Some(max) => {
            let max = max as usize;
            Length { chars, max, near: chars * 5 >= max * 4, over: chars > max }
        }
        None => Length { chars, max: 0, near: false, over: false },
    }
}

/// `1850` as `1,850` (the grouping both English and Japanese use).
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A calendar day in the agent's time zone: (year, month 1-12, day 1-31).
pub type Day = (i32, u32, u32);

/// What a message in a conversation carries about its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayMark {
    /// A day separator goes before it: it is the first message, or the first of a new day.
    pub separator: bool,
    /// Its tooltip names the full date: it is not from today.
    pub dated: bool,
}

/// Day separators and dated tooltips for messages in display order, whose local days are `days`.
pub fn day_marks(days: &[Day], today: Day) -> Vec<DayMark> {
    days.iter()
        .enumerate()
        .map(|(i, day)| DayMark { separator: i == 0 || days[i - 1] != *day, dated: *day != today })
        .collect()
}

/// Whole seconds until `retry_at` (rounded up; 0 once it is due).
pub fn retry_in_s(retry_at: Millis, now: Millis) -> u64 {
    ((retry_at - now).max(0) as u64).div_ceil(1000)
}

/// Bidi formatting controls that can reorder the text around them: embeddings and overrides
/// (U+202A-U+202E) and isolates (U+2066-U+2069).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A name (display name, state name, queue or caller-ID name) without bidi controls or marks
/// (those above and U+200E, U+200F, U+061C): `Mansour \u{202E}kcatta` cannot show as "Mansour
/// attack". Names are also shown isolated (`dir="auto"`), so nothing leaks into the text around.
pub fn clean_name(name: &str) -> Cow<'_, str> {
    let strip = |c: char| is_bidi_control(c) || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}');
    if name.chars().any(strip) {
        Cow::Owned(name.chars().filter(|&c| !strip(c)).collect())
    } else {
        Cow::Borrowed(name)
    }
}

/// Message text with every bidi control made visible (`\u{202E}` becomes `⟦U+202E⟧`) instead of
/// acting: `請求書 \u{202E}fdp.exe` shows as `請求書 ⟦U+202E⟧fdp.exe`, not as `exe.pdf`. The
/// marks U+200E/U+200F/U+061C stay: they only nudge neutral characters, as right-to-left
/// writers use them.
pub fn reveal_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_bidi_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_bidi_control(c) {
            out.push_str(&format!("⟦U+{:04X}⟧", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Cleans the names in a presence as it arrives from the worker (display and state name).
pub fn clean_presence(presence: &mut Presence) {
    if let Cow::Owned(name) = clean_name(&presence.display_name) {
        presence.display_name = name;
    }
    if let Cow::Owned(name) = clean_name(&presence.state.name) {
        presence.state.name = name;
    }
}

/// A threshold as the options page shows it: minutes, with at most two decimals (`15`, `0.05`).
pub fn minutes_text(minutes: protocol::Minutes) -> String {
    let hundredths = (minutes.millis() as f64 / 600.0).round() as u64;
    match hundredths % 100 {
        0 => (hundredths / 100).to_string(),
        r if r % 10 == 0 => format!("{}.{}", hundredths / 100, r / 10),
        r => format!("{}.{r:02}", hundredths / 100),
    }
}

/// A threshold typed on the options page that is not a number of minutes, 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotMinutes;

/// A threshold typed on the options page: empty is not set (`Ok(None)`), a number of minutes
/// ≥ 0 is one (full-width digits and a decimal comma accepted), anything else is refused.
pub fn parse_minutes(text: &str) -> Result<Option<protocol::Minutes>, NotMinutes> {
    let text: String = fold(text.trim()).replace(',', ".");
    if text.is_empty() {
        return Ok(None);
    }
    let value: f64 = text.parse().map_err(|_| NotMinutes)?;
    if !(value >= 0.0 && value.is_finite()) {
        return Err(NotMinutes);
    }
    Ok(Some(protocol::Minutes::from_millis((value * 60_000.0).round() as u64)))
}

/// The tab a key moves to in a tab list of `count` tabs (WAI-ARIA tabs: arrows wrap, Home and End
/// go to the ends); `None` for any other key.
pub fn tab_key(key: &str, current: usize, count: usize) -> Option<usize> {
    if count == 0 {
        return None;
    }
    match key {
        "ArrowRight" => Some((current + 1) % count),
        "ArrowLeft" => Some((current + count - 1) % count),
        "Home" => Some(0),
        "End" => Some(count - 1),
        _ => None,
    }
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
            source: protocol::Source::Extension,
            ccp_closed: false,
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
        // Connect's data too old to say: its own class, after the states known, never available.
        let unknown = presence("C", "Unknown", StateKind::Unknown, true);
        assert_eq!(state_class(&unknown), "unknown");
        assert_eq!(roster_order(&acw, &unknown), std::cmp::Ordering::Less);
    }

    #[test]
    fn the_age_of_connects_data_is_seconds_then_minutes() {
        assert_eq!(age(10_000, 10_500), Age::Seconds(0));
        assert_eq!(age(0, 59_999), Age::Seconds(59));
        assert_eq!(age(0, 60_000), Age::Minutes(1));
        assert_eq!(age(0, 150_000), Age::Minutes(2));
        assert_eq!(age(5_000, 0), Age::Seconds(0), "a clock behind the relay's");
    }
    #[test]
    fn length_counts_characters_and_shows_from_80_percent() {
        // 1,600 Japanese characters are 4,800 bytes and 1,600 characters, as the relay counts.
        let ja = "あ".repeat(1_600);
        assert_eq!(length(&ja, Some(2_000)), Length { chars: 1_600, max: 2_000, near: true, over: false });
        assert!(!length(&"a".repeat(1_599), Some(2_000)).near);
        // A character outside the BMP is one character (two UTF-16 units in JavaScript).
        assert!(!length(&"😀".repeat(2_000), Some(2_000)).over);
        assert!(length(&"😀".repeat(2_001), Some(2_000)).over);
        // Trailing whitespace is not sent, so it does not count.
        assert!(!length(&format!("{}   \n", "a".repeat(2_000)), Some(2_000)).over);
        assert_eq!(length("abc", None), Length { chars: 3, max: 0, near: false, over: false });
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(
            (grouped(0), grouped(999), grouped(1_850), grouped(2_000_000)),
            ("0".into(), "999".into(), "1,850".into(), "2,000,000".into())
        );
    }

    #[test]
    fn a_separator_starts_each_day_and_old_messages_are_dated() {
        let (d1, d2, today) = ((2023, 8, 3), (2023, 8, 4), (2023, 8, 5));
        let marks = day_marks(&[d1, d1, d2, today, today], today);
        let sep: Vec<bool> = marks.iter().map(|m| m.separator).collect();
        let dated: Vec<bool> = marks.iter().map(|m| m.dated).collect();
        assert_eq!(sep, [true, false, true, true, false]);
        assert_eq!(dated, [true, true, true, false, false]);
        // The same day of another month or year is another day.
        assert!(day_marks(&[(2023, 7, 4), (2023, 8, 4), (2024, 8, 4)], today).iter().all(|m| m.separator));
        assert!(day_marks(&[], today).is_empty());
    }

    #[test]
    fn retry_countdown_rounds_up_to_seconds() {
        assert_eq!(retry_in_s(12_000, 0), 12);
        assert_eq!(retry_in_s(11_001, 0), 12);
        assert_eq!(retry_in_s(5_000, 6_000), 0);
    }

    #[test]
    fn names_lose_bidi_controls_and_text_shows_them() {
        assert_eq!(clean_name("Mansour \u{202E}kcatta"), "Mansour kcatta");
        assert_eq!(clean_name("\u{2066}a\u{2069}\u{200F}b\u{061C}\u{200E}\u{202A}"), "ab");
        assert!(matches!(clean_name("佐藤 愛子"), Cow::Borrowed(_)));
        assert_eq!(reveal_controls("請求書 \u{202E}fdp.exe"), "請求書 ⟦U+202E⟧fdp.exe");
        assert_eq!(reveal_controls("\u{2067}x\u{2069}"), "⟦U+2067⟧x⟦U+2069⟧");
        // Marks stay in text: they cannot reorder a run, and right-to-left writers need them.
        assert_eq!(reveal_controls("a\u{200F}b"), "a\u{200F}b");
        let mut p = presence("Mansour \u{202E}kcatta", "\u{202E}kaerB", StateKind::NotRoutable, true);
        clean_presence(&mut p);
        assert_eq!((p.display_name.as_str(), p.state.name.as_str()), ("Mansour kcatta", "kaerB"));
    }

    #[test]
    fn thresholds_are_typed_and_shown_in_minutes() {
        use protocol::Minutes;
        assert_eq!(parse_minutes(""), Ok(None));
        assert_eq!(parse_minutes(" 15 "), Ok(Some(Minutes::whole(15))));
        assert_eq!(parse_minutes("0.05"), Ok(Some(Minutes::from_millis(3_000))));
        assert_eq!(parse_minutes("１，５"), Ok(Some(Minutes::from_millis(90_000))), "full width, decimal comma");
        assert_eq!(parse_minutes("0"), Ok(Some(Minutes::whole(0))));
        assert_eq!(parse_minutes("-1"), Err(NotMinutes));
        assert_eq!(parse_minutes("five"), Err(NotMinutes));
        assert_eq!(parse_minutes("inf"), Err(NotMinutes));
        for (minutes, text) in
            [(Minutes::whole(15), "15"), (Minutes::from_millis(3_000), "0.05"), (Minutes::from_millis(90_000), "1.5")]
        {
            assert_eq!(minutes_text(minutes), text);
            assert_eq!(parse_minutes(text), Ok(Some(minutes)));
        }
    }

    #[test]
    fn tab_keys_follow_the_wai_aria_tabs_pattern() {
        assert_eq!(tab_key("ArrowRight", 0, 3), Some(1));
        assert_eq!(tab_key("ArrowRight", 2, 3), Some(0));
        assert_eq!(tab_key("ArrowLeft", 0, 3), Some(2));
        assert_eq!(tab_key("Home", 2, 3), Some(0));
        assert_eq!(tab_key("End", 0, 3), Some(2));
        assert_eq!(tab_key("Enter", 0, 3), None);
        assert_eq!(tab_key("End", 0, 0), None);
    }
}
