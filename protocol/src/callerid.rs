//! Caller IDs: the company numbers an agent may show on an outbound call.
//!
//! In Amazon Connect the number a customer sees is the outbound caller ID of the queue the call
//! is placed through, so choosing a caller ID is choosing one of the outbound queues of the
//! agent's routing profile. The relay learns the queues from the Connect directory sync (or
//! from the directory file) and answers `GET /api/v1/caller-ids` with [`CallerIds`].

use serde::{Deserialize, Serialize};

use crate::Millis;

/// One outbound queue with its caller ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerId {
    pub queue_arn: String,
    pub queue_name: String,
    /// The caller-ID name (`OutboundCallerIdName`), when the queue has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The number in E.164 (`+81312345678`).
    pub number: String,
}

/// A routing profile: the queues its agents may call out through, and its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingProfile {
    /// What directory users name in `routing_profile`: the profile id from Connect, or any name
    /// in a directory file.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_queue_arn: Option<String>,
    /// Only queues that have an outbound caller ID.
    #[serde(default)]
    pub caller_ids: Vec<CallerId>,
}

/// The answer to `GET /api/v1/caller-ids`: the caller IDs the signed-in agent may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerIds {
    pub caller_ids: Vec<CallerId>,
    /// The routing profile's default outbound queue, when it has a caller ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_queue_arn: Option<String>,
    /// When the directory was last read from Connect (absent for a directory file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<Millis>,
}

/// `POST /api/v1/numbers/normalize`: a number as the agent typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeRequest {
    pub number: String,
    /// The country of a number typed without `+` (ISO 3166 alpha-2, `JP`); absent, the
    /// relay's default country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The number in E.164, ready to dial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalized {
    pub e164: String,
}
