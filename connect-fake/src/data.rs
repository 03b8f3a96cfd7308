//! A generated Connect instance: users, agent statuses, standard queues (most with an outbound
//! caller ID, referring to their number by id or by ARN as Connect allows), phone numbers and
//! routing profiles, in Connect's JSON shapes.

use serde_json::{Value, json};

pub const INSTANCE_ID: &str = "7c1b2f3e-0d4a-4c5b-9e6f-123456789abc";
const ACCOUNT: &str = "123456789012";
const REGION: &str = "ap-northeast-1";

/// How big the instance is.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub users: usize,
    pub queues: usize,
    pub numbers: usize,
    pub profiles: usize,
    /// Queues associated with each routing profile.
    pub queues_per_profile: usize,
}

impl Shape {
    pub fn small() -> Self {
        Self { users: 12, queues: 6, numbers: 4, profiles: 3, queues_per_profile: 3 }
    }
}

const STATUSES: [(&str, &str); 6] = [
    ("Available", "ROUTABLE"),
    ("Offline", "OFFLINE"),
    ("管理業務中", "CUSTOM"),
    ("Break", "CUSTOM"),
    ("Lunch", "CUSTOM"),
    ("Training", "CUSTOM"),
];
const FAMILY: [&str; 6] = ["佐藤", "鈴木", "高橋", "Smith", "Garcia", "田中"];
const GIVEN: [&str; 6] = ["愛子", "健二", "結衣", "Ben", "Maria", "浩"];

/// Every record, in Connect's JSON, in the order pages return them.
pub struct Instance {
    pub users: Vec<Value>,
    pub statuses: Vec<Value>,
    pub queues: Vec<Value>,
    pub numbers: Vec<Value>,
    pub profiles: Vec<Value>,
}

pub(crate) fn arn(kind: &str, id: &str) -> String {
    format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}/{kind}/{id}")
}

/// The E.164 number of phone number `i`: Tokyo numbers, +81 3 5xxx xxxx.
pub fn number(i: usize) -> String {
    format!("+8135{:07}", 1_000_000 + i)
}

/// Whether queue `i` has an outbound caller ID (three in four do).
pub fn has_caller_id(i: usize) -> bool {
    i % 4 != 3
}

impl Instance {
    /// `shape`, with these users instead (username, first name, last name, routing profile id):
    /// user `i` is `u-{i:06}`, as a directory file names them (`connect_user_id`).
    pub fn with_users(shape: &Shape, users: &[(String, String, String, String)]) -> Self {
        let mut instance = Self::generate(&Shape { users: 0, ..*shape });
        instance.users = users
            .iter()
            .enumerate()
            .map(|(i, (username, first, last, profile))| {
                json!({
                    "Id": format!("u-{i:06}"),
                    "Arn": arn("agent", &format!("u-{i:06}")),
                    "Username": username,
                    "IdentityInfo": {"FirstName": first, "LastName": last},
                    "RoutingProfileId": profile,
                    "SecurityProfileIds": ["agent"],
                })
            })
            .collect();
        instance
    }

    pub fn generate(shape: &Shape) -> Self {
        let numbers: Vec<Value> = (0..shape.numbers)
            .map(|i| {
                let id = format!("pn-{i:05}");
                json!({
                    "PhoneNumberId": id,
                    "PhoneNumberArn": format!("arn:aws:connect:{REGION}:{ACCOUNT}:phone-number/{id}"),
                    "PhoneNumber": number(i),
                    "PhoneNumberCountryCode": "JP",
                    "PhoneNumberType": "DID",
                    "TargetArn": format!("arn:aws:connect:{REGION}:{ACCOUNT}:instance/{INSTANCE_ID}"),
                    "InstanceId": INSTANCE_ID,
                })
            })
            .collect();
        let queues: Vec<Value> = (0..shape.queues)
            .map(|i| {
                let id = format!("q-{i:05}");
                let mut queue = json!({
                    "QueueId": id,
                    "QueueArn": arn("queue", &id),
                    "Name": if i % 2 == 0 { format!("東京 営業 {i}") } else { format!("Osaka Support {i}") },
                    "Status": "ENABLED",
                });
                if has_caller_id(i) && shape.numbers > 0 {
                    let n = &numbers[i % shape.numbers];
                    // Connect accepts the number's id or its ARN here; use both.
                    let reference = if i % 2 == 0 { &n["PhoneNumberId"] } else { &n["PhoneNumberArn"] };
                    queue["OutboundCallerConfig"] = json!({
                        "OutboundCallerIdName": format!("Example Corp {i}"),
                        "OutboundCallerIdNumberId": reference,
                    });
                }
                queue
            })
            .collect();
        let profiles: Vec<Value> = (0..shape.profiles)
            .map(|i| {
                let id = format!("rp-{i:04}");
                let associated: Vec<String> = (0..shape.queues_per_profile.min(shape.queues))
                    .map(|k| format!("q-{:05}", (i * shape.queues_per_profile + k) % shape.queues.max(1)))
                    .collect();
                json!({
                    "RoutingProfileId": id,
                    "RoutingProfileArn": arn("routing-profile", &id),
                    "Name": format!("Profile {i}"),
                    "InstanceId": INSTANCE_ID,
                    "DefaultOutboundQueueId": associated.first(),
                    "AssociatedQueueIds": associated,
                    "NumberOfAssociatedQueues": associated.len(),
                })
            })
            .collect();
        let users = (0..shape.users)
            .map(|i| {
                json!({
                    "Id": format!("u-{i:06}"),
                    "Arn": arn("agent", &format!("u-{i:06}")),
                    "Username": format!("agent{i:05}@example.com"),
                    "IdentityInfo": {"FirstName": GIVEN[i % GIVEN.len()], "LastName": FAMILY[i % FAMILY.len()]},
                    "RoutingProfileId": format!("rp-{:04}", i % shape.profiles.max(1)),
                    "HierarchyGroupId": format!("hg-{}", i % 10),
                    "SecurityProfileIds": ["agent"],
                })
            })
            .collect();
        let statuses = STATUSES
            .iter()
            .enumerate()
            .map(|(i, (name, kind))| json!({"Id": format!("st-{i}"), "Arn": arn("agent-state", &format!("st-{i}")), "Name": name, "Type": kind}))
            .collect();
        Self { users, statuses, queues, numbers, profiles }
    }
}
