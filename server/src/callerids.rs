//! The caller IDs of every routing profile, in memory for the REST API, replaced whole when the
//! directory is read again (from Connect or the directory file). A failed sync leaves the last
//! good set in place.

use std::collections::HashMap;
use std::sync::RwLock;

use protocol::{CallerIds, Millis, RoutingProfile};

#[derive(Default)]
struct Table {
    profiles: HashMap<String, RoutingProfile>,
    /// Queue ARN -> the caller-ID number the customer sees.
    numbers: HashMap<String, String>,
    synced_at: Option<Millis>,
}

#[derive(Default)]
pub struct CallerIdDirectory {
    table: RwLock<Table>,
}

impl CallerIdDirectory {
    pub fn new(profiles: Vec<RoutingProfile>, synced_at: Option<Millis>) -> Self {
        let this = Self::default();
        this.replace(profiles, synced_at);
        this
    }

    pub fn replace(&self, profiles: Vec<RoutingProfile>, synced_at: Option<Millis>) {
        let numbers =
            profiles.iter().flat_map(|p| &p.caller_ids).map(|c| (c.queue_arn.clone(), c.number.clone())).collect();
        let profiles = profiles.into_iter().map(|p| (p.id.clone(), p)).collect();
        if let Ok(mut table) = self.table.write() {
            *table = Table { profiles, numbers, synced_at };
        }
    }

    /// The caller IDs of routing profile `profile` (none for an unknown or absent profile).
    pub fn for_profile(&self, profile: Option<&str>) -> CallerIds {
        let Ok(table) = self.table.read() else {
            return CallerIds { caller_ids: Vec::new(), default_queue_arn: None, synced_at: None };
        };
        let found = profile.and_then(|p| table.profiles.get(p));
        let caller_ids = found.map(|p| p.caller_ids.clone()).unwrap_or_default();
        let default_queue_arn = found
            .and_then(|p| p.default_queue_arn.clone())
            .filter(|arn| caller_ids.iter().any(|c| &c.queue_arn == arn));
        CallerIds { caller_ids, default_queue_arn, synced_at: table.synced_at }
    }

    /// The number customers see on calls placed through `queue_arn`.
    pub fn number_of(&self, queue_arn: &str) -> Option<String> {
        self.table.read().ok()?.numbers.get(queue_arn).cloned()
    }

    pub fn synced_at(&self) -> Option<Millis> {
        self.table.read().ok()?.synced_at
    }
}
