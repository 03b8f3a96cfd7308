//! Sign-in: OIDC authorization code with PKCE through `chrome.identity.launchWebAuthFlow`.
//!
//! The URL building and parsing is plain Rust (tested on the host); [`sign_in`] does the browser
//! part: discovery, the auth flow, and the code exchange at the token endpoint.

use protocol::Millis;
use protocol::config::Config;
use serde::{Deserialize, Serialize};

use crate::base64url;

/// An ID token and when it stops being valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id_token: String,
    pub expires_at: Millis,
}

/// The S256 code challenge from the SHA-256 digest of the verifier (the browser's WebCrypto
/// computes the digest).
pub fn challenge(verifier_sha256: &[u8]) -> String {
    base64url::encode(verifier_sha256)
}

/// Random bytes as base64url, for the verifier, state and nonce.
pub fn random_token(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// Everything one sign-in attempt needs to remember.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub verifier: String,
    /// `challenge(sha256(verifier))`.
    pub challenge: String,
    pub state: String,
    pub nonce: String,
    pub redirect_uri: String,
    /// The configured issuer: an answer naming another (`iss`, RFC 9207) is refused.
    pub issuer: String,
}

/// How much the issuer may ask of the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// Nothing: no window is shown (`prompt=none`); start-up and renewal.
    Silent,
    /// A window if the issuer needs one (it may sign in at once with its own session).
    Interactive,
    /// A window that authenticates again whatever session the issuer holds (`prompt=login`):
    /// the first sign-in after a sign-out, so that someone else can sign in at a shared desk.
    Login,
}

impl Prompt {
    pub fn interactive(self) -> bool {
        self != Self::Silent
    }
}

/// The authorization request URL.
pub fn authorize_url(endpoint: &str, config: &Config, attempt: &Attempt, prompt: Prompt) -> String {
    let mut query = vec![
        ("response_type", "code".to_owned()),
        ("client_id", config.client_id.clone()),
        ("redirect_uri", attempt.redirect_uri.clone()),
        ("scope", "openid email profile".to_owned()),
        ("state", attempt.state.clone()),
        ("nonce", attempt.nonce.clone()),
        ("code_challenge", attempt.challenge.clone()),
        ("code_challenge_method", "S256".to_owned()),
    ];
    if let Some(hint) = &config.login_hint {
        query.push(("login_hint", hint.clone()));
    }
    match prompt {
        Prompt::Silent => query.push(("prompt", "none".to_owned())),
        Prompt::Login => query.push(("prompt", "login".to_owned())),
        Prompt::Interactive => {}
    }
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!("{endpoint}{separator}{}", encode_form(&query))
}

/// Milliseconds from `now` until an ID token that expires at `expires_at` should be renewed:
/// five minutes before it expires, or after three quarters of what is left of a shorter one,
/// and never sooner than in five seconds.
pub fn renew_in(now: Millis, expires_at: Millis) -> Millis {
    const BEFORE: Millis = 5 * 60_000;
    const SOONEST: Millis = 5_000;
    let left = expires_at - now;
    let wait = if left > 2 * BEFORE { left - BEFORE } else { left * 3 / 4 };
    wait.max(SOONEST)
}

