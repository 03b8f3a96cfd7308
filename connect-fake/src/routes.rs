//! The directory sync's five operations, and real-time data and supervisor actions
//! (`realtime.rs`), with Connect's page limits, next tokens and error shapes, behind one gate
//! that logs every request and applies throttling and injected failures.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::realtime::{self, Monitor, USER_DATA_PAGE};
use crate::{INSTANCE_ID, Logged, PageLimits, SLACK, State};

const LIMITS: PageLimits = PageLimits::CONNECT;

type Shared = Arc<State>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/search-users", post(search_users))
        .route("/search-queues", post(search_queues))
        .route("/search-routing-profiles", post(search_routing_profiles))
        .route("/phone-number/list", post(list_phone_numbers))
        .route("/agent-status/{instance}", get(list_agent_statuses))
        .route("/metrics/userdata/{instance}", post(get_current_user_data))
        .route("/contact/monitor", post(monitor_contact))
        .route("/users/{instance}/{user}/status", put(put_user_status))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        // Not Connect's: how the simulated CCP learns of its monitoring contacts (Connect itself
        // pushes them to the supervisor's CCP). Outside the gate: never logged nor throttled.
        .route("/_fake/monitors", get(monitors_of))
        .route("/_fake/agents/{user}", put(set_agent).delete(remove_agent))
        .route("/_fake/log", get(log))
        .with_state(state)
}

/// `PUT /_fake/agents/u-000007` `{"status": "Available", "since_ms": 1700000000000, "contacts":
/// [{"contact_id": "c-1", "state": "CONNECTED", "since_ms": 1700000001000}]}`: what the agent is
/// doing now, for a driver in another process (the demo, the browser tests).
async fn set_agent(
    AxumState(s): AxumState<Shared>,
    Path(user): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let Some(index) = user_index(&s, &user) else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "the user does not exist");
    };
    let contacts = body["contacts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| realtime::ContactNow {
                    contact_id: c["contact_id"].as_str().unwrap_or_default().to_owned(),
                    state: c["state"].as_str().unwrap_or("CONNECTED").to_owned(),
                    since_ms: c["since_ms"].as_i64().unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let agent = realtime::AgentNow {
        user: index,
        status: body["status"].as_str().unwrap_or("Available").to_owned(),
        since_ms: body["since_ms"].as_i64().unwrap_or_default(),
        contacts,
    };
    if let Ok(mut agents) = s.agents.lock() {
        agents.insert(index, agent);
    }
    axum::Json(json!({})).into_response()
}

/// `DELETE /_fake/agents/u-000007`: the agent logs out.
async fn remove_agent(AxumState(s): AxumState<Shared>, Path(user): Path<String>) -> Response {
    if let Some(index) = user_index(&s, &user)
        && let Ok(mut agents) = s.agents.lock()
    {
        agents.remove(&index);
    }
    axum::Json(json!({})).into_response()
}

/// `GET /_fake/log`: every Connect request so far (operation, status, ms since the start).
async fn log(AxumState(s): AxumState<Shared>) -> Response {
    let log: Vec<Value> = s
        .log
        .lock()
        .map(|l| {
            l.iter()
                .map(|e| json!({"operation": e.operation, "status": e.status, "at_ms": e.at.as_millis() as u64}))
                .collect()
        })
        .unwrap_or_default();
    axum::Json(log).into_response()
}

