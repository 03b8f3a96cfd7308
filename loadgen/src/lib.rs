//! Relay clients outside the browser: the protocol client the load generator, the demo's
//! simulated colleagues and the relay's integration tests share.
//!
//! # Layout
//! - [`client`]: one WebSocket connection speaking the relay protocol.
//! - [`attacks`]: the security suite's attacks and the store snapshot that proves nothing changed.
//! - [`security`]: the security benchmark (attacks, a flood beside honest agents).
//! - [`tokens`]: ID tokens from the relay's development issuer.
//! - [`bench`]: the relay benchmark.
//! - [`colleagues`]: the demo's simulated colleagues.
//! - [`floor`]: the agents behind the supervisor floor's figures (`bin/floor-load.rs`).
//! - [`process`]: a relay binary run as a child process.
//! - [`crash`]: SIGKILL during a chat storm, then a check of every acknowledged message.
//! - [`wire`]: minimal WebSocket framing for the benchmark's hot path.
//! - `bin/relay-bench.rs`: the load generator behind `cargo xtask bench relay`.
//! - `bin/colleagues.rs`: simulated colleagues for `cargo xtask demo`.
//! - `bin/security-bench.rs`: the security benchmark behind `cargo xtask bench security`.

pub mod attacks;
pub mod bench;
pub mod client;
pub mod cluster_bench;
pub mod colleagues;
pub mod crash;
pub mod floor;
pub mod process;
pub mod redis;
pub mod security;
pub mod tokens;
pub mod wire;

pub use client::{Client, Event};

/// Now, in milliseconds since the epoch (the protocol's time).
pub fn now_ms() -> protocol::Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
