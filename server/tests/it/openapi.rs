//! `docs/openapi.yaml` against the relay: every route the relay declares is documented and every
//! documented route is declared; each operation, called on a running relay, answers with a
//! documented status and content type, and its JSON fits the documented schema (required
//! properties present, no undocumented ones, enums as listed).

use std::collections::BTreeSet;

use protocol::{CallEvent, CallPhase, ClientFrame, ErrorCode};
use serde_json::{Value, json};

use crate::support::{Issuer, Relay};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn document() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(root().join("docs/openapi.yaml")).unwrap()).unwrap()
}

/// Every `.route("PATH", get(..))` / `post(..)` in the relay's source, as (METHOD, PATH); routes
/// of the extension packages' router are under its `EXTENSION_PATH`. The development issuer's
/// routes (nested under `/dev`, loopback only) are not part of the interface.
fn declared() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("server/src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices(".route(\"") {
            let rest = &source[at + ".route(\"".len()..];
            let (route, after) = rest.split_once('"').unwrap();
            let method = after.trim_start_matches(',').trim_start().split('(').next().unwrap().to_uppercase();
            let line_end = after.find('\n').unwrap_or(after.len());
            let route = if after[..line_end].contains("packages::handler") {
                format!("{}{route}", server::packages::EXTENSION_PATH)
            } else {
                route.to_owned()
            };
            routes.insert((method, route));
        }
    }
    routes
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn every_declared_route_is_documented_and_no_other() {
    let declared = declared();
    assert!(declared.len() >= 9, "the scan found the routes: {declared:?}");
    assert_eq!(documented(&document()), declared);
}

#[test]
fn the_documented_error_codes_are_the_relays() {
    let doc = document();
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let relay: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, relay);
}

/// The schema `$ref` points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/schemas/").unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Whether `value` fits `schema`; the first misfit, by path.
fn fits(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    match schema["type"].as_str() {
        Some("object") => {
            let object = value.as_object().ok_or(format!("{at}: not an object"))?;
            for required in schema["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !object.contains_key(name) {
                    return Err(format!("{at}: {name} missing"));
                }
            }
            for (name, field) in object {
                match schema["properties"].get(name) {
                    Some(property) => fits(doc, property, field, &format!("{at}.{name}"))?,
                    None if schema["additionalProperties"] == json!(false) => {
                        return Err(format!("{at}: {name} is not documented"));
                    }
                    None => {}
                }
            }
            Ok(())
        }
        Some("array") => {
            for (i, item) in value.as_array().ok_or(format!("{at}: not an array"))?.iter().enumerate() {
                fits(doc, &schema["items"], item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Some("string") => {
            let text = value.as_str().ok_or(format!("{at}: not a string"))?;
            match schema["enum"].as_array() {
                Some(allowed) if !allowed.iter().any(|a| a == text) => Err(format!("{at}: {text} is not in the enum")),
                _ => Ok(()),
            }
        }
        Some("integer") => value.as_i64().map(|_| ()).ok_or(format!("{at}: not an integer")),
        Some("boolean") => value.as_bool().map(|_| ()).ok_or(format!("{at}: not a boolean")),
        other => Err(format!("{at}: schema type {other:?} not handled")),
    }
}

/// Calls `method path` and checks the answer against the document: a documented status, a
/// documented content type, and for JSON a body that fits. Returns the status and body.
async fn check(doc: &Value, http: &reqwest::RequestBuilder, method: &str, path: &str) -> (u16, String) {
    let response = http.try_clone().unwrap().send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap().trim().to_owned());
    let body = response.text().await.unwrap();
    let operation = &doc["paths"][path][method];
    let answer = &operation["responses"][status.to_string()];
    assert!(!answer.is_null(), "{method} {path}: status {status} is not documented ({body})");
    let answer = match answer["$ref"].as_str() {
        Some(r) => &doc["components"]["responses"][r.strip_prefix("#/components/responses/").unwrap()],
        None => answer,
    };
    if let Some(content) = answer["content"].as_object() {
        let content_type = content_type.unwrap_or_else(|| panic!("{method} {path}: no content type"));
        let media = content.get(&content_type).unwrap_or_else(|| {
            panic!("{method} {path} {status}: {content_type} is not documented ({:?})", content.keys())
        });
        if content_type == "application/json" {
            let value: Value = serde_json::from_str(&body).unwrap();
            if let Err(misfit) = fits(doc, &media["schema"], &value, "body") {
                panic!("{method} {path} {status}: {misfit}\n{body}");
            }
        }
    }
    (status, body)
}

#[tokio::test]
async fn every_operation_answers_as_documented() {
    let doc = document();
    let issuer = Issuer::start().await;
    let packages = tempfile::tempdir().unwrap();
    std::fs::write(packages.path().join("updates.xml"), "<?xml version='1.0'?><gupdate/>").unwrap();
    let dir = packages.path().to_path_buf();
    let relay = Relay::start(&issuer, |c| c.extension_dir = Some(dir)).await;
    let token = issuer.token("openapi@example.com");
    // A call on record, so the page's items are checked too.
    let mut client = relay.login(&token).await;
    let call = CallEvent {
        contact_id: "c-1".into(),
        number: "+81312345678".into(),
        queue_arn: None,
        phase: CallPhase::Dialling,
        at: crate::support::now_ms(),
    };
    client.request(|id| ClientFrame::ReportCall { id, call }).await.unwrap();

    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", relay.base);
    let bearer = format!("Bearer {token}");
    let mut seen = BTreeSet::new();
    let mut call = async |method: &str, path: &str, request: reqwest::RequestBuilder, want: u16| {
        let (status, body) = check(&doc, &request, method, path).await;
        assert_eq!(status, want, "{method} {path}: {body}");
        seen.insert((method.to_uppercase(), path.to_owned()));
    };
    call("get", "/api/v1/caller-ids", http.get(url("/api/v1/caller-ids")).header("authorization", &bearer), 200).await;
    call("get", "/api/v1/caller-ids", http.get(url("/api/v1/caller-ids")), 401).await;
    call("get", "/api/v1/calls", http.get(url("/api/v1/calls?limit=5")).header("authorization", &bearer), 200).await;
    call("get", "/api/v1/calls", http.get(url("/api/v1/calls?limit=x")).header("authorization", &bearer), 400).await;
    let normalize = |number: &str| {
        http.post(url("/api/v1/numbers/normalize")).header("authorization", &bearer).json(&json!({"number": number}))
    };
    call("post", "/api/v1/numbers/normalize", normalize("03-1234-5678"), 200).await;
    call("post", "/api/v1/numbers/normalize", normalize("not a number"), 400).await;
    call("post", "/api/v1/ws-ticket", http.post(url("/api/v1/ws-ticket")).header("authorization", &bearer), 200).await;
    call("get", "/ws", http.get(url("/ws")), 400).await;
    call("get", "/healthz", http.get(url("/healthz")), 200).await;
    call("get", "/readyz", http.get(url("/readyz")), 200).await;
    call("get", "/metrics", http.get(url("/metrics")), 200).await;
    call("get", "/extension/{name}", http.get(url("/extension/updates.xml")), 200).await;
    call("get", "/extension/{name}", http.get(url("/extension/missing.crx")), 404).await;
    assert_eq!(seen, documented(&doc), "every documented operation was called");
}
