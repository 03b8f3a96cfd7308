//! The worker sends the caller IDs and call pages to the panels as the relay wrote them
//! (`Relayed`); the panel decodes the same messages with typed payloads.

use protocol::panel::{PanelSnapshot, WorkerToPanel};
use protocol::{CallPage, CallerIds, Relayed};
use serde_json::json;

type FromWorker = WorkerToPanel<Relayed<CallerIds>, Relayed<CallPage>>;

#[test]
fn relayed_payloads_write_what_the_panel_reads() {
    let caller_ids = json!({"caller_ids": [{"queue_arn": "arn:q", "queue_name": "東京",
                            "number": "+81312345678", "name": "Tokyo"}], "default_queue_arn": "arn:q", "synced_at": 3});
    let page = json!({"calls": [{"contact_id": "c-1", "number": "+81312345678", "queue_arn": "arn:q",
                      "started_at": 5, "outcome": "answered", "duration_s": 9}], "next_before": 5});
    // As the relay's REST API answers, with its own spacing: passed on byte for byte.
    let relayed_ids: Relayed<CallerIds> = Relayed::from_json(format!("{caller_ids:#}")).unwrap();
    let relayed_page: Relayed<CallPage> = Relayed::from_json(page.to_string()).unwrap();
    assert_eq!(relayed_ids.json(), format!("{caller_ids:#}"));
    let typed_ids: CallerIds = relayed_ids.decode().unwrap();
    let typed_page: CallPage = relayed_page.decode().unwrap();

    let sent: Vec<FromWorker> = vec![
        WorkerToPanel::CallerIds { caller_ids: relayed_ids.clone() },
        WorkerToPanel::Calls { before: Some(7), page: relayed_page.clone() },
        WorkerToPanel::Snapshot {
            snapshot: Box::new(PanelSnapshot {
                caller_ids: Some(relayed_ids),
                calls: Some(relayed_page),
                ..PanelSnapshot::default()
            }),
        },
    ];
    let expected: Vec<WorkerToPanel> = vec![
        WorkerToPanel::CallerIds { caller_ids: typed_ids.clone() },
        WorkerToPanel::Calls { before: Some(7), page: typed_page.clone() },
        WorkerToPanel::Snapshot {
            snapshot: Box::new(PanelSnapshot {
                caller_ids: Some(typed_ids),
                calls: Some(typed_page),
                ..PanelSnapshot::default()
            }),
        },
    ];
    for (sent, expected) in sent.iter().zip(&expected) {
        let text = serde_json::to_string(sent).unwrap();
        let read: WorkerToPanel = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(&read, expected);
        assert_eq!(serde_json::to_value(sent).unwrap(), serde_json::to_value(expected).unwrap());
    }
    assert!(Relayed::<CallerIds>::from_json("{not json".into()).is_err(), "only JSON is passed on");
}

#[test]
fn a_refused_chat_request_names_its_conversation() {
    let refused: WorkerToPanel = WorkerToPanel::ChatRefused {
        peer: "tanaka@example.com".into(),
        code: protocol::ErrorCode::RateLimited,
        message: "slow down".into(),
    };
    let text =
        json!({"type": "chat_refused", "peer": "tanaka@example.com", "code": "rate_limited", "message": "slow down"});
    assert_eq!(serde_json::to_value(&refused).unwrap(), text);
    assert_eq!(serde_json::from_value::<WorkerToPanel>(text).unwrap(), refused);
}

