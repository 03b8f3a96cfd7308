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
