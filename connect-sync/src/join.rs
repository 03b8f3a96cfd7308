//! From Connect's shapes to the directory's: users by username, and each routing profile's
//! outbound queues joined to their caller-ID numbers (`OutboundCallerIdNumberId` is a phone
//! number's id or ARN).

use std::collections::HashMap;

use aws_sdk_connect::types::{AgentStatusSummary, ListPhoneNumbersSummary, Queue, UserSearchSummary};
use protocol::{
    AgentState, CallerId, Channel, ConnectRow, ConnectStatus, ContactState, ContactSummary, DirectoryUser,
    RoutingProfile, StateKind,
};

use crate::AgentStatus;
use crate::realtime::AgentNow;

/// Users with a username. The principal is the Connect username, so the relay's identity
/// claim must carry it (SSO instances usually use the e-mail address as the username).
pub fn users(users: &[UserSearchSummary]) -> Vec<DirectoryUser> {
    users
        .iter()
        .filter_map(|u| {
            let username = u.username.clone().filter(|n| !n.is_empty())?;
            let info = u.identity_info.as_ref();
            let name = [info.and_then(|i| i.first_name.as_deref()), info.and_then(|i| i.last_name.as_deref())]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            Some(DirectoryUser {
                id: username.clone(),
                display_name: if name.is_empty() { username.clone() } else { name },
                username: Some(username),
                team: None,
                routing_profile: u.routing_profile_id.clone(),
                hierarchy_group: u.hierarchy_group_id.clone(),
                connect_user_id: u.id.clone(),
            })
        })
        .collect()
}

pub fn agent_statuses(statuses: &[AgentStatusSummary]) -> Vec<AgentStatus> {
    statuses
        .iter()
        .filter_map(|s| {
            Some(AgentStatus {
                id: s.id.clone()?,
                name: s.name.clone()?,
                kind: s.r#type.as_ref().map(|t| t.as_str().to_owned()),
            })
        })
        .collect()
}

/// Each profile with the caller IDs of its queues that have one, and its default queue.
pub fn routing_profiles(
    profiles: &[aws_sdk_connect::types::RoutingProfile],
    queues: &[Queue],
    numbers: &[ListPhoneNumbersSummary],
) -> Vec<RoutingProfile> {
    let mut number_of: HashMap<&str, &str> = HashMap::new();
    for n in numbers {
        if let Some(number) = n.phone_number.as_deref() {
            for key in [n.phone_number_id.as_deref(), n.phone_number_arn.as_deref()].into_iter().flatten() {
                number_of.insert(key, number);
            }
        }
    }
    let queue_of: HashMap<&str, &Queue> = queues.iter().filter_map(|q| Some((q.queue_id.as_deref()?, q))).collect();
    let caller_id = |queue: &Queue| {
        let config = queue.outbound_caller_config.as_ref()?;
        let number = number_of.get(config.outbound_caller_id_number_id.as_deref()?)?;
        Some(CallerId {
            queue_arn: queue.queue_arn.clone()?,
            queue_name: queue.name.clone().unwrap_or_default(),
            name: config.outbound_caller_id_name.clone().filter(|n| !n.is_empty()),
            number: (*number).to_owned(),
        })
    };
    profiles
        .iter()
        .filter_map(|p| {
            let mut caller_ids: Vec<CallerId> = p
                .associated_queue_ids()
                .iter()
                .filter_map(|id| queue_of.get(id.as_str()))
                .filter_map(|q| caller_id(q))
                .collect();
            caller_ids.sort_by(|a, b| a.queue_name.cmp(&b.queue_name));
            let default_queue_arn = p
                .default_outbound_queue_id
                .as_deref()
                .and_then(|id| queue_of.get(id))
                .and_then(|q| q.queue_arn.clone());
            Some(RoutingProfile {
                id: p.routing_profile_id.clone()?,
                name: p.name.clone(),
                default_queue_arn,
                caller_ids,
            })
        })
        .collect()
}

/// The kind of a status by Connect's type: `ROUTABLE`, `CUSTOM` (not routable), `OFFLINE`.
fn kind_of(kind: Option<&str>) -> StateKind {
    match kind {
        Some("ROUTABLE") => StateKind::Routable,
        Some("OFFLINE") => StateKind::Offline,
        _ => StateKind::NotRoutable,
    }
}

/// The statuses a supervisor may set, as the relay's clients see them.
pub fn connect_statuses(statuses: &[AgentStatus]) -> Vec<ConnectStatus> {
    statuses
        .iter()
        .map(|s| ConnectStatus { id: s.id.clone(), name: s.name.clone(), kind: kind_of(s.kind.as_deref()) })
        .collect()
}

/// A contact's state as the CCP's hook reports it, from Connect's `AgentContactState`
/// (`ENDED` is after-contact work: an ended contact leaves the list once that is done).
fn contact_state(state: &str) -> ContactState {
    match state {
        "INCOMING" | "PENDING" => ContactState::Incoming,
        "CONNECTING" => ContactState::Connecting,
        "CONNECTED" => ContactState::Connected,
        "CONNECTED_ONHOLD" => ContactState::OnHold,
        "ENDED" => ContactState::AfterContactWork,
        "MISSED" | "REJECTED" => ContactState::Missed,
        _ => ContactState::Error,
    }
}

