//! Folding text for search and for ordering names: one form for what a person would call the
//! same letters. Case (`Sato`, `SATO`), full-width ASCII (`ＳＡＴＯ`, as Japanese keyboards often
//! type it), the ideographic space, half-width katakana (`ｻﾄｳ`, with its separate voicing marks
//! `ｶﾞ`) and katakana against hiragana (`サトウ`, `さとう`) all fold alike. Kanji are left as
//! they are. One pass over the characters, no tables beyond half-width katakana.

/// The folded form of `s`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            // Voicing marks: half-width (ﾞﾟ) and combining (decomposed input).
            '\u{FF9E}' | '\u{3099}' | '\u{FF9F}' | '\u{309A}' => {
                let semi = matches!(c, '\u{FF9F}' | '\u{309A}');
                match out.chars().next_back().and_then(|prev| voiced(prev, semi)) {
                    Some(v) => {
                        out.pop();
                        out.push(v);
                    }
                    None => out.push(if semi { '\u{309C}' } else { '\u{309B}' }),
                }
            }
            _ => out.extend(char::to_lowercase(kana(width(c)))),
        }
    }
    out
}

/// Whether every whitespace-separated word of `query` (folded) is in `folded`.
pub fn contains_words(folded: &str, query_folded: &str) -> bool {
    query_folded.split_whitespace().all(|word| folded.contains(word))
}

/// Half-width katakana U+FF66..=U+FF9D, in order, as full-width katakana.
const HALF_KANA: &str =
    "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

/// Full-width ASCII and punctuation to their usual forms, half-width katakana to full width.
fn width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{FF61}' => '。',
        '\u{FF62}' => '「',
        '\u{FF63}' => '」',
        '\u{FF64}' => '、',
        '\u{FF65}' => '・',
        '\u{FF66}'..='\u{FF9D}' => HALF_KANA.chars().nth((c as u32 - 0xFF66) as usize).unwrap_or(c),
        _ => c,
    }
}

/// Katakana to hiragana (ァ..ヶ; the long-vowel mark ー stays).
fn kana(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

/// The hiragana `c` with a voicing mark (゛, or ゜ when `semi`), if it takes one.
fn voiced(c: char, semi: bool) -> Option<char> {
    let code = c as u32;
    let next = |n| char::from_u32(code + n);
    match c {
        'は' | 'ひ' | 'ふ' | 'へ' | 'ほ' => next(if semi { 2 } else { 1 }),
        _ if semi => None,
        'う' => Some('ゔ'),
        'か' | 'き' | 'く' | 'け' | 'こ' | 'さ' | 'し' | 'す' | 'せ' | 'そ' | 'た' | 'ち' | 'つ' | 'て' | 'と' => {
            next(1)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_width_and_kana_fold_alike() {
        assert_eq!(fold("Sato Aiko"), "sato aiko");
        assert_eq!(fold("ＳＡＴＯ　Ａｉｋｏ"), "sato aiko");
        assert_eq!(fold("サトウ"), "さとう");
        assert_eq!(fold("ｻﾄｳ"), "さとう");
        assert_eq!(fold("ｶﾞｯｺｳ ﾊﾟﾝ ﾊﾞｽ ｳﾞ"), "がっこう ぱん ばす ゔ");
        // Decomposed voicing (as some systems write names) composes the same way.
        assert_eq!(fold("カ\u{3099}ハ\u{309A}"), "がぱ");
        // A mark with nothing to voice stays, spaced.
        assert_eq!(fold("ｱﾞ"), "あ\u{309B}");
        assert_eq!(fold("ﾟ"), "\u{309C}");
        assert_eq!(fold("ﾁｰﾑ｡"), "ちーむ。");
        assert_eq!(fold("佐藤 愛子"), "佐藤 愛子");
        assert_eq!(fold("İstanbul").chars().count(), "i̇stanbul".chars().count());
    }

    #[test]
    fn the_half_width_table_covers_its_block() {
        assert_eq!(HALF_KANA.chars().count(), 0xFF9D - 0xFF66 + 1);
        assert_eq!(width('\u{FF66}'), 'ヲ');
        assert_eq!(width('\u{FF71}'), 'ア');
        assert_eq!(width('\u{FF9D}'), 'ン');
    }

    #[test]
    fn every_word_must_match() {
        let hay = fold("佐藤 愛子 sato@example.com");
        assert!(contains_words(&hay, &fold("ＳＡＴＯ　愛子")));
        assert!(!contains_words(&hay, &fold("sato 花子")));
        assert!(contains_words(&hay, ""));
    }
}
