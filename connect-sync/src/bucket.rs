//! A token bucket: at most `burst` requests at once, then `rate` per second. Every Connect API
//! call, first attempts and retries alike, takes one token.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket. `rate` must be positive and `burst` at least 1.
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self { rate: rate.max(f64::MIN_POSITIVE), burst, state: Mutex::new((burst, Instant::now())) }
    }

    /// Waits for a token and takes it. Callers queue on the lock, so tokens go in call order.
    pub async fn acquire(&self) {
        let mut state = self.state.lock().await;
        loop {
            let now = Instant::now();
            let (tokens, last) = *state;
            let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
            if tokens >= 1.0 {
                *state = (tokens - 1.0, now);
                return;
            }
            *state = (tokens, now);
            tokio::time::sleep(Duration::from_secs_f64((1.0 - tokens) / self.rate)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let bucket = TokenBucket::new(2.0, 5);
        let start = tokio::time::Instant::now();
        let mut at = Vec::new();
        for _ in 0..9 {
            bucket.acquire().await;
            at.push(start.elapsed().as_millis());
        }
        // Five at once, then one every 500 ms.
        assert_eq!(at, [0, 0, 0, 0, 0, 500, 1000, 1500, 2000]);
    }
}