fn channel(channel: &str) -> Channel {
    match channel {
        "CHAT" => Channel::Chat,
        "TASK" => Channel::Task,
        "EMAIL" => Channel::Email,
        _ => Channel::Voice,
    }
}

/// The state the CCP shows while the agent has a contact in `state` (Connect's
/// `AgentContactState`), as the extension reports it from Streams: Connect's real-time data gives
/// the agent status apart, and it stays "Available" through a call.
fn state_on_contact(state: &str) -> Option<AgentState> {
    let (name, kind) = match state {
        "INCOMING" | "PENDING" | "CONNECTING" => ("PendingBusy", StateKind::System),
        "CONNECTED" | "CONNECTED_ONHOLD" => ("Busy", StateKind::System),
        "ENDED" => ("AfterCallWork", StateKind::System),
        "MISSED" | "REJECTED" => ("MissedCallAgent", StateKind::Error),
        "ERROR" => ("FailedConnectAgent", StateKind::Error),
        _ => return None,
    };
    Some(AgentState { name: name.to_owned(), kind })
}

/// An agent logged in to Connect as presence for `principal`, as the CCP would show them: with a
/// contact, the state the contact puts them in (Busy, AfterCallWork, ...) from the contact's
/// start; otherwise the status by name with its kind from the instance's statuses (an unknown
/// name is not routable: never a wrong "Available"). And the first contact.
pub fn connect_row(agent: &AgentNow, principal: &str, statuses: &[ConnectStatus]) -> ConnectRow {
    let first = agent.contacts.first();
    let (state, since) = match first.and_then(|c| Some((state_on_contact(&c.state)?, c.since_ms))) {
        Some(on_contact) => on_contact,
        None => {
            let kind = statuses.iter().find(|s| s.name == agent.status).map_or(StateKind::NotRoutable, |s| s.kind);
            (AgentState { name: agent.status.clone(), kind }, agent.since_ms)
        }
    };
    ConnectRow {
        principal: principal.to_owned(),
        state,
        since,
        contact: first.map(|c| ContactSummary {
            channel: channel(&c.channel),
            state: contact_state(&c.state),
            since: c.since_ms,
        }),
        contact_id: first.map(|c| c.contact_id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::ContactNow;

    #[test]
    fn an_agent_in_connect_becomes_a_row_with_the_status_kind_and_first_contact() {
        let statuses = connect_statuses(&[
            AgentStatus { id: "s1".into(), name: "Available".into(), kind: Some("ROUTABLE".into()) },
            AgentStatus { id: "s2".into(), name: "休憩".into(), kind: Some("CUSTOM".into()) },
            AgentStatus { id: "s3".into(), name: "Offline".into(), kind: Some("OFFLINE".into()) },
        ]);
        assert_eq!(
            statuses.iter().map(|s| s.kind).collect::<Vec<_>>(),
            [StateKind::Routable, StateKind::NotRoutable, StateKind::Offline]
        );
        let contact = |state: &str| ContactNow {
            contact_id: "c-1".into(),
            channel: "CHAT".into(),
            state: state.into(),
            since_ms: 2_000,
        };
        let agent = |status: &str, contacts| AgentNow {
            user_id: "u-1".into(),
            routing_profile: None,
            status: status.into(),
            since_ms: 1_000,
            contacts,
        };
        let idle = connect_row(&agent("Available", Vec::new()), "aiko", &statuses);
        assert_eq!(idle.state, AgentState { name: "Available".into(), kind: StateKind::Routable });
        assert_eq!(idle.since, 1_000);
        // On a contact Connect's status stays "Available": the row says Busy, as the CCP does,
        // from the contact's start (never offered as free to take a transfer).
        let row = connect_row(&agent("Available", vec![contact("CONNECTED_ONHOLD")]), "aiko", &statuses);
        assert_eq!(row.state, AgentState { name: "Busy".into(), kind: StateKind::System });
        assert_eq!(
            row.contact,
            Some(ContactSummary { channel: Channel::Chat, state: ContactState::OnHold, since: 2_000 })
        );
        assert_eq!((row.principal.as_str(), row.since, row.contact_id.as_deref()), ("aiko", 2_000, Some("c-1")));
        let acw = connect_row(&agent("休憩", vec![contact("ENDED")]), "aiko", &statuses);
        assert_eq!(acw.contact.map(|c| c.state), Some(ContactState::AfterContactWork));
        assert_eq!(acw.state, AgentState { name: "AfterCallWork".into(), kind: StateKind::System });
        let ringing = connect_row(&agent("Available", vec![contact("INCOMING")]), "aiko", &statuses);
        assert_eq!(ringing.state.name, "PendingBusy");
        let missed = connect_row(&agent("Available", vec![contact("MISSED")]), "aiko", &statuses);
        assert_eq!(missed.state, AgentState { name: "MissedCallAgent".into(), kind: StateKind::Error });
        let unknown = connect_row(&agent("Lunch (new)", Vec::new()), "aiko", &statuses);
        assert_eq!(unknown.state.kind, StateKind::NotRoutable, "a status the sync has not seen yet is never Available");
        assert_eq!((unknown.contact, unknown.contact_id), (None, None));
    }
}
