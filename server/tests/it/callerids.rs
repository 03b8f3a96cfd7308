//! Caller IDs, call history and number checks over REST with bearer tokens, fed by the
//! directory file and by `report_call` frames.

use protocol::{
    CallEvent, CallOutcome, CallPage, CallPhase, CallerIds, ClientFrame, ErrorBody, ErrorCode, ServerFrame,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Issuer, Relay};

const SALES: &str = "arn:aws:connect:ap-northeast-1:123456789012:instance/i-1/queue/sales";
const SUPPORT: &str = "arn:aws:connect:ap-northeast-1:123456789012:instance/i-1/queue/support";
const ORIGIN: &str = "chrome-extension://goibjmhfiabeppgigcbjfjgoghionflh";

fn directory(dir: &std::path::Path) -> std::path::PathBuf {
    let file = dir.join("directory.json");
    let body = json!({
        "users": [
            {"id": "aiko@example.com", "display_name": "佐藤 愛子", "routing_profile": "sales"},
            {"id": "ben@example.com", "display_name": "Ben", "routing_profile": "support"},
            {"id": "carol@example.com", "display_name": "Carol"}
        ],
        "routing_profiles": [
            {"id": "sales", "name": "Sales", "default_queue_arn": SALES, "caller_ids": [
                {"queue_arn": SALES, "queue_name": "東京 営業", "name": "Example Corp", "number": "+81312345678"},
                {"queue_arn": SUPPORT, "queue_name": "Osaka Support", "number": "+81661234567"}
            ]},
            {"id": "support", "caller_ids": [
                {"queue_arn": SUPPORT, "queue_name": "Osaka Support", "number": "+81661234567"}
            ]}
        ]
    });
    std::fs::write(&file, body.to_string()).unwrap();
    file
}

async fn relay(issuer: &Issuer) -> (Relay, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = directory(dir.path());
    let relay = Relay::start(issuer, |c| {
        c.directory_file = Some(file);
        c.allowed_origins = vec![ORIGIN.into()];
        c.max_page = 3;
    })
    .await;
    (relay, dir)
}

fn get(relay: &Relay, path: &str, token: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new().get(format!("{}{path}", relay.base)).bearer_auth(token)
}

/// A successful GET's JSON body.
async fn fetch<T: serde::de::DeserializeOwned>(relay: &Relay, path: &str, token: &str) -> T {
    get(relay, path, token).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn each_agent_gets_their_routing_profiles_caller_ids() {
    let issuer = Issuer::start().await;
    let (relay, _dir) = relay(&issuer).await;
    let aiko: CallerIds = fetch(&relay, "/api/v1/caller-ids", &issuer.token("aiko@example.com")).await;
    let names: Vec<_> = aiko.caller_ids.iter().map(|c| (c.queue_name.as_str(), c.number.as_str())).collect();
    assert_eq!(names, [("東京 営業", "+81312345678"), ("Osaka Support", "+81661234567")]);
    assert_eq!(aiko.default_queue_arn.as_deref(), Some(SALES));
    assert_eq!(aiko.synced_at, None, "from a file, not from Connect");
    let ben: CallerIds = fetch(&relay, "/api/v1/caller-ids", &issuer.token("ben@example.com")).await;
    assert_eq!(ben.caller_ids.len(), 1);
    assert_eq!(ben.default_queue_arn, None);
    let carol: CallerIds = fetch(&relay, "/api/v1/caller-ids", &issuer.token("carol@example.com")).await;
    assert!(carol.caller_ids.is_empty(), "no routing profile, no caller IDs");
}

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let issuer = Issuer::start().await;
    let (relay, _dir) = relay(&issuer).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/caller-ids", relay.base);
    let none = http.get(&url).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let body: ErrorBody = none.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::Unauthenticated);
    let expired = issuer.token_with("aiko@example.com", |c| c["exp"] = json!(1));
    let refused = http.get(&url).bearer_auth(expired).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json::<ErrorBody>().await.unwrap().code, ErrorCode::TokenExpired);
    let forged = http.get(&url).bearer_auth("e30.e30.c2ln").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // Issued five minutes from now: beyond the clock-skew allowance, so not valid yet.
    let later = protocol::Millis::from(relay_now_s() + 300);
    let future = issuer.token_with("aiko@example.com", |c| c["iat"] = json!(later));
    let refused = http.get(&url).bearer_auth(future).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json::<ErrorBody>().await.unwrap().code, ErrorCode::Unauthenticated);
    assert!(relay.metrics().await.contains("sidecar_errors_total{code=\"unauthenticated\"} 3"));
}

#[tokio::test]
async fn cors_answers_the_extension_only() {
    let issuer = Issuer::start().await;
    let (relay, _dir) = relay(&issuer).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/calls", relay.base);
    let preflight = http.request(reqwest::Method::OPTIONS, &url).header("origin", ORIGIN).send().await.unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], ORIGIN);
    assert!(preflight.headers()["access-control-allow-headers"].to_str().unwrap().contains("authorization"));
    let foreign = http.get(&url).header("origin", "https://evil.example").send().await.unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN, "a foreign page is refused, not only kept from reading");
}

