//! WebSocket tickets: `POST /api/v1/ws-ticket` with a bearer token gives a random ticket that a
//! `hello` may carry instead of the token. A ticket is good for one connection, for
//! `--ws-ticket-ttl-ms`, and is kept only as its SHA-256 (a memory dump holds no usable ticket).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use protocol::Millis;
use sha2::{Digest, Sha256};

use crate::auth::Identity;

/// Outstanding tickets per principal; asking for more drops that principal's oldest.
const PER_PRINCIPAL: usize = 8;

struct Ticket {
    identity: Identity,
    issued_at: Millis,
    expires_at: Millis,
}

pub struct Tickets {
    ttl_ms: Millis,
    by_hash: Mutex<HashMap<[u8; 32], Ticket>>,
}

fn hash(ticket: &str) -> [u8; 32] {
    Sha256::digest(ticket.as_bytes()).into()
}

impl Tickets {
    pub fn new(ttl_ms: u64) -> Self {
        Self { ttl_ms: Millis::try_from(ttl_ms).unwrap_or(Millis::MAX), by_hash: Mutex::new(HashMap::new()) }
    }

    /// A new ticket for `identity` and when it stops being accepted (never after the token).
    pub fn issue(&self, identity: Identity, now: Millis) -> (String, Millis) {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        let ticket = URL_SAFE_NO_PAD.encode(bytes);
        let expires_at = now.saturating_add(self.ttl_ms).min(identity.expires_at);
        let Ok(mut tickets) = self.by_hash.lock() else { return (ticket, 0) };
        tickets.retain(|_, t| t.expires_at > now);
        let mut mine: Vec<([u8; 32], Millis)> = tickets
            .iter()
            .filter(|(_, t)| t.identity.principal == identity.principal)
            .map(|(h, t)| (*h, t.issued_at))
            .collect();
        if mine.len() >= PER_PRINCIPAL {
            mine.sort_by_key(|(_, issued)| *issued);
            for (h, _) in &mine[..=mine.len() - PER_PRINCIPAL] {
                tickets.remove(h);
            }
        }
        tickets.insert(hash(&ticket), Ticket { identity, issued_at: now, expires_at });
        (ticket, expires_at)
    }

    /// The identity a ticket was issued to, once: a ticket is gone as soon as it is presented,
    /// whether it was still valid or not.
    pub fn redeem(&self, ticket: &str, now: Millis) -> Option<Identity> {
        let found = self.by_hash.lock().ok()?.remove(&hash(ticket))?;
        (found.expires_at > now).then_some(found.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(principal: &str) -> Identity {
        Identity { principal: principal.into(), display_name: None, supervisor: false, expires_at: 1_000_000 }
    }

    #[test]
    fn a_ticket_works_once_and_only_before_it_expires() {
        let tickets = Tickets::new(30_000);
        let (ticket, expires_at) = tickets.issue(identity("a@x"), 1_000);
        assert_eq!(expires_at, 31_000);
        assert_eq!(tickets.redeem(&ticket, 2_000).map(|i| i.principal), Some("a@x".into()));
        assert!(tickets.redeem(&ticket, 2_000).is_none(), "replayed");
        let (late, _) = tickets.issue(identity("a@x"), 1_000);
        assert!(tickets.redeem(&late, 31_000).is_none(), "expired");
        assert!(tickets.redeem("made-up", 2_000).is_none());
    }

    #[test]
    fn a_ticket_never_outlives_its_token_and_each_principal_holds_a_few() {
        let tickets = Tickets::new(30_000);
        let (_, expires_at) = tickets.issue(identity("a@x"), 990_000);
        assert_eq!(expires_at, 1_000_000);
        let issued: Vec<String> = (0..PER_PRINCIPAL as i64 + 2).map(|n| tickets.issue(identity("b@x"), n).0).collect();
        assert!(tickets.redeem(&issued[0], 10).is_none(), "the oldest were dropped");
        assert!(tickets.redeem(&issued[PER_PRINCIPAL + 1], 10).is_some());
    }
}
