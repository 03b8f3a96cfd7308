//! The relay's REST API (`/api/v1`), called with the session's ID token as a bearer token.

use protocol::{ErrorBody, NormalizeRequest, Normalized, Relayed};
use serde::Deserialize;

use crate::core::{Api, ApiReply};

/// Performs `api` against the relay at `base` and says what came back; a number to dial is read
/// in `country` when it has no `+` (else in the relay's default country).
pub async fn call(base: &str, token: &str, country: Option<String>, api: Api) -> ApiReply {
    let result = match &api {
        // The caller IDs and call pages go to the panels as the relay wrote them: the worker
        // does not read them (see `Relayed`).
        Api::CallerIds => get(base, token, "/api/v1/caller-ids", None).await.map(ApiReply::CallerIds),
        Api::Calls { before } => {
            let query = before.map(|b| format!("before={b}"));
            get(base, token, "/api/v1/calls", query.as_deref())
                .await
                .map(|page| ApiReply::Calls { before: *before, page })
        }
        Api::Normalize { panel, id, phone, queue_arn } => {
            let body = serde_json::to_string(&NormalizeRequest { number: phone.clone(), country }).unwrap_or_default();
            request::<Normalized>(base, token, "POST", "/api/v1/numbers/normalize", Some(body))
                .await
                .map(|n| ApiReply::Normalized { panel: *panel, id: *id, e164: n.e164, queue_arn: queue_arn.clone() })
        }
    };
    result.unwrap_or_else(|(code, message)| ApiReply::Failed { api, code, message })
}

async fn get<T>(
    base: &str,
    token: &str,
    path: &str,
    query: Option<&str>,
) -> Result<Relayed<T>, (Option<String>, String)> {
    let path = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let text = answer(base, token, "GET", &path, None).await?;
    Relayed::from_json(text).map_err(|e| (None, format!("{path}: {e}")))
}

async fn request<T: for<'de> Deserialize<'de>>(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, (Option<String>, String)> {
    let text = answer(base, token, method, path, body).await?;
    serde_json::from_str(&text).map_err(|e| (None, format!("{path}: {e}")))
}

/// The body of a successful answer, or the relay's error in a form the panels can word.
async fn answer(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<String, (Option<String>, String)> {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("Authorization", bearer.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let answer =
        crate::js::fetch(&format!("{base}{path}"), method, &headers, body.as_deref()).await.map_err(|m| (None, m))?;
    if !answer.ok {
        return Err(match serde_json::from_str::<ErrorBody>(&answer.text) {
            Ok(error) => (Some(error.code.as_str().to_owned()), error.message),
            Err(_) => (None, format!("{path} answered {}", answer.status)),
        });
    }
    Ok(answer.text)
}
