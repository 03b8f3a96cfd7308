//! What relay nodes tell each other over Redis (`--redis-url`): one event per change on one
//! channel, and the short-lived records each node keeps there (its CCP reports, its supervisors'
//! subscriptions). Stored data stays in the store; nothing here is the only copy of anything.

use serde::{Deserialize, Serialize};

use crate::{AgentState, ConnectRow, ConnectStatus, ContactSummary, HelpRequest, Millis};

/// A relay node's id: random at start, never 0 (0 is "this node" inside a relay).
pub type NodeId = u64;

/// One event, published once and received once by every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeEvent {
    /// A CCP reports on connection `conn` of `node` (also the value a node keeps in its reports
    /// hash, so a node that joins reads the others' reports in the same form).
    Report(RemoteReport),
    /// No CCP reports on that connection any more (`clear_presence`, or the connection closed).
    Clear { node: NodeId, conn: u64, principal: String },
    /// A frame for every connection of these principals: a chat message, a read marker.
    Deliver { node: NodeId, principals: Vec<String>, frame: String },
    /// A help request changed: each node tells the agent's connections and the supervisors
    /// watching its roster, and keeps it in its desk.
    Help { node: NodeId, request: Box<HelpRequest> },
    /// The node is about to announce every report of its connections again (joining after Redis
    /// was away): forget the ones held for it, which may include some it no longer has.
    Reset { node: NodeId },
    /// The directory in the store changed (the node holding the sync lease read Connect): load it.
    Directory { node: NodeId },
    /// The node holding the sync lease read Connect's real-time data at `read_at`: these agents'
    /// rows changed, and those in `gone` logged out of Connect. With `full`, `rows` is every
    /// agent logged in (sent after a node joins, and now and then), so a row missing is gone too.
    Connect {
        node: NodeId,
        read_at: Millis,
        /// The reader's interval between reads, in ms: a node judges staleness by it.
        interval_ms: Millis,
        full: bool,
        #[serde(default)]
        rows: Vec<ConnectRow>,
        #[serde(default)]
        gone: Vec<String>,
        #[serde(default)]
        statuses: Vec<ConnectStatus>,
    },
}

impl NodeEvent {
    /// The node the event comes from.
    pub fn node(&self) -> NodeId {
        match self {
            Self::Report(report) => report.node,
            Self::Clear { node, .. }
            | Self::Deliver { node, .. }
            | Self::Help { node, .. }
            | Self::Reset { node }
            | Self::Directory { node }
            | Self::Connect { node, .. } => *node,
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(text)
    }
}

/// A CCP report made on another node's connection, with what a node that has never seen the
/// agent needs to show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteReport {
    pub node: NodeId,
    pub conn: u64,
    pub principal: String,
    pub display_name: String,
    pub roster: String,
    pub state: AgentState,
    pub since: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The contact's id, for a supervisor's listen-in on any node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

/// The rosters one supervisor's subscriptions on a node cover (a node's `watch` hash holds one
/// per supervisor), so that every node can count who a help request reaches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watching {
    /// A subscription to every roster (`*`).
    #[serde(default)]
    pub every: bool,
    #[serde(default)]
    pub rosters: Vec<String>,
}

impl Watching {
    pub fn covers(&self, roster: &str) -> bool {
        self.every || self.rosters.iter().any(|r| r == roster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StateKind;

    #[test]
    fn events_round_trip_and_name_their_node() {
        let report = NodeEvent::Report(RemoteReport {
            node: 7,
            conn: 3,
            principal: "aiko@example.com".into(),
            display_name: "相田 愛子".into(),
            roster: "support".into(),
            state: AgentState { name: "Available".into(), kind: StateKind::Routable },
            since: 1_700_000_000_000,
            contact: None,
            username: Some("aiko".into()),
            contact_id: None,
        });
        let deliver = NodeEvent::Deliver { node: 9, principals: vec!["ben".into()], frame: "{}".into() };
        for (event, node) in [(report, 7), (deliver, 9), (NodeEvent::Directory { node: 4 }, 4)] {
            let text = event.encode();
            assert_eq!(NodeEvent::decode(text.as_bytes()).unwrap(), event, "{text}");
            assert_eq!(event.node(), node);
        }
        assert!(NodeEvent::decode(br#"{"type":"directory","node":1,"extra":2}"#).is_err(), "closed");
    }
}
