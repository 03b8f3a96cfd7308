//! Real-time data and supervisor actions: `GetCurrentUserData` (the agents logged in now, with
//! their status and contacts, filtered by routing profile, 100 a page), `MonitorContact` and
//! `PutUserStatus`, in Connect's JSON shapes. Tests set what an agent is doing with
//! [`crate::FakeConnect::set_agent`]; every monitor request is kept for them to read.

use serde_json::{Value, json};

use crate::data::{INSTANCE_ID, arn};

/// Most routing profiles (or queues, or agents) in one `GetCurrentUserData` filter.
pub const FILTER_MAX: usize = 100;
/// The largest page `GetCurrentUserData` serves.
pub const USER_DATA_PAGE: usize = 100;

/// What one agent is doing, as a test sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentNow {
    /// The user's index in the generated instance (`u-000001` is 1).
    pub user: usize,
    pub status: String,
    /// When the status started, in ms since the epoch.
    pub since_ms: i64,
    pub contacts: Vec<ContactNow>,
}

/// One of the agent's contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactNow {
    pub contact_id: String,
    /// Connect's `AgentContactState`: `INCOMING`, `PENDING`, `CONNECTING`, `CONNECTED`,
    /// `CONNECTED_ONHOLD`, `MISSED`, `ERROR`, `ENDED`, `REJECTED`.
    pub state: String,
    pub since_ms: i64,
}

/// A `MonitorContact` request the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    pub contact_id: String,
    pub user_id: String,
    /// `SILENT_MONITOR`, and `BARGE` when asked.
    pub capabilities: Vec<String>,
}

pub fn user_id(user: usize) -> String {
    format!("u-{user:06}")
}

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The agent's `UserData`, with the routing profile `profile` they are in.
pub fn user_data(agent: &AgentNow, profile: &str) -> Value {
    let id = user_id(agent.user);
    let contacts: Vec<Value> = agent
        .contacts
        .iter()
        .map(|c| {
            json!({
                "ContactId": c.contact_id,
                "Channel": "VOICE",
                "InitiationMethod": "INBOUND",
                "AgentContactState": c.state,
                "StateStartTimestamp": seconds(c.since_ms),
                "ConnectedToAgentTimestamp": seconds(c.since_ms),
                "Queue": {"Id": "q-00000", "Arn": arn("queue", "q-00000")},
            })
        })
        .collect();
    let busy = usize::from(!agent.contacts.is_empty());
    json!({
        "User": {"Id": id, "Arn": arn("agent", &id)},
        "RoutingProfile": {"Id": profile, "Arn": arn("routing-profile", profile)},
        "Status": {
            "StatusStartTimestamp": seconds(agent.since_ms),
            "StatusArn": arn("agent-state", &agent.status),
            "StatusName": agent.status,
        },
        "AvailableSlotsByChannel": {"VOICE": 1 - busy},
        "MaxSlotsByChannel": {"VOICE": 1},
        "ActiveSlotsByChannel": {"VOICE": busy},
        "Contacts": contacts,
        "HierarchyPath": {},
    })
}

/// Checks a `GetCurrentUserData` request's filters: the instance, and at most
/// [`FILTER_MAX`] routing profiles. Returns the profiles asked for.
pub fn profiles_asked(instance: &str, body: &Value) -> Result<Vec<String>, &'static str> {
    if instance != INSTANCE_ID {
        return Err("instance not found");
    }
    let profiles: Vec<String> = body["Filters"]["RoutingProfiles"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if profiles.is_empty() {
        return Err("Filters must name routing profiles, queues or agents");
    }
    if profiles.len() > FILTER_MAX {
        return Err("at most 100 routing profiles in a filter");
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_names_one_to_a_hundred_routing_profiles_of_this_instance() {
        let body = |n: usize| json!({"Filters": {"RoutingProfiles": (0..n).map(|i| format!("rp-{i:04}")).collect::<Vec<_>>()}});
        assert_eq!(profiles_asked(INSTANCE_ID, &body(100)).map(|p| p.len()), Ok(100));
        assert!(profiles_asked(INSTANCE_ID, &body(101)).is_err(), "Connect's limit");
        assert!(profiles_asked(INSTANCE_ID, &body(0)).is_err(), "a filter is required");
        assert!(profiles_asked("another-instance", &body(1)).is_err());
    }
}
