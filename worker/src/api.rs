//! The relay's REST API (`/api/v1`), called with the session's ID token as a bearer token.

use protocol::{CallPage, CallerIds, ErrorBody, NormalizeRequest, Normalized};
use serde::Deserialize;

use crate::core::{Api, ApiReply};

/// Performs `api` against the relay at `base` and says what came back.
pub async fn call(base: &str, token: &str, api: Api) -> ApiReply {
    let result = match &api {
        Api::CallerIds => get::<CallerIds>(base, token, "/api/v1/caller-ids", None).await.map(ApiReply::CallerIds),
        Api::Calls { before } => {
            let query = before.map(|b| format!("before={b}"));
            get::<CallPage>(base, token, "/api/v1/calls", query.as_deref())
                .await
                .map(|page| ApiReply::Calls { before: *before, page })
        }
        Api::Normalize { panel, id, phone, queue_arn } => {
            let body = serde_json::to_string(&NormalizeRequest { number: phone.clone() }).unwrap_or_default();
            request::<Normalized>(base, token, "POST", "/api/v1/numbers/normalize", Some(body))
                .await
                .map(|n| ApiReply::Normalized { panel: *panel, id: *id, e164: n.e164, queue_arn: queue_arn.clone() })
        }
    };
    result.unwrap_or_else(|(code, message)| ApiReply::Failed { api, code, message })
}

async fn get<T: for<'de> Deserialize<'de>>(
    base: &str,
    token: &str,
    path: &str,
    query: Option<&str>,
) -> Result<T, (Option<String>, String)> {
    let path = match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    request(base, token, "GET", &path, None).await
}

async fn request<T: for<'de> Deserialize<'de>>(
    base: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, (Option<String>, String)> {
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
    serde_json::from_str(&answer.text).map_err(|e| (None, format!("{path}: {e}")))
}
