//! What the extension's worker decodes from the page and from its own pages: the hook's
//! `HookEvent`s (from the CCP page, which is hostile), and the `TabToWorker` and
//! `PanelToWorker` messages of its ports, decoded as `worker/src/runtime.rs` does (the message's
//! JSON text through `serde_json::from_str`; `core.rs` then calls `HookEvent::validate`).
//!
//! What it proves, for any text: decoding never panics, nor does `validate`; whatever decodes
//! re-encodes and decodes back to the same value, both as text with the tag first (serde's
//! order) and through a `serde_json::Value`, whose sorted keys put the tag later and so take the
//! `tagged_enum!` decoder's other path.

#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use protocol::hook::HookEvent;
use protocol::panel::PanelToWorker;
use protocol::tab::TabToWorker;
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(event) = decoded::<HookEvent>(text) {
        let _ = event.validate();
    }
    if let Some(TabToWorker::Hook { event }) = decoded::<TabToWorker>(text) {
        let _ = event.validate();
    }
    decoded::<PanelToWorker>(text);
});

/// `text` decoded as `T`, after checking both round trips.
fn decoded<T: Serialize + DeserializeOwned + PartialEq + Debug>(text: &str) -> Option<T> {
    let value: T = serde_json::from_str(text).ok()?;
    let again = serde_json::to_string(&value).expect("a decoded message encodes");
    let back: T = serde_json::from_str(&again).unwrap_or_else(|e| panic!("re-encoded message refused: {e}\n{again}"));
    assert_eq!(back, value, "round trip through {again}");
    let tree = serde_json::to_value(&value).expect("a decoded message encodes as a value");
    let sorted = tree.to_string();
    let back: T = serde_json::from_value(tree).unwrap_or_else(|e| panic!("value refused: {e}\n{sorted}"));
    assert_eq!(back, value, "round trip through a value");
    let back: T = serde_json::from_str(&sorted).unwrap_or_else(|e| panic!("sorted text refused: {e}\n{sorted}"));
    assert_eq!(back, value, "round trip through {sorted}");
    Some(value)
}
