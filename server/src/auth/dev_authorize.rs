//! The development issuer's authorization-code flow with PKCE, as the extension runs it through
//! `chrome.identity.launchWebAuthFlow`: `/authorize` signs in the `login_hint` user at once (or
//! shows a one-field form), and `/token` exchanges the code once, for the verifier that matches
//! its S256 challenge. Development only, like the rest of the dev issuer.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::{ErrorCode, Millis};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::dev_issuer::{DEV_AUDIENCE, DevIssuer, TokenRequest};

/// How long a code may wait for its exchange.
const CODE_TTL_MS: Millis = 60_000;

#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    nonce: Option<String>,
    code_challenge: String,
    code_challenge_method: String,
    #[serde(default)]
    login_hint: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CodeExchange {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    code_verifier: String,
}

/// Codes handed out and not yet exchanged.
#[derive(Default)]
pub struct Codes(Mutex<HashMap<String, Pending>>);

struct Pending {
    email: String,
    challenge: String,
    redirect_uri: String,
    nonce: Option<String>,
    expires_at: Millis,
}

/// Redirect URIs a development sign-in may return to: an extension's
/// `https://<id>.chromiumapp.org/...`, or a loopback address.
fn redirect_allowed(uri: &str) -> bool {
    if let Some(rest) = uri.strip_prefix("https://")
        && let Some((host, _)) = rest.split_once('/')
        && let Some(id) = host.strip_suffix(".chromiumapp.org")
    {
        return id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b));
    }
    uri.starts_with("http://127.0.0.1:") || uri.starts_with("http://localhost:")
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(protocol::ErrorBody::new(ErrorCode::Invalid, message))).into_response()
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{uri}{}{query}", if uri.contains('?') { '&' } else { '?' })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub async fn authorize(
    State((dev, codes)): State<(std::sync::Arc<DevIssuer>, std::sync::Arc<Codes>)>,
    query: Result<Query<AuthorizeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return bad_request(
            "an authorization request needs response_type, client_id, redirect_uri, code_challenge and code_challenge_method",
        );
    };
    if !redirect_allowed(&q.redirect_uri) {
        return bad_request("redirect_uri must be an extension's chromiumapp.org address or a loopback address");
    }
    if q.response_type != "code" || q.code_challenge_method != "S256" || q.code_challenge.len() < 43 {
        return Redirect::to(&with_query(&q.redirect_uri, &[("error", "invalid_request"), ("state", &q.state)]))
            .into_response();
    }
    if q.client_id != DEV_AUDIENCE {
        return Redirect::to(&with_query(&q.redirect_uri, &[("error", "unauthorized_client"), ("state", &q.state)]))
            .into_response();
    }
    let email = q.login_hint.clone().filter(|h| !h.is_empty() && h.len() <= 320);
    let Some(email) = email else {
        if q.prompt.as_deref() == Some("none") {
            return Redirect::to(&with_query(&q.redirect_uri, &[("error", "login_required"), ("state", &q.state)]))
                .into_response();
        }
        // A person signing in by hand: one field, sent back here as the login hint.
        let hidden: String = [
            ("response_type", q.response_type.as_str()),
            ("client_id", &q.client_id),
            ("redirect_uri", &q.redirect_uri),
            ("state", &q.state),
            ("nonce", q.nonce.as_deref().unwrap_or_default()),
            ("code_challenge", &q.code_challenge),
            ("code_challenge_method", &q.code_challenge_method),
        ]
        .iter()
        .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape_html(v)))
        .collect();
        return Html(format!(
            r#"<!doctype html><meta charset="utf-8"><title>CCP Sidecar development sign-in</title>
<form method="get" style="font:14px sans-serif;max-width:360px;margin:40px auto;display:grid;gap:8px">
<h1 style="font-size:18px">Development sign-in</h1><p>This issuer signs in anyone; it is for demos only.</p>
<label for="u">E-mail</label><input id="u" name="login_hint" type="email" required autofocus>{hidden}
<button type="submit">Sign in</button></form>"#
        ))
        .into_response();
    };
    let code = {
        let mut bytes = [0u8; 24];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let now = crate::clock::now_ms();
    if let Ok(mut pending) = codes.0.lock() {
        pending.retain(|_, p| p.expires_at > now);
        pending.insert(
            code.clone(),
            Pending {
                email,
                challenge: q.code_challenge,
                redirect_uri: q.redirect_uri.clone(),
                nonce: q.nonce,
                expires_at: now + CODE_TTL_MS,
            },
        );
    }
    let _ = dev;
    Redirect::to(&with_query(&q.redirect_uri, &[("code", &code), ("state", &q.state)])).into_response()
}

