//! Connect's real-time data and supervisor actions, through the same token bucket as the
//! directory read: `GetCurrentUserData` (who is logged in now, their status and contacts),
//! `MonitorContact` (listen in or barge in) and `PutUserStatus` (set an agent's status).

use aws_sdk_connect::types::{MonitorCapability, UserData, UserDataFilters};

use crate::SyncError;
use crate::client::Connect;

/// Most routing profiles in one `GetCurrentUserData` filter (Connect's limit).
pub const FILTER_MAX: usize = 100;
/// The largest page `GetCurrentUserData` serves.
pub const USER_DATA_PAGE: i32 = 100;

/// An agent logged in to Connect now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentNow {
    /// The Connect user id (not the username: the directory maps one to the other).
    pub user_id: String,
    pub routing_profile: Option<String>,
    /// The agent status's name as the CCP shows it.
    pub status: String,
    /// When the status started, in ms since the epoch.
    pub since_ms: i64,
    pub contacts: Vec<ContactNow>,
}

/// One of an agent's contacts now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactNow {
    pub contact_id: String,
    /// Connect's channel: `VOICE`, `CHAT`, `TASK`, `EMAIL`.
    pub channel: String,
    /// Connect's `AgentContactState` (`CONNECTED`, `CONNECTED_ONHOLD`, `ENDED` for after-contact
    /// work, ...).
    pub state: String,
    pub since_ms: i64,
}

/// Milliseconds since the epoch, rounded: Connect sends seconds as a decimal number, which
/// arrives a hair under the millisecond it meant.
fn millis(time: &aws_sdk_connect::primitives::DateTime) -> i64 {
    time.secs() * 1000 + i64::from((time.subsec_nanos() + 500_000) / 1_000_000)
}

/// The agent in a `UserData`, if it names its user.
fn agent_now(data: &UserData) -> Option<AgentNow> {
    let status = data.status();
    Some(AgentNow {
        user_id: data.user()?.id()?.to_owned(),
        routing_profile: data.routing_profile().and_then(|p| p.id()).map(str::to_owned),
        status: status.and_then(|s| s.status_name()).unwrap_or_default().to_owned(),
        since_ms: status.and_then(|s| s.status_start_timestamp()).map_or(0, millis),
        contacts: data
            .contacts()
            .iter()
            .filter_map(|c| {
                Some(ContactNow {
                    contact_id: c.contact_id()?.to_owned(),
                    channel: c.channel().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    state: c.agent_contact_state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                    since_ms: c.state_start_timestamp().map_or(0, millis),
                })
            })
            .collect(),
    })
}

impl Connect {
    /// Every agent logged in now in `profiles`: filters of at most [`FILTER_MAX`] profiles,
    /// each read in pages of [`USER_DATA_PAGE`], so a poll costs one call per hundred profiles
    /// and per hundred agents logged in, never more with more people watching.
    pub async fn current_agents(&self, profiles: &[String]) -> Result<Vec<AgentNow>, SyncError> {
        let id = self.instance_id.clone();
        let c = self.client();
        let mut agents = Vec::new();
        for chunk in profiles.chunks(FILTER_MAX) {
            let filters = UserDataFilters::builder().set_routing_profiles(Some(chunk.to_vec())).build();
            let data = self
                .all(
                    "GetCurrentUserData",
                    |token| {
                        c.get_current_user_data()
                            .instance_id(&id)
                            .filters(filters.clone())
                            .max_results(USER_DATA_PAGE)
                            .set_next_token(token)
                            .send()
                    },
                    |page| (page.user_data_list.unwrap_or_default(), page.next_token),
                )
                .await?;
            agents.extend(data.iter().filter_map(agent_now));
        }
        Ok(agents)
    }

    /// Puts `user_id` (a supervisor's Connect user) on `contact_id`, listening, and able to
    /// barge in when `barge`. One client token for every attempt, so a retry never monitors
    /// twice. Returns the monitoring contact's id.
    pub async fn monitor_contact(&self, contact_id: &str, user_id: &str, barge: bool) -> Result<String, SyncError> {
        let id = self.instance_id.clone();
        let c = self.client();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let token = format!("ccp-sidecar-{contact_id}-{user_id}-{nanos}");
        let out = self
            .call("MonitorContact", || {
                let mut request = c
                    .monitor_contact()
                    .instance_id(&id)
                    .contact_id(contact_id)
                    .user_id(user_id)
                    .client_token(&token)
                    .allowed_monitor_capabilities(MonitorCapability::SilentMonitor);
                if barge {
                    request = request.allowed_monitor_capabilities(MonitorCapability::Barge);
                }
                request.send()
            })
            .await?;
        Ok(out.contact_id().unwrap_or_default().to_owned())
    }

    /// Sets `user_id`'s agent status to the status `status_id`.
    pub async fn put_user_status(&self, user_id: &str, status_id: &str) -> Result<(), SyncError> {
        let id = self.instance_id.clone();
        let c = self.client();
        self.call("PutUserStatus", || {
            c.put_user_status().instance_id(&id).user_id(user_id).agent_status_id(status_id).send()
        })
        .await?;
        Ok(())
    }
}
