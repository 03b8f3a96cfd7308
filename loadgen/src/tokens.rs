//! ID tokens from the relay's development issuer (`--dev-issuer`).

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// Asks the relay at `base` (`http://host:port`) for a token for `email`.
pub async fn dev_token(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    name: &str,
    groups: &[&str],
) -> anyhow::Result<String> {
    let response: TokenResponse = http
        .post(format!("{base}/dev/oidc/token"))
        .json(&json!({"email": email, "name": name, "groups": groups, "ttl_s": 12 * 3600}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("asking {base} for a development token (is --dev-issuer on?)"))?
        .json()
        .await?;
    Ok(response.id_token)
}
