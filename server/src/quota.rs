//! Per-principal request quota: one token bucket per principal, shared by every connection and
//! REST call of that principal, so that opening more connections does not buy more throughput.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::limits::TokenBucket;

/// Buckets kept before idle ones (full again) are dropped.
const PRUNE_AT: usize = 4096;

pub struct Quota {
    rate: u32,
    burst: u32,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl Quota {
    /// `rate` requests per second per principal on average, bursts of `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate, burst, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `principal`'s allowance, if there is one left.
    pub fn try_take(&self, principal: &str) -> bool {
        self.try_take_at(principal, Instant::now())
    }

    pub fn try_take_at(&self, principal: &str, now: Instant) -> bool {
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(principal) {
            // A bucket that has refilled to its burst holds no information: forget it.
            buckets.retain(|_, b| !b.is_full_at(now));
        }
        match buckets.get_mut(principal) {
            Some(bucket) => bucket.try_take_at(now),
            None => {
                let mut bucket = TokenBucket::new(self.rate, self.burst);
                let taken = bucket.try_take_at(now);
                buckets.insert(principal.to_owned(), bucket);
                taken
            }
        }
    }

    /// What a refused request is told.
    pub fn refusal(&self) -> String {
        format!("more than {} requests per second from your connections together; slow down", self.rate)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn principals_have_separate_allowances_and_idle_ones_are_forgotten() {
        let quota = Quota::new(10, 20);
        let start = Instant::now();
        assert_eq!((0..50).filter(|_| quota.try_take_at("a", start)).count(), 20);
        assert_eq!((0..50).filter(|_| quota.try_take_at("b", start)).count(), 20, "b is not slowed by a");
        let later = start + Duration::from_secs(10);
        for n in 0..PRUNE_AT {
            quota.try_take_at(&format!("p{n}"), later);
        }
        let buckets = quota.buckets.lock().unwrap();
        assert!(buckets.len() <= PRUNE_AT, "full buckets were dropped");
        assert!(!buckets.contains_key("a") && !buckets.contains_key("b"), "refilled: forgotten");
        assert!(buckets.contains_key("p0"), "in use: kept");
        drop(buckets);
        assert_eq!((0..50).filter(|_| quota.try_take_at("a", later)).count(), 20, "a refilled");
    }
}
