//! The REST API under `/api/v1`, for the signed-in agent only (an OIDC ID token as
//! `Authorization: Bearer`):
//! - `GET /api/v1/caller-ids`: the caller IDs of the agent's routing profile.
//! - `GET /api/v1/calls?before=&limit=`: the agent's own outbound calls, newest first.
//! - `POST /api/v1/ws-ticket`: a single-use ticket for the next WebSocket `hello`.
//! - `POST /api/v1/numbers/normalize` `{"number": "03-1234-5678"}`: the number in E.164, or
//!   `invalid_number` with a reason, before anything is dialled.
//!
//! Every refusal is `{code, message, retryable}` with an HTTP status, and is counted in
//! `/metrics`. Browsers may call it from the extension's origin (`--allowed-origins`): CORS
//! answers only those origins, and a request from any other browser origin is refused (403).
//! Every call counts against the principal's request quota (`--principal-requests-per-second`).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use protocol::{CallPage, ErrorBody, ErrorCode, NormalizeRequest, Normalized};
use serde::Deserialize;

use crate::auth::Identity;
use crate::numbers;
use crate::state::App;

pub fn router(app: Arc<App>) -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/caller-ids", get(caller_ids))
        .route("/api/v1/calls", get(calls))
        .route("/api/v1/numbers/normalize", post(normalize))
        .route("/api/v1/ws-ticket", post(ws_ticket))
        .layer(middleware::from_fn_with_state(app, cors))
}

/// A refused request, as the JSON error body with its status.
pub struct ApiError(StatusCode, ErrorBody);

impl ApiError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let status = match code {
            ErrorCode::Unauthenticated | ErrorCode::TokenExpired => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        Self(status, ErrorBody::new(code, message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Self::new(ErrorCode::Unavailable, "storage is unavailable; retry")
    }
}

/// The caller, from the bearer token, within the principal's request quota. Counts every
/// refusal.
async fn identify(app: &App, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let refuse = |code, message: &str| {
        app.metrics.error(code);
        ApiError::new(code, message)
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| refuse(ErrorCode::Unauthenticated, "send the ID token as Authorization: Bearer"))?;
    let me = app.verifier.verify(token.trim(), &app.metrics).await.map_err(|e| refuse(e.code(), &e.to_string()))?;
    if !app.quota.try_take(&me.principal) {
        return Err(refuse(ErrorCode::RateLimited, &app.quota.refusal()));
    }
    Ok(me)
}

async fn ws_ticket(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let me = identify(&app, &headers).await?;
    let (ticket, expires_at) = app.tickets.issue(me, app.clock.now_ms());
    app.metrics.tickets_issued.inc();
    Ok(axum::Json(protocol::WsTicket { ticket, expires_at }).into_response())
}

async fn caller_ids(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    let me = identify(&app, &headers).await?;
    let profile = app.directory.user(&me.principal).and_then(|u| u.routing_profile);
    Ok(axum::Json(app.caller_ids.for_profile(profile.as_deref())).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

async fn calls(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<CallsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let me = identify(&app, &headers).await?;
    let Query(query) = query.map_err(|e| {
        app.metrics.error(ErrorCode::Invalid);
        ApiError::new(ErrorCode::Invalid, format!("query: {}", e.body_text()))
    })?;
    let limit = query.limit.unwrap_or(app.config.max_page).clamp(1, app.config.max_page);
    let calls = app.store.calls(&me.principal, query.before, limit).await?;
    let next_before = (calls.len() == limit as usize).then(|| calls.last().map(|c| c.started_at)).flatten();
    Ok(axum::Json(CallPage { calls, next_before }).into_response())
}

async fn normalize(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<axum::Json<NormalizeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    identify(&app, &headers).await?;
    let axum::Json(request) = body.map_err(|e| {
        app.metrics.error(ErrorCode::Invalid);
        ApiError::new(ErrorCode::Invalid, e.body_text())
    })?;
    // The extension's own country (set by policy for a site abroad) over the relay's default.
    let country = match request.country.as_deref().map(str::trim) {
        Some(code) => protocol::config::country_code(code).and_then(|c| c.parse().ok()).ok_or_else(|| {
            app.metrics.error(ErrorCode::Invalid);
            ApiError::new(
                ErrorCode::Invalid,
                format!("country {code:?} is not an ISO 3166 alpha-2 code such as JP or US"),
            )
        })?,
        None => app.config.default_country.parse().unwrap_or(phonenumber::country::Id::JP),
    };
    let e164 = numbers::normalize(&request.number, country).map_err(|e| {
        app.metrics.error(ErrorCode::InvalidNumber);
        ApiError::new(ErrorCode::InvalidNumber, e.to_string())
    })?;
    Ok(axum::Json(Normalized { e164 }).into_response())
}

/// CORS for the extension: preflights answered, `Access-Control-Allow-Origin` only for an
/// allowed origin. Other origins get no CORS headers, so a browser keeps the answer from them.
async fn cors(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .is_some_and(|origin| app.config.allowed_origins.iter().any(|a| origin.as_bytes() == a.as_bytes()));
    let started = std::time::Instant::now();
    if origin.is_some() && !allowed {
        // A page of another origin holding a stolen token: refused outright, not only hidden
        // from it by the browser's CORS check.
        app.metrics.origin_refusals.inc();
        app.metrics.error(ErrorCode::Forbidden);
        return ApiError::new(ErrorCode::Forbidden, "origin not allowed").into_response();
    }
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    app.metrics.rest_seconds.observe(started.elapsed());
    if let (true, Some(origin)) = (allowed, origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("origin"));
    response
}
