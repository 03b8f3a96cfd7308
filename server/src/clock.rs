//! Time in the wire's format (milliseconds since the Unix epoch), and [`Clock`]: the relay's
//! clock for what expires (presence grace periods, how long a connection's token lasts,
//! WebSocket tickets), which tests replace with one they move by hand instead of sleeping.
//!
//! The system clock stays in charge of what the relay only reports (directory age, retention)
//! and of the token checks made by `jsonwebtoken` when a token is verified.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use protocol::Millis;
use tokio::sync::Notify;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The relay's clock: the system's, or (in tests) one that moves only when told.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

#[derive(Debug)]
struct Manual {
    now: AtomicI64,
    moved: Notify,
}

impl Clock {
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock standing at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: Millis) -> Self {
        Self(Some(Arc::new(Manual { now: AtomicI64::new(start), moved: Notify::new() })))
    }

    pub fn now_ms(&self) -> Millis {
        match &self.0 {
            None => now_ms(),
            Some(manual) => manual.now.load(Ordering::Acquire),
        }
    }

    /// Moves a manual clock forward and wakes whoever waits in [`Clock::moved`]. The system
    /// clock cannot be moved: nothing happens.
    pub fn advance(&self, ms: Millis) {
        if let Some(manual) = &self.0 {
            manual.now.fetch_add(ms, Ordering::AcqRel);
            manual.moved.notify_waiters();
        }
    }

    /// Resolves when a manual clock is moved after this call (not after the first poll); never
    /// for the system clock. Timers that wait in real time also wait for this, so that a test
    /// moving the clock does not have to wait for them.
    pub fn moved(&self) -> impl Future<Output = ()> + Send + '_ {
        let notified = self.0.as_ref().map(|manual| manual.moved.notified());
        async move {
            match notified {
                None => std::future::pending().await,
                Some(notified) => notified.await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_told_and_wakes_its_waiters() {
        let clock = Clock::manual(1_000);
        assert_eq!(clock.now_ms(), 1_000);
        let moved = clock.moved();
        clock.advance(500);
        tokio::time::timeout(std::time::Duration::from_secs(1), moved).await.expect("woken");
        assert_eq!(clock.now_ms(), 1_500);
        let system = Clock::system();
        system.advance(10_000);
        assert!((system.now_ms() - now_ms()).abs() < 1_000, "the system clock cannot be moved");
        let never = tokio::time::timeout(std::time::Duration::from_millis(20), system.moved()).await;
        assert!(never.is_err());
    }
}