/// The code exchange: one use per code, the verifier must hash to the challenge.
pub fn exchange(dev: &DevIssuer, codes: &Codes, form: CodeExchange) -> Result<serde_json::Value, &'static str> {
    if form.grant_type != "authorization_code" {
        return Err("unsupported_grant_type");
    }
    let pending = codes.0.lock().ok().and_then(|mut p| p.remove(&form.code)).ok_or("invalid_grant")?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(form.code_verifier.as_bytes()));
    if pending.expires_at < crate::clock::now_ms()
        || pending.challenge != challenge
        || pending.redirect_uri != form.redirect_uri
        || form.client_id != DEV_AUDIENCE
    {
        return Err("invalid_grant");
    }
    let groups = dev.groups_of(&pending.email);
    let request = TokenRequest { email: pending.email, name: None, groups, ttl_s: None, nonce: pending.nonce };
    let token = dev.mint(&request);
    let expires_in = (token.expires_at - crate::clock::now_ms()) / 1000;
    Ok(json!({ "id_token": token.id_token, "token_type": "Bearer", "expires_in": expires_in }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_extension_and_loopback_redirects_are_allowed() {
        assert!(redirect_allowed("https://goibjmhfiabeppgigcbjfjgoghionflh.chromiumapp.org/oidc"));
        assert!(redirect_allowed("http://127.0.0.1:9999/cb"));
        assert!(!redirect_allowed("https://evil.example.com/oidc"));
        assert!(!redirect_allowed("https://goibjmhfiabeppgigcbjfjgoghionflh.chromiumapp.org.evil.com/oidc"));
        assert!(!redirect_allowed("https://short.chromiumapp.org/oidc"));
    }

    #[test]
    fn a_code_is_exchanged_once_and_only_with_its_verifier() {
        let dev = DevIssuer::new("http://127.0.0.1:1/dev/oidc");
        let codes = Codes::default();
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let add = |code: &str| {
            codes.0.lock().unwrap().insert(
                code.into(),
                Pending {
                    email: "a@example.com".into(),
                    challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
                    redirect_uri: "http://127.0.0.1:1/cb".into(),
                    nonce: Some("n1".into()),
                    expires_at: crate::clock::now_ms() + 10_000,
                },
            )
        };
        let form = |code: &str, verifier: &str| CodeExchange {
            grant_type: "authorization_code".into(),
            code: code.into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            client_id: DEV_AUDIENCE.into(),
            code_verifier: verifier.into(),
        };
        add("c1");
        assert_eq!(exchange(&dev, &codes, form("c1", "wrong-verifier")), Err("invalid_grant"));
        add("c2");
        let token = exchange(&dev, &codes, form("c2", verifier)).unwrap();
        assert!(token["id_token"].as_str().unwrap().split('.').count() == 3);
        assert_eq!(exchange(&dev, &codes, form("c2", verifier)), Err("invalid_grant"), "a code is single-use");
        assert_eq!(claims(&token)["groups"], json!([]), "nobody is a supervisor unless named");

        // A user named a supervisor (case ignored) is signed in with the supervisor group.
        let dev = DevIssuer::new("http://127.0.0.1:1/dev/oidc").with_supervisors(&[" A@Example.com".into()], "floor");
        add("c3");
        assert_eq!(claims(&exchange(&dev, &codes, form("c3", verifier)).unwrap())["groups"], json!(["floor"]));
        assert!(dev.groups_of("b@example.com").is_empty());
    }

    /// The claims of the ID token in a token response.
    fn claims(response: &serde_json::Value) -> serde_json::Value {
        let token = response["id_token"].as_str().unwrap();
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }
}
