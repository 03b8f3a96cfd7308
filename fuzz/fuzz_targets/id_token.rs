//! The ID token of `hello`, `reauth` and every REST request's bearer header, as
//! `server::auth::Verifier::verify` reads it: the length check, the JOSE header
//! (`jsonwebtoken::decode_header`), the unverified `iss` claim that picks the issuer's keys, the
//! key id, then the signature and the claims. The issuer is the in-process development issuer
//! (`KeySource::Local`), so nothing touches the network.
//!
//! What it proves: for any token text, any header and claims JSON with a made-up signature, and
//! any claims JSON correctly signed by the issuer, verification never panics and never waits;
//! a token is accepted only when its signature is the issuer's, and then its identity is the
//! token's own `email` claim (non-empty, at most 320 bytes) and its issuer and audience are the
//! configured ones.
//!
//! Input: byte 0 chooses the shape. 0: the rest is the token text. 1: the rest is header JSON,
//! NUL, claims JSON, NUL, signature bytes, each base64url-encoded into a token. 2: the rest is
//! claims JSON, signed by the issuer.

#![no_main]

use std::future::Future;
use std::sync::{Arc, Once, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use server::auth::dev_issuer::{DEV_AUDIENCE, TokenRequest};
use server::auth::{AuthError, ClaimNames, DevIssuer, Identity, Issuer, KeySource, Verifier};
use server::metrics::Metrics;

const ISSUER: &str = "http://127.0.0.1:8787/dev/oidc";

fn dev() -> &'static Arc<DevIssuer> {
    static DEV: OnceLock<Arc<DevIssuer>> = OnceLock::new();
    DEV.get_or_init(|| Arc::new(DevIssuer::new(ISSUER)))
}

/// A fresh verifier for each input, so that its cache of verified tokens carries nothing over.
fn verify(token: &str) -> Result<Identity, AuthError> {
    let issuer = Issuer::new(
        ISSUER.into(),
        vec![DEV_AUDIENCE.into()],
        KeySource::Local(Arc::clone(dev())),
        Duration::from_secs(60),
    );
    let claims = ClaimNames {
        identity: "email".into(),
        name: "name".into(),
        groups: "groups".into(),
        supervisor_group: "supervisors".into(),
    };
    let verifier = Verifier::new(vec![issuer], claims);
    let metrics = Metrics::default();
    let mut future = std::pin::pin!(verifier.verify(token, &metrics));
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("verification with a local issuer waited"),
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fuzz_target!(|data: &[u8]| {
    static WORKS: Once = Once::new();
    WORKS.call_once(|| {
        // The harness itself: a token the issuer mints is accepted, so the checks below run.
        let request =
            TokenRequest { email: "aiko@example.com".into(), name: None, groups: Vec::new(), ttl_s: None, nonce: None };
        let minted = dev().mint(&request);
        assert_eq!(verify(&minted.id_token).map(|i| i.principal).as_deref(), Ok("aiko@example.com"));
    });
    let [shape, rest @ ..] = data else { return };
    match shape % 3 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            // Only the issuer's key can have signed an accepted token, and it signs nothing
            // the fuzzer can see.
            if let Ok(identity) = verify(token) {
                panic!("a token not signed by the issuer was accepted: {identity:?}");
            }
        }
        1 => {
            let mut parts = rest.splitn(3, |b| *b == 0);
            let (header, claims, signature) =
                (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            let token = format!("{}.{}.{}", b64(header), b64(claims), b64(signature));
            if let Ok(identity) = verify(&token) {
                panic!("a token with a made-up signature was accepted: {identity:?}");
            }
        }
        _ => {
            let Ok(claims) = serde_json::from_slice::<Value>(rest) else { return };
            let token = dev().sign(&claims);
            let Ok(identity) = verify(&token) else { return };
            let email = claims.get("email").and_then(Value::as_str);
            assert_eq!(Some(identity.principal.as_str()), email, "the principal is not the token's claim");
            assert!(!identity.principal.is_empty() && identity.principal.len() <= 320);
            assert_eq!(claims.get("iss").and_then(Value::as_str), Some(ISSUER), "another issuer was accepted");
            let aud = claims.get("aud");
            let audience_ok = match aud {
                Some(Value::String(a)) => a == DEV_AUDIENCE,
                Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(DEV_AUDIENCE)),
                _ => false,
            };
            assert!(audience_ok, "another audience was accepted: {aud:?}");
        }
    }
});
