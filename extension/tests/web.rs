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
