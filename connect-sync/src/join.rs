//! From Connect's shapes to the directory's: users by username, and each routing profile's
//! outbound queues joined to their caller-ID numbers (`OutboundCallerIdNumberId` is a phone
//! number's id or ARN).

use std::collections::HashMap;

use aws_sdk_connect::types::{AgentStatusSummary, ListPhoneNumbersSummary, Queue, UserSearchSummary};
use protocol::{CallerId, DirectoryUser, RoutingProfile};

use crate::AgentStatus;

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
            })
        })
        .collect()
}

pub fn agent_statuses(statuses: &[AgentStatusSummary]) -> Vec<AgentStatus> {
    statuses
        .iter()
        .filter_map(|s| {
            Some(AgentStatus { name: s.name.clone()?, kind: s.r#type.as_ref().map(|t| t.as_str().to_owned()) })
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
