//! The relay's REST API (`/api/v1`), called with the session's ID token as a bearer token.

use protocol::{CallPage, CallerIds, ErrorBody, NormalizeRequest, Normalized};
use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::{Api, ApiReply};
use crate::js::{JsResultExt, scope};

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
    let plain = |m: String| (None, m);
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().js_err().map_err(plain)?;
    headers.set("Authorization", &format!("Bearer {token}")).js_err().map_err(plain)?;
    if let Some(body) = body {
        headers.set("Content-Type", "application/json").js_err().map_err(plain)?;
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let url = format!("{base}{path}");
    let response = JsFuture::from(scope().map_err(plain)?.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| plain(format!("cannot reach {base}")))?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| plain("not a response".to_owned()))?;
    let text = JsFuture::from(response.text().js_err().map_err(plain)?)
        .await
        .js_err()
        .map_err(plain)?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(match serde_json::from_str::<ErrorBody>(&text) {
            Ok(error) => (Some(error.code.as_str().to_owned()), error.message),
            Err(_) => plain(format!("{path} answered {}", response.status())),
        });
    }
    serde_json::from_str(&text).map_err(|e| plain(format!("{path}: {e}")))
}
