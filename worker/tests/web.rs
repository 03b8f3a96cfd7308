//! The worker's logic inside a real service worker (headless Chromium, wasm-bindgen-test).
#![cfg(target_arch = "wasm32")]

use protocol::panel::{OutboxEntry, PanelToWorker};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use worker::auth;
use worker::core::Core;
use worker::storage::Stored;

wasm_bindgen_test_configure!(run_in_service_worker);

#[wasm_bindgen_test]
async fn pkce_challenge_from_webcrypto_is_the_rfc_value() {
    let challenge = worker::signin::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").await;
    assert_eq!(challenge.as_deref(), Ok("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    assert_eq!(auth::random_token(&[0xfb, 0xff]), "-_8");
}

#[wasm_bindgen_test]
fn the_outbox_keeps_a_message_until_acknowledged() {
    let kept =
        OutboxEntry { to: "b@x".into(), text: "前のメッセージ".into(), client_id: "c0".into(), queued_at: 1 };
    let (mut core, _) = Core::start(Stored { outbox: vec![kept], ..Stored::default() }, 1);
    core.on_panel(1, PanelToWorker::SendChat { to: "b@x".into(), text: "次".into(), client_id: "c1".into() }, 2);
    let ids: Vec<_> = core.outbox().iter().map(|e| e.client_id.as_str()).collect();
    assert_eq!(ids, ["c0", "c1"]);
}
