//! Directory entries: who exists, under which Connect username, in which team.
//!
//! The relay reads them from a file (see `docs/protocol.md`, "Directory file") or, later, from
//! the Amazon Connect sync; rosters are scoped by one of these fields.

use serde::{Deserialize, Serialize};

use crate::RoutingProfile;

/// One person in the directory. `id` is the principal: the value of the identity claim of the
/// person's ID token (by default the e-mail address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryUser {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy_group: Option<String>,
    /// The person's Amazon Connect user id (not the username): how Connect's real-time data and
    /// actions name them. The Connect sync fills it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_user_id: Option<String>,
}

/// The directory file: `{"users": [...], "routing_profiles": [...]}` in JSON, or `[[users]]`
/// and `[[routing_profiles]]` tables in TOML. Users name their profile by its `id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    #[serde(default)]
    pub users: Vec<DirectoryUser>,
    #[serde(default)]
    pub routing_profiles: Vec<RoutingProfile>,
}