#[test]
fn the_floor_messages_read_back_as_written() {
    use protocol::panel::PanelToWorker;
    use protocol::{AlertKey, Rule};
    let key =
        AlertKey { principal: "sato@example.com".into(), rule: Rule::NotRoutable { state: "休憩".into() }, since: 7 };
    let key_json =
        json!({"principal": "sato@example.com", "rule": {"type": "not_routable", "state": "休憩"}, "since": 7});
    let to_worker = [
        (PanelToWorker::Watch { rosters: None }, json!({"type": "watch"})),
        (
            PanelToWorker::Watch { rosters: Some(vec!["東京".into(), "大阪".into()]) },
            json!({"type": "watch", "rosters": ["東京", "大阪"]}),
        ),
        (PanelToWorker::DismissAlert { key: key.clone() }, json!({"type": "dismiss_alert", "key": key_json})),
        (
            PanelToWorker::FloorFocus { visible_and_focused: true },
            json!({"type": "floor_focus", "visible_and_focused": true}),
        ),
        (PanelToWorker::OpenFloor, json!({"type": "open_floor"})),
    ];
    for (message, text) in to_worker {
        assert_eq!(serde_json::to_value(&message).unwrap(), text);
        assert_eq!(serde_json::from_value::<PanelToWorker>(text).unwrap(), message);
    }
    // A rule's tag may come last (a `Value` sorts its keys) and unknown fields are refused.
    let rule: Rule = serde_json::from_value(json!({"state": "休憩", "type": "not_routable"})).unwrap();
    assert_eq!(rule, Rule::NotRoutable { state: "休憩".into() });
    assert!(serde_json::from_str::<Rule>(r#"{"type": "missed", "state": "x"}"#).is_err());

    let to_panel: [(WorkerToPanel, serde_json::Value); 3] = [
        (WorkerToPanel::Dismissed { keys: vec![key.clone()] }, json!({"type": "dismissed", "keys": [key_json]})),
        (WorkerToPanel::Watching { rosters: None }, json!({"type": "watching"})),
        (
            WorkerToPanel::Snapshot {
                snapshot: Box::new(PanelSnapshot {
                    watch: Some(vec!["東京".into()]),
                    dismissed: vec![key],
                    ..PanelSnapshot::default()
                }),
            },
            json!({"type": "snapshot", "snapshot": {"connection": {"status": "signed_out"}, "me": null, "roster": [],
                   "conversations": [], "ccp": null, "outbox": [], "failed": [], "caller_ids": null, "calls": null,
                   "watch": ["東京"], "dismissed": [key_json]}}),
        ),
    ];
    for (message, text) in to_panel {
        assert_eq!(serde_json::to_value(&message).unwrap(), text);
        assert_eq!(serde_json::from_value::<WorkerToPanel>(text).unwrap(), message);
    }
}

#[test]
fn the_supervisor_messages_read_back_as_written() {
    use protocol::panel::PanelToWorker;
    use protocol::{ConnectFeed, ConnectStatus, ErrorCode, StateKind};
    let to_worker = [
        (
            PanelToWorker::MonitorAgent { id: 3, agent: "sato@example.com".into(), barge: false },
            json!({"type": "monitor_agent", "id": 3, "agent": "sato@example.com"}),
        ),
        (
            PanelToWorker::MonitorAgent { id: 4, agent: "sato@example.com".into(), barge: true },
            json!({"type": "monitor_agent", "id": 4, "agent": "sato@example.com", "barge": true}),
        ),
        (
            PanelToWorker::SetAgentStatus { id: 5, agent: "sato@example.com".into(), status: "s-break".into() },
            json!({"type": "set_agent_status", "id": 5, "agent": "sato@example.com", "status": "s-break"}),
        ),
    ];
    for (message, text) in to_worker {
        assert_eq!(serde_json::to_value(&message).unwrap(), text);
        assert_eq!(serde_json::from_value::<PanelToWorker>(text).unwrap(), message);
    }

    let feed = ConnectFeed {
        read_at: Some(9),
        stale: true,
        statuses: vec![ConnectStatus { id: "s-break".into(), name: "休憩".into(), kind: StateKind::NotRoutable }],
    };
    let feed_json = json!({"read_at": 9, "stale": true,
                           "statuses": [{"id": "s-break", "name": "休憩", "kind": "not_routable"}]});
    let to_panel: [(WorkerToPanel, serde_json::Value); 6] = [
        (WorkerToPanel::ConnectFeed { feed: Some(feed.clone()) }, json!({"type": "connect_feed", "feed": feed_json})),
        (WorkerToPanel::ConnectFeed { feed: None }, json!({"type": "connect_feed"})),
        (
            WorkerToPanel::Monitoring {
                id: 3,
                agent: "sato@example.com".into(),
                contact_id: "m-1".into(),
                barge: true,
            },
            json!({"type": "monitoring", "id": 3, "agent": "sato@example.com", "contact_id": "m-1", "barge": true}),
        ),
        (
            WorkerToPanel::AgentStatusSet { id: 5, agent: "sato@example.com".into(), status: "s-break".into() },
            json!({"type": "agent_status_set", "id": 5, "agent": "sato@example.com", "status": "s-break"}),
        ),
        (
            WorkerToPanel::SupervisorRefused {
                id: 4,
                agent: "sato@example.com".into(),
                code: ErrorCode::ConnectFailed,
                message: "User is not monitor-enabled".into(),
            },
            json!({"type": "supervisor_refused", "id": 4, "agent": "sato@example.com", "code": "connect_failed",
                   "message": "User is not monitor-enabled"}),
        ),
        (
            WorkerToPanel::Snapshot {
                snapshot: Box::new(PanelSnapshot { connect_feed: Some(feed), ..PanelSnapshot::default() }),
            },
            json!({"type": "snapshot", "snapshot": {"connection": {"status": "signed_out"}, "me": null, "roster": [],
                   "conversations": [], "ccp": null, "outbox": [], "failed": [], "caller_ids": null, "calls": null,
                   "connect_feed": feed_json}}),
        ),
    ];
    for (message, text) in to_panel {
        assert_eq!(serde_json::to_value(&message).unwrap(), text);
        assert_eq!(serde_json::from_value::<WorkerToPanel>(text).unwrap(), message);
    }
    // An unknown field in the feed is refused, as everywhere in the protocol.
    let odd = json!({"type": "connect_feed", "feed": {"stale": false, "extra": 1}});
    assert!(serde_json::from_value::<WorkerToPanel>(odd).is_err());
}