/// The monitoring contacts made for Connect user `user`, oldest first, readable by a page.
async fn monitors_of(AxumState(s): AxumState<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let user = q.get("user").cloned().unwrap_or_default();
    let mine: Vec<Value> = s
        .monitors
        .lock()
        .map(|m| {
            m.iter()
                .filter(|m| m.user_id == user)
                .map(|m| {
                    json!({
                        "contact_id": m.contact_id,
                        "monitoring_contact_id": format!("monitor-{}", m.contact_id),
                        "barge": m.capabilities.iter().any(|c| c == "BARGE"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut response = axum::Json(mine).into_response();
    response.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    response
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = (status, axum::Json(json!({ "message": message }))).into_response();
    if let Ok(value) = HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn operation(path: &str) -> &'static str {
    match path {
        "/search-users" => "SearchUsers",
        "/search-queues" => "SearchQueues",
        "/search-routing-profiles" => "SearchRoutingProfiles",
        "/phone-number/list" => "ListPhoneNumbersV2",
        p if p.starts_with("/agent-status/") => "ListAgentStatuses",
        p if p.starts_with("/metrics/userdata/") => "GetCurrentUserData",
        "/contact/monitor" => "MonitorContact",
        p if p.starts_with("/users/") && p.ends_with("/status") => "PutUserStatus",
        _ => "Unknown",
    }
}

/// Logs the request, then refuses it as Connect would: unsigned, over quota, or injected.
async fn gate(AxumState(state): AxumState<Shared>, request: Request, next: Next) -> Response {
    let at = state.started.elapsed();
    let operation = operation(request.uri().path());
    let signed = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 "));
    let refusal = if signed {
        refuse(&state, operation, at)
    } else {
        Some(error(StatusCode::FORBIDDEN, "AccessDeniedException", "request is not signed"))
    };
    let response = match refusal {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(Logged { at, operation, status: response.status().as_u16() });
    }
    response
}

fn refuse(state: &State, operation: &'static str, at: std::time::Duration) -> Option<Response> {
    let mut behaviour = state.behaviour.lock().ok()?;
    if behaviour.throttle_first > 0 {
        behaviour.throttle_first -= 1;
        return Some(error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", "Rate exceeded"));
    }
    if behaviour.fail_first > 0 {
        behaviour.fail_first -= 1;
        return Some(error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceException", "Internal service error"));
    }
    if behaviour.broken_operation == Some(operation) {
        return Some(error(StatusCode::BAD_REQUEST, "InvalidRequestException", "The request is not valid"));
    }
    let (rate, burst) = behaviour.quota?;
    let mut debt = state.debt.lock().ok()?;
    let (owed, last) = *debt;
    let owed = (owed - (at.saturating_sub(last)).as_secs_f64() * rate).max(0.0);
    if owed + 1.0 - SLACK.as_secs_f64() * rate > f64::from(burst) {
        *debt = (owed, at);
        return Some(error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", "Rate exceeded"));
    }
    *debt = (owed + 1.0, at);
    None
}

/// One page of `items` after `token`, at most `max` (the operation's limit) per page.
fn page(items: &[Value], key: &str, max_results: Option<i64>, token: Option<&str>, max: usize) -> Response {
    let max = max as i64;
    let size = max_results.unwrap_or(max.min(100));
    if !(1..=max).contains(&size) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            &format!("MaxResults must be between 1 and {max}"),
        );
    }
    let start = match token.map(|t| t.strip_prefix("page-").and_then(|n| n.parse::<usize>().ok())) {
        None => 0,
        Some(Some(start)) if start <= items.len() => start,
        Some(_) => return error(StatusCode::BAD_REQUEST, "InvalidParameterException", "NextToken is not valid"),
    };
    let end = (start + size as usize).min(items.len());
    let mut body = json!({ key: &items[start..end] });
    if end < items.len() {
        body["NextToken"] = json!(format!("page-{end}"));
    }
    if key == "Users" || key == "Queues" || key == "RoutingProfiles" || key == "UserDataList" {
        body["ApproximateTotalCount"] = json!(items.len());
    }
    axum::Json(body).into_response()
}

/// A search or list operation with a JSON body: the instance checked, then one page.
fn listing(items: &[Value], key: &str, body: &Value, max: usize) -> Response {
    if body["InstanceId"].as_str() != Some(INSTANCE_ID) {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "instance not found");
    }
    page(items, key, body["MaxResults"].as_i64(), body["NextToken"].as_str(), max)
}

async fn search_users(AxumState(s): AxumState<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    listing(&s.instance.users, "Users", &body, LIMITS.users)
}

async fn search_queues(AxumState(s): AxumState<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    listing(&s.instance.queues, "Queues", &body, LIMITS.queues)
}

async fn search_routing_profiles(AxumState(s): AxumState<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    listing(&s.instance.profiles, "RoutingProfiles", &body, LIMITS.profiles)
}

async fn list_phone_numbers(AxumState(s): AxumState<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    listing(&s.instance.numbers, "ListPhoneNumbersSummaryList", &body, LIMITS.numbers)
}

async fn list_agent_statuses(
    AxumState(s): AxumState<Shared>,
    Path(instance): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if instance != INSTANCE_ID {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "instance not found");
    }
    let max = query.get("maxResults").and_then(|m| m.parse().ok());
    page(
        &s.instance.statuses,
        "AgentStatusSummaryList",
        max,
        query.get("nextToken").map(String::as_str),
        LIMITS.statuses,
    )
}

/// The routing profile of user `i` of the generated instance.
fn profile_of(state: &State, user: usize) -> Option<String> {
    state.instance.users.get(user)?["RoutingProfileId"].as_str().map(str::to_owned)
}

/// The user index of a user id (`u-000007` is 7), if the instance has it.
fn user_index(state: &State, id: &str) -> Option<usize> {
    let index: usize = id.strip_prefix("u-")?.parse().ok()?;
    (index < state.instance.users.len()).then_some(index)
}

async fn get_current_user_data(
    AxumState(s): AxumState<Shared>,
    Path(instance): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let profiles = match realtime::profiles_asked(&instance, &body) {
        Ok(profiles) => profiles,
        Err(message) if instance != INSTANCE_ID => {
            return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", message);
        }
        Err(message) => return error(StatusCode::BAD_REQUEST, "InvalidParameterException", message),
    };
    let agents = s.agents.lock().map(|a| a.values().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let listed: Vec<Value> = agents
        .iter()
        .filter_map(|agent| {
            let profile = profile_of(&s, agent.user)?;
            profiles.contains(&profile).then(|| realtime::user_data(agent, &profile))
        })
        .collect();
    page(&listed, "UserDataList", body["MaxResults"].as_i64(), body["NextToken"].as_str(), USER_DATA_PAGE)
}

async fn monitor_contact(AxumState(s): AxumState<Shared>, axum::Json(body): axum::Json<Value>) -> Response {
    if body["InstanceId"].as_str() != Some(INSTANCE_ID) {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "instance not found");
    }
    let (Some(contact_id), Some(user_id)) = (body["ContactId"].as_str(), body["UserId"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "InvalidParameterException", "ContactId and UserId are required");
    };
    if user_index(&s, user_id).is_none() {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "the user does not exist");
    }
    let active = s.agents.lock().is_ok_and(|agents| {
        agents
            .values()
            .flat_map(|a| &a.contacts)
            .any(|c| c.contact_id == contact_id && matches!(c.state.as_str(), "CONNECTED" | "CONNECTED_ONHOLD"))
    });
    if !active {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "the contact is not in progress");
    }
    let capabilities: Vec<String> = body["AllowedMonitorCapabilities"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_else(|| vec!["SILENT_MONITOR".to_owned()]);
    if let Ok(mut monitors) = s.monitors.lock() {
        monitors.push(Monitor { contact_id: contact_id.to_owned(), user_id: user_id.to_owned(), capabilities });
    }
    let monitoring = format!("monitor-{contact_id}");
    axum::Json(json!({"ContactId": monitoring, "ContactArn": crate::data::arn("contact", &monitoring)})).into_response()
}

async fn put_user_status(
    AxumState(s): AxumState<Shared>,
    Path((instance, user_id)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if instance != INSTANCE_ID {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "instance not found");
    }
    let Some(user) = user_index(&s, &user_id) else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "the user does not exist");
    };
    let wanted = body["AgentStatusId"].as_str().unwrap_or_default();
    let Some(name) = s.instance.statuses.iter().find(|st| st["Id"] == wanted).and_then(|st| st["Name"].as_str()) else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFoundException", "the agent status does not exist");
    };
    let Ok(mut agents) = s.agents.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServiceException", "state");
    };
    let Some(agent) = agents.get_mut(&user) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequestException", "the agent is not logged in");
    };
    agent.status = name.to_owned();
    agent.since_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    axum::Json(json!({})).into_response()
}
