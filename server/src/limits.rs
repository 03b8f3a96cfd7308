//! A token bucket, for per-connection frame rates.

use std::time::Instant;

/// Allows `rate` events per second on average and bursts of `burst`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32, burst: u32) -> Self {
        Self { rate: f64::from(rate), burst: f64::from(burst), tokens: f64::from(burst), last: Instant::now() }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.try_take_at(Instant::now())
    }

    /// Whether the bucket would be back at its burst by `now` (it holds nothing worth keeping).
    pub fn is_full_at(&self, now: Instant) -> bool {
        self.tokens + now.saturating_duration_since(self.last).as_secs_f64() * self.rate >= self.burst
    }

    pub fn try_take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 20);
        let burst = (0..100).filter(|_| bucket.try_take_at(start)).count();
        assert_eq!(burst, 20);
        let later = start + Duration::from_millis(500);
        let refilled = (0..100).filter(|_| bucket.try_take_at(later)).count();
        assert_eq!(refilled, 5);
        let much_later = later + Duration::from_secs(100);
        assert_eq!((0..100).filter(|_| bucket.try_take_at(much_later)).count(), 20, "capped at the burst");
    }
}