#[tokio::test]
async fn numbers_are_normalised_or_refused_with_a_reason() {
    let issuer = Issuer::start().await;
    let (relay, _dir) = relay(&issuer).await;
    let token = issuer.token("aiko@example.com");
    let post = |number: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/numbers/normalize", relay.base))
            .bearer_auth(&token)
            .json(&json!({ "number": number }))
            .send()
    };
    let ok: protocol::Normalized = post("03-1234-5678").await.unwrap().json().await.unwrap();
    assert_eq!(ok.e164, "+81312345678");
    let bad = post("03-1234").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let body: ErrorBody = bad.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::InvalidNumber);
    assert!(body.message.contains("not valid"), "{}", body.message);
    let junk = reqwest::Client::new()
        .post(format!("{}/api/v1/numbers/normalize", relay.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"number\": 5")
        .send()
        .await
        .unwrap();
    assert_eq!(junk.status(), StatusCode::BAD_REQUEST);

    // The extension's country (a site abroad, set by policy) reads the same digits its own way;
    // a country that is not a code is refused as such, not read as the relay's default.
    let in_country = |number: &str, country: &str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/numbers/normalize", relay.base))
            .bearer_auth(&token)
            .json(&json!({ "number": number, "country": country }))
            .send()
    };
    let us: protocol::Normalized = in_country("(212) 555-0100", "us").await.unwrap().json().await.unwrap();
    assert_eq!(us.e164, "+12125550100");
    let jp: protocol::Normalized = in_country("03-1234-5678", "JP").await.unwrap().json().await.unwrap();
    assert_eq!(jp.e164, "+81312345678");
    let wrong = in_country("03-1234-5678", "Japan").await.unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let body: ErrorBody = wrong.json().await.unwrap();
    assert_eq!(body.code, ErrorCode::Invalid);
    assert!(body.message.contains("\"Japan\""), "{}", body.message);
}

fn call(contact: &str, phase: CallPhase, at: i64, queue: &str) -> CallEvent {
    CallEvent { contact_id: contact.into(), number: "+81398765432".into(), queue_arn: Some(queue.into()), phase, at }
}

#[tokio::test]
async fn call_history_is_recorded_per_agent_and_paged() {
    let issuer = Issuer::start().await;
    let (relay, _dir) = relay(&issuer).await;
    let (aiko_token, ben_token) = (issuer.token("aiko@example.com"), issuer.token("ben@example.com"));
    let mut aiko = relay.login(&aiko_token).await;
    let base = crate::support::now_ms();
    for (i, (contact, phase, at)) in [
        ("c-1", CallPhase::Dialling, 0),
        ("c-1", CallPhase::Connected, 4_000),
        ("c-1", CallPhase::Ended, 94_000),
        ("c-2", CallPhase::Dialling, 100_000),
        ("c-2", CallPhase::Ended, 120_000),
        ("c-3", CallPhase::Failed, 200_000),
        ("c-4", CallPhase::Dialling, 300_000),
    ]
    .into_iter()
    .enumerate()
    {
        let queue = if i < 3 { SALES } else { SUPPORT };
        let event = call(contact, phase, base + at, queue);
        let reply = aiko.request(|id| ClientFrame::ReportCall { id, call: event }).await.unwrap();
        assert!(matches!(reply, ServerFrame::Ok { .. }), "{reply:?}");
    }
    let page: CallPage = fetch(&relay, "/api/v1/calls", &aiko_token).await;
    let outcomes: Vec<_> = page.calls.iter().map(|c| (c.contact_id.as_str(), c.outcome)).collect();
    assert_eq!(
        outcomes,
        [("c-4", CallOutcome::InProgress), ("c-3", CallOutcome::Failed), ("c-2", CallOutcome::NotAnswered)]
    );
    let before = page.next_before.expect("a page of max_page calls says where to go on");
    let rest: CallPage = fetch(&relay, &format!("/api/v1/calls?before={before}"), &aiko_token).await;
    assert_eq!(rest.calls.len(), 1);
    let first = &rest.calls[0];
    assert_eq!((first.outcome, first.duration_s), (CallOutcome::Answered, Some(90)));
    assert_eq!(first.caller_id.as_deref(), Some("+81312345678"), "the caller ID of the queue used");
    assert_eq!(rest.next_before, None);

    // Nobody reads another agent's history; a report from Ben about "c-1" is Ben's own call.
    let ben_page: CallPage = fetch(&relay, "/api/v1/calls", &ben_token).await;
    assert!(ben_page.calls.is_empty());
    let mut ben = relay.login(&ben_token).await;
    let event = call("c-1", CallPhase::Failed, base, SALES);
    ben.request(|id| ClientFrame::ReportCall { id, call: event }).await.unwrap();
    let again: CallPage = fetch(&relay, &format!("/api/v1/calls?before={before}"), &aiko_token).await;
    assert_eq!(again.calls[0].outcome, CallOutcome::Answered);

    let bad = get(&relay, "/api/v1/calls?limit=lots", &aiko_token).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let oversized = "x".repeat(300);
    let mut event = call("c-9", CallPhase::Dialling, base, SALES);
    event.contact_id = oversized;
    let refused = aiko.request(|id| ClientFrame::ReportCall { id, call: event }).await.unwrap();
    assert_eq!(crate::support::error_code(&refused), ErrorCode::Invalid);
}

fn relay_now_s() -> i64 {
    server::clock::now_ms() / 1000
}
