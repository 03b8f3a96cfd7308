//! The panel's helpers in a real browser page (headless Chromium, wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use extension::format::{EnterKey, elapsed, enter_key, plausible_phone};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn enter_during_composition_does_not_send() {
    assert_eq!(enter_key("Enter", false, true, 229), EnterKey::Default);
    assert_eq!(enter_key("Enter", false, false, 13), EnterKey::Send);
}

#[wasm_bindgen_test]
fn time_and_numbers_format_in_wasm() {
    assert_eq!(elapsed(0, 3_723_000), "1:02:03");
    assert!(plausible_phone("03-1234-5678"));
    assert!(!plausible_phone("０３"));
}

#[wasm_bindgen_test]
fn limits_bidi_and_the_virtual_window_agree_in_wasm() {
    use extension::format::{length, reveal_controls, tab_key};
    use extension::virtual_list::window;
    // Characters as the relay counts them, not JavaScript's UTF-16 length.
    assert!(!length(&"😀".repeat(2_000), Some(2_000)).over);
    assert!(length(&"😀".repeat(2_001), Some(2_000)).over);
    assert_eq!(reveal_controls("請求書 \u{202E}fdp.exe"), "請求書 ⟦U+202E⟧fdp.exe");
    assert_eq!(tab_key("End", 0, 3), Some(2));
    assert_eq!(window(500, 52, 0, 520, 6), 0..17);
}
