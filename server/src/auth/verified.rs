//! Tokens already verified, so that a token sent again (every REST request and reconnect of an
//! agent, until the extension renews it) costs a hash and a lookup instead of a signature check.
//!
//! Keyed by the token's SHA-256, never the token itself. An entry is used until the token
//! expires, for at most [`RECHECK`], and only while no issuer has retired a key since (the
//! `generation` the caller passes): a key the provider withdraws stops working as soon as the
//! relay has fetched the new key set, and within [`RECHECK`] in any case.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{Identity, LEEWAY_S};
use crate::clock;

pub const RECHECK: Duration = Duration::from_secs(600);
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct Verified {
    entries: Mutex<HashMap<[u8; 32], (Identity, Instant, u64)>>,
}

impl Verified {
    pub fn get(&self, token: &str, generation: u64) -> Option<Identity> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut entries = self.entries.lock().ok()?;
        let (identity, at, verified_in) = entries.get(&key)?;
        let live = identity.expires_at.saturating_add(LEEWAY_S as i64 * 1000) > clock::now_ms();
        if live && at.elapsed() < RECHECK && *verified_in == generation {
            return Some(identity.clone());
        }
        entries.remove(&key);
        None
    }

    pub fn insert(&self, token: &str, identity: &Identity, generation: u64) {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= MAX_ENTRIES {
            let now = clock::now_ms();
            entries.retain(|_, (i, at, g)| i.expires_at > now && at.elapsed() < RECHECK && *g == generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (identity.clone(), Instant::now(), generation));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(expires_at: i64) -> Identity {
        Identity { principal: "a@example.com".into(), display_name: None, supervisor: false, expires_at }
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires() {
        let cache = Verified::default();
        assert!(cache.get("t1", 0).is_none());
        cache.insert("t1", &identity(clock::now_ms() + 60_000), 0);
        assert_eq!(cache.get("t1", 0).map(|i| i.principal), Some("a@example.com".into()));
        assert!(cache.get("t2", 0).is_none(), "another token is not this one");
        assert!(cache.get("t1", 1).is_none(), "a key was retired since: checked again");
        cache.insert("old", &identity(clock::now_ms() - (LEEWAY_S as i64 + 1) * 1000), 0);
        assert!(cache.get("old", 0).is_none(), "expired: checked again, and refused there");
    }
}
