//! The floor as the panel and the worker will drive it: the relay's frames decoded by
//! `protocol`, settings as policy and the options page store them, then the board's rows and
//! counts, the alerts, the badge count and the notifications due.

use floor::{AlertChange, Alerts, Board, Category, Query, Row, Severity, Sort, Thresholds};
use protocol::config::Settings;
use protocol::{Channel, Millis, Presence, Rule, ServerFrame, decode_server};

const T0: Millis = 1_764_036_000_000;

/// What a supervisor's floor holds: the board and the alerts, fed the same presence.
struct Floor {
    board: Board,
    alerts: Alerts,
    /// The notifications shown, by agent and rule.
    notified: Vec<(String, Rule)>,
}

impl Floor {
    fn apply(&mut self, changes: Vec<AlertChange>) {
        for change in changes {
            if let AlertChange::Started(alert) = change {
                self.notified.push((alert.name, alert.key.rule));
            }
        }
    }

    fn receive(&mut self, frame: &str, now: Millis) {
        let agents: Vec<Presence> = match decode_server(frame).expect("a relay frame") {
            ServerFrame::Roster { agents, .. } => agents,
            ServerFrame::Presence { presence } => vec![presence],
            other => panic!("not presence: {other:?}"),
        };
        for presence in agents {
            let changes = self.alerts.update(&presence, now);
            self.apply(changes);
            self.board.upsert(presence);
        }
    }

    fn tick(&mut self, now: Millis) {
        let changes = self.alerts.tick(now);
        self.apply(changes);
    }
}

fn presence_frame(principal: &str, name: &str, state: &str, kind: &str, since: Millis, contact: &str) -> String {
    format!(
        r#"{{"type": "presence", "presence": {{"principal": "{principal}", "display_name": "{name}", "roster": "tokyo-support",
           "state": {{"name": "{state}", "kind": "{kind}"}}, "since": {since}{contact}, "online": true}}}}"#
    )
}

#[test]
fn a_supervisor_floor_from_relay_frames_and_stored_settings() {
    // Policy fixes the hold threshold at 3 s (as the end-to-end tests write it); the options page
    // sets 管理業務中 to 6 s; the rest are the defaults.
    let managed: Settings =
        serde_json::from_str(r#"{"relay_url": "wss://relay.example.com/ws", "alerts": {"hold_minutes": 0.05}}"#)
            .unwrap();
    let options: Settings =
        serde_json::from_str(r#"{"alerts": {"hold_minutes": 9, "not_routable": {"管理業務中": 0.1}}}"#).unwrap();
    let thresholds = Thresholds::from_settings(&managed, &options);
    assert!(thresholds.locked.hold && !thresholds.locked.state("管理業務中"));
    let mut floor = Floor { board: Board::new(), alerts: Alerts::new(thresholds), notified: Vec::new() };

    let roster = r#"{"type": "roster", "id": 3, "roster": "tokyo-support", "agents": [
        {"principal": "aiko@example.com", "username": "aiko.sato", "display_name": "佐藤 愛子", "roster": "tokyo-support",
         "state": {"name": "管理業務中", "kind": "not_routable"}, "since": 1764036000000, "online": true},
        {"principal": "ken.tanaka@example.com", "display_name": "田中 健", "roster": "tokyo-support",
         "state": {"name": "Offline", "kind": "offline"}, "since": 0, "online": false}], "complete": true}"#;
    floor.receive(roster, T0);
    let on_hold = r#", "contact": {"channel": "voice", "state": "on_hold", "since": 1764036001000}"#;
    floor.receive(&presence_frame("ben@example.com", "Ben Carter", "Busy", "system", T0, on_hold), T0 + 1_000);

    let total = floor.board.total();
    assert_eq!(total.total(), 3);
    assert_eq!(total.get(&Category::OnContact(Channel::Voice)), 1);
    assert_eq!(total.get(&Category::NotRoutable("管理業務中".into())), 1);
    assert_eq!(total.get(&Category::Offline), 1);

    floor.tick(T0 + 3_999);
    assert!(floor.notified.is_empty());
    floor.tick(T0 + 4_000);
    floor.tick(T0 + 6_000);
    assert_eq!(
        floor.notified,
        [
            ("Ben Carter".to_owned(), Rule::LongHold),
            ("佐藤 愛子".to_owned(), Rule::NotRoutable { state: "管理業務中".into() })
        ]
    );
    assert_eq!(floor.alerts.count(), 2, "the badge");
    floor.tick(T0 + 60_000);
    assert_eq!(floor.notified.len(), 2, "once per episode");
    assert_eq!(floor.alerts.severity("ben@example.com"), Some(Severity::Red));

    // The longest in state first; the offline agent last.
    let rows = floor.board.rows(&Query { sort: Sort::LongestInState, ..Query::default() });
    let names: Vec<&str> = rows
        .iter()
        .filter_map(|r| match r {
            Row::Agent(id) => Some(floor.board.agent(*id).unwrap().presence.display_name.as_str()),
            Row::Team { .. } => None,
        })
        .collect();
    assert_eq!(names, ["佐藤 愛子", "Ben Carter", "田中 健"]);

    // Ben takes the caller off hold: that alert ends by itself; Aiko's is dismissed.
    let connected = r#", "contact": {"channel": "voice", "state": "connected", "since": 1764036001000}"#;
    floor.receive(&presence_frame("ben@example.com", "Ben Carter", "Busy", "system", T0, connected), T0 + 61_000);
    let aiko = floor.alerts.active().next().unwrap().key.clone();
    assert!(floor.alerts.dismiss(&aiko));
    assert_eq!(floor.alerts.count(), 0);
}
