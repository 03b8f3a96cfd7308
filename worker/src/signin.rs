//! The browser half of sign-in: discovery, `launchWebAuthFlow`, and the code exchange.

use protocol::config::Config;
use serde::Deserialize;
use wasm_bindgen_futures::JsFuture;

use crate::auth::{self, Attempt, Prompt, Session};
use crate::chrome;
use crate::js::{self, JsResultExt, scope};
use crate::link::SignInError;

#[derive(Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

fn random(len: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; len];
    scope()?.crypto().js_err()?.get_random_values_with_u8_array(&mut bytes).js_err()?;
    Ok(auth::random_token(&bytes))
}

/// The PKCE S256 challenge of `verifier`, hashed by the browser's WebCrypto.
pub async fn pkce_challenge(verifier: &str) -> Result<String, String> {
    Ok(auth::challenge(&sha256(verifier).await?))
}

/// SHA-256 by the browser's WebCrypto.
async fn sha256(text: &str) -> Result<Vec<u8>, String> {
    let subtle = scope()?.crypto().js_err()?.subtle();
    let digest =
        JsFuture::from(subtle.digest_with_str_and_u8_array("SHA-256", text.as_bytes()).js_err()?).await.js_err()?;
    Ok(js_sys::Uint8Array::new(&digest).to_vec())
}

/// A JSON answer from the issuer. No answer, or a server error (a proxy's 502 while the relay
/// restarts), is [`SignInError::Unreachable`]; anything else that is not the JSON expected is a
/// refusal.
async fn fetch_json<T: for<'de> Deserialize<'de>>(url: &str, form: Option<String>) -> Result<T, SignInError> {
    let answer = match &form {
        Some(body) => {
            js::fetch(url, "POST", &[("Content-Type", "application/x-www-form-urlencoded")], Some(body)).await
        }
        None => js::fetch(url, "GET", &[], None).await,
    }
    .map_err(SignInError::Unreachable)?;
    if !answer.ok {
        let detail = format!("{url} answered {}: {}", answer.status, answer.text.chars().take(200).collect::<String>());
        return Err(if answer.status >= 500 { SignInError::Unreachable(detail) } else { SignInError::Refused(detail) });
    }
    serde_json::from_str(&answer.text).map_err(|e| SignInError::Refused(format!("{url}: {e}")))
}

/// Signs in and returns the ID token. [`Prompt::Silent`] never shows a window (renewal,
/// start-up); [`Prompt::Login`] makes the issuer authenticate again.
pub async fn sign_in(config: &Config, prompt: Prompt) -> Result<Session, SignInError> {
    let discovery: Discovery =
        fetch_json(&format!("{}/.well-known/openid-configuration", config.issuer.trim_end_matches('/')), None).await?;
    let (form, nonce) = authorize(config, prompt, &discovery).await.map_err(SignInError::Refused)?;
    let token: TokenResponse = fetch_json(&discovery.token_endpoint, Some(form)).await?;
    let claims = auth::claims(&token.id_token).map_err(SignInError::Refused)?;
    if claims.nonce.as_deref() != Some(nonce.as_str()) {
        return Err(SignInError::Refused("the ID token's nonce does not match the sign-in".into()));
    }
    Ok(Session { id_token: token.id_token, expires_at: claims.exp * 1000 })
}

/// The authorization step (`launchWebAuthFlow`): the token request's form and the nonce the ID
/// token must carry.
async fn authorize(config: &Config, prompt: Prompt, discovery: &Discovery) -> Result<(String, String), String> {
    let verifier = random(32)?;
    let attempt = Attempt {
        challenge: pkce_challenge(&verifier).await?,
        verifier,
        state: random(16)?,
        nonce: random(16)?,
        redirect_uri: chrome::redirect_url("oidc"),
        issuer: config.issuer.clone(),
    };
    let url = auth::authorize_url(&discovery.authorization_endpoint, config, &attempt, prompt);
    let details = chrome::object(&[("url", url.into()), ("interactive", prompt.interactive().into())]);
    let redirect = JsFuture::from(chrome::launch_web_auth_flow(&details).js_err()?)
        .await
        .map_err(|e| format!("sign-in did not finish: {}", crate::js::describe(&e)))?
        .as_string()
        .ok_or("sign-in returned no address")?;
    let code = auth::code_from_redirect(&redirect, &attempt)?;
    let form = auth::encode_form(&[
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", attempt.redirect_uri.clone()),
        ("client_id", config.client_id.clone()),
        ("code_verifier", attempt.verifier.clone()),
    ]);
    Ok((form, attempt.nonce))
}