/// `application/x-www-form-urlencoded`.
pub fn encode_form(pairs: &[(&str, String)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The code from the redirect the issuer sent the browser to, after checking `state` and, when
/// the issuer names itself (`iss`, RFC 9207), that it is the configured one.
pub fn code_from_redirect(redirect: &str, attempt: &Attempt) -> Result<String, String> {
    let query = redirect.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or(q)).unwrap_or_default();
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut issuer = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = decode_component(value);
        match key {
            "code" => code = Some(value),
            "state" => state = Some(value),
            "error" => error = Some(value),
            "iss" => issuer = Some(value),
            _ => {}
        }
    }
    if let Some(error) = error {
        return Err(format!("the sign-in service refused: {error}"));
    }
    if state.as_deref() != Some(attempt.state.as_str()) {
        return Err("the sign-in answer did not match the request (state)".into());
    }
    if issuer.is_some_and(|i| i.trim_end_matches('/') != attempt.issuer.trim_end_matches('/')) {
        return Err("the sign-in answer came from another issuer (iss)".into());
    }
    code.filter(|c| !c.is_empty()).ok_or_else(|| "the sign-in answer had no code".into())
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The claims of an ID token the worker reads (the relay verifies the signature).
#[derive(Debug, Deserialize)]
pub struct Claims {
    pub exp: i64,
    /// The subject: the issuer's stable id for the person (often not the e-mail).
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub nonce: Option<String>,
}

/// Reads an ID token's payload without verifying it: for its expiry and nonce only.
pub fn claims(id_token: &str) -> Result<Claims, String> {
    let payload = id_token.split('.').nth(1).ok_or("the ID token is not a JWT")?;
    let bytes = base64url::decode(payload).ok_or("the ID token is not base64url")?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the ID token's claims: {e}"))
}

/// The key the worker keeps an account's data under in storage (the chat cursors): the token's
/// `sub`, which the issuer keeps stable. It is not the relay's principal (by default the e-mail),
/// which the worker learns only after connecting; the core saves under this key too.
pub fn account_key(id_token: &str) -> String {
    claims(id_token).map(|c| c.sub).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    fn attempt() -> Attempt {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        Attempt {
            verifier: verifier.into(),
            challenge: challenge(&sha2::Sha256::digest(verifier.as_bytes())),
            state: "st".into(),
            nonce: "n".into(),
            redirect_uri: "https://abc.chromiumapp.org/oidc".into(),
            issuer: "http://127.0.0.1:9/".into(),
        }
    }

    #[test]
    fn challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            challenge(&sha2::Sha256::digest(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn authorize_url_carries_pkce_and_encodes_values() {
        let config = Config::merge(&Default::default(), &Default::default());
        let config = Config { login_hint: Some("a+b@example.com".into()), ..config };
        let url = authorize_url("http://i/authorize", &config, &attempt(), Prompt::Silent);
        assert!(url.starts_with("http://i/authorize?response_type=code&"));
        assert!(url.contains("code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"));
        assert!(url.contains("redirect_uri=https%3A%2F%2Fabc.chromiumapp.org%2Foidc"));
        assert!(url.contains("login_hint=a%2Bb%40example.com"));
        assert!(url.contains("scope=openid%20email%20profile&"));
        assert!(url.ends_with("prompt=none"));
    }

    #[test]
    fn the_prompt_follows_what_the_sign_in_may_ask() {
        let config = Config::merge(&Default::default(), &Default::default());
        let prompts = |prompt| {
            let url = authorize_url("https://login.example.com/authorize?tenant=t", &config, &attempt(), prompt);
            assert!(url.starts_with("https://login.example.com/authorize?tenant=t&response_type=code&"), "{url}");
            assert!(!url.contains("login_hint"), "no hint configured: {url}");
            url.split('&').filter(|p| p.starts_with("prompt=")).map(str::to_owned).collect::<Vec<_>>()
        };
        assert_eq!(prompts(Prompt::Silent), ["prompt=none"]);
        assert_eq!(prompts(Prompt::Login), ["prompt=login"], "after a sign-out the issuer authenticates again");
        assert!(prompts(Prompt::Interactive).is_empty());
        assert!(!Prompt::Silent.interactive() && Prompt::Login.interactive() && Prompt::Interactive.interactive());
    }

    #[test]
    fn renewal_comes_before_expiry_for_long_and_short_tokens() {
        let minute = 60_000;
        assert_eq!(renew_in(0, 60 * minute), 55 * minute, "an hour's token: five minutes before");
        assert_eq!(renew_in(0, 10 * minute), 15 * minute / 2, "ten minutes: after three quarters");
        assert_eq!(renew_in(1_000, 21_000), 15_000, "twenty seconds: after fifteen");
        assert_eq!(renew_in(0, 2_000), 5_000, "never sooner than five seconds");
        assert_eq!(renew_in(10_000, 0), 5_000, "already expired: soon, not at once");
    }

    #[test]
    fn redirect_is_checked_for_state_and_errors() {
        let a = attempt();
        assert_eq!(code_from_redirect("https://abc.chromiumapp.org/oidc?code=x%2Fy&state=st", &a), Ok("x/y".into()));
        assert!(
            code_from_redirect("https://abc.chromiumapp.org/oidc?code=x&state=other", &a)
                .unwrap_err()
                .contains("state")
        );
        assert!(
            code_from_redirect("https://abc.chromiumapp.org/oidc?error=login_required&state=st", &a)
                .unwrap_err()
                .contains("login_required")
        );
        assert!(code_from_redirect("https://abc.chromiumapp.org/oidc?state=st", &a).is_err());
        let from =
            |iss: &str| code_from_redirect(&format!("https://abc.chromiumapp.org/oidc?code=c&state=st&iss={iss}"), &a);
        assert_eq!(from("http%3A%2F%2F127.0.0.1%3A9"), Ok("c".into()), "the configured issuer");
        assert!(from("https%3A%2F%2Fevil.example").unwrap_err().contains("another issuer"), "a mix-up is refused");
    }

    #[test]
    fn claims_read_expiry_and_nonce() {
        let payload = base64url::encode(br#"{"exp":1700000000,"nonce":"n","sub":"a"}"#);
        let claims = claims(&format!("h.{payload}.s")).unwrap();
        assert_eq!((claims.exp, claims.nonce.as_deref()), (1_700_000_000, Some("n")));
        assert!(super::claims("nope").is_err());
    }
}
