//! A local stand-in for the part of the Amazon Connect REST API the relay uses (the directory
//! sync's five operations; real-time data, monitoring and agent status), for
//! tests and benchmarks (Amazon Connect itself cannot run here). The real AWS SDK talks to it
//! through its endpoint override.
//!
//! It serves a generated instance of any size ([`Shape`]) in Connect's JSON shapes with
//! Connect's page limits and next tokens; applies Connect's throttling as a token bucket
//! (`429 TooManyRequestsException`) and injected failures ([`Behaviour`]); and records every
//! request's arrival time, so a test can prove the client's rate limit held
//! ([`max_rate`], [`max_burst`]).

mod data;
mod realtime;
mod routes;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use data::{INSTANCE_ID, Instance, Shape};
pub use realtime::{AgentNow, ContactNow, FILTER_MAX, Monitor, USER_DATA_PAGE, user_id};

/// The largest page each operation serves (Connect's `MaxResults` limits).
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub users: usize,
    pub statuses: usize,
    pub queues: usize,
    pub numbers: usize,
    pub profiles: usize,
}

impl PageLimits {
    pub const CONNECT: Self = Self { users: 500, statuses: 1000, queues: 100, numbers: 1000, profiles: 100 };
}

/// How the fake misbehaves.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Connect's quota: requests per second and burst. Requests beyond it get 429.
    pub quota: Option<(f64, u32)>,
    /// The first this many requests get `429 TooManyRequestsException`.
    pub throttle_first: u32,
    /// The next this many requests (after the throttled ones) get `500 InternalServiceException`.
    pub fail_first: u32,
    /// Every request to this operation fails with `400 InvalidRequestException` (a failure no
    /// retry fixes).
    pub broken_operation: Option<&'static str>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self { quota: Some((2.0, 5)), throttle_first: 0, fail_first: 0, broken_operation: None }
    }
}

/// One request as it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// Since the fake started.
    pub at: Duration,
    pub operation: &'static str,
    pub status: u16,
}

pub(crate) struct State {
    pub instance: Instance,
    pub behaviour: Mutex<Behaviour>,
    pub log: Mutex<Vec<Logged>>,
    pub started: Instant,
    /// The quota bucket's debt: requests admitted beyond what the rate has paid back.
    pub debt: Mutex<(f64, Duration)>,
    /// The agents logged in now, by user index.
    pub agents: Mutex<std::collections::BTreeMap<usize, AgentNow>>,
    pub monitors: Mutex<Vec<Monitor>>,
}

/// A running fake; stops when dropped.
pub struct FakeConnect {
    pub url: String,
    state: Arc<State>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeConnect {
    /// Serves `shape` on a free loopback port.
    pub async fn start(shape: Shape, behaviour: Behaviour) -> std::io::Result<Self> {
        Self::serve(Instance::generate(&shape), behaviour, "127.0.0.1:0").await
    }

    /// Serves `instance` on `address`.
    pub async fn serve(instance: Instance, behaviour: Behaviour, address: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State {
            instance,
            behaviour: Mutex::new(behaviour),
            log: Mutex::new(Vec::new()),
            started: Instant::now(),
            debt: Mutex::new((0.0, Duration::ZERO)),
            agents: Mutex::default(),
            monitors: Mutex::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = routes::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self { url, state, _stop: stop })
    }

    /// The instance it serves, to compare a sync's result with.
    pub fn instance(&self) -> &Instance {
        &self.state.instance
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.state.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// Sets what an agent is doing now, as `GetCurrentUserData` will report it.
    pub fn set_agent(&self, agent: AgentNow) {
        if let Ok(mut agents) = self.state.agents.lock() {
            agents.insert(agent.user, agent);
        }
    }

    /// The agent logs out of the CCP: `GetCurrentUserData` no longer lists them.
    pub fn remove_agent(&self, user: usize) {
        if let Ok(mut agents) = self.state.agents.lock() {
            agents.remove(&user);
        }
    }

    /// What an agent is doing now (after a `PutUserStatus`, say).
    pub fn agent(&self, user: usize) -> Option<AgentNow> {
        self.state.agents.lock().ok()?.get(&user).cloned()
    }

    /// Every `MonitorContact` request accepted so far.
    pub fn monitors(&self) -> Vec<Monitor> {
        self.state.monitors.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Logged> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

/// Timing slack for measurements taken at the receiving end: a request the client released on
/// time may arrive a few milliseconds early or late relative to the one before it.
pub const SLACK: Duration = Duration::from_millis(25);

/// The most requests owed at once to a token bucket refilling at `rate` per second: the
/// smallest burst with which such a bucket would have admitted every request (with [`SLACK`]).
pub fn max_burst(log: &[Logged], rate: f64) -> u32 {
    let peak = peak_debt(log, rate);
    (peak - SLACK.as_secs_f64() * rate).ceil().max(0.0) as u32
}

/// The smallest rate at which a bucket of `burst` tokens would have admitted every request
/// (with [`SLACK`]): the sustained rate the log shows, burst allowed for.
pub fn max_rate(log: &[Logged], burst: u32) -> f64 {
    let (mut low, mut high) = (0.0_f64, 10_000.0_f64);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if peak_debt(log, mid) - SLACK.as_secs_f64() * mid <= f64::from(burst) {
            high = mid;
        } else {
            low = mid;
        }
    }
    (high * 100.0).ceil() / 100.0
}

fn peak_debt(log: &[Logged], rate: f64) -> f64 {
    let mut debt = 0.0_f64;
    let mut peak = 0.0_f64;
    let mut last = None;
    for entry in log {
        if let Some(last) = last {
            debt = (debt - (entry.at - last).as_secs_f64() * rate).max(0.0);
        }
        debt += 1.0;
        peak = peak.max(debt);
        last = Some(entry.at);
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(ms: &[u64]) -> Vec<Logged> {
        ms.iter().map(|m| Logged { at: Duration::from_millis(*m), operation: "SearchUsers", status: 200 }).collect()
    }

    #[test]
    fn a_bucket_client_measures_as_its_bucket() {
        // Five at once, then one every 500 ms: rate 2, burst 5.
        let l = log(&[0, 0, 0, 0, 0, 500, 1000, 1500, 2000, 2500, 3000]);
        assert_eq!(max_burst(&l, 2.0), 5);
        let rate = max_rate(&l, 5);
        assert!(rate <= 2.0 && rate > 1.9, "{rate}");
    }

    #[test]
    fn a_flood_is_seen() {
        let l = log(&[0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(max_burst(&l, 2.0), 10);
        assert!(max_rate(&l, 5) > 40.0);
    }
}
