//! The CCP Sidecar relay: authenticated presence and chat over WebSocket, durable by default.
//!
//! # Layout
//! - [`config`]: flags, environment and TOML file.
//! - [`state`]: the shared state ([`state::App`]) and its construction at start.
//! - [`serve`]: [`run`] (what `main` calls; the tests call `run_with_clock`), the routes
//!   (`/ws`, `/healthz`, `/readyz`, `/metrics`, `/dev/oidc`), the accept loop and graceful
//!   shutdown.
//! - [`jobs`]: the sweeper, key refresh, retention, Connect sync and presence lanes.
//! - [`session`]: one WebSocket connection, from `hello` to close.
//! - [`requests`]: one handler per request frame, by concern, each answering with a `Reply`.
//! - [`presence`]: per-agent presence, last-writer-wins, grace period, roster fan-out.
//! - [`chat`]: the rules of 1:1 conversations (text limits, peers, acks and deliveries, pages).
//! - [`help`]: the rules of help requests, the live ones in memory, the day's figures.
//! - [`hub`]: live connections, bounded outbound queues, the slow-client policy.
//! - [`auth`]: OIDC token validation (JWKS discovery, cache, rotation) and the dev issuer.
//! - [`directory`]: users and rosters.
//! - [`calls`]: outbound call history, advanced by the extension's reports.
//! - [`callerids`]: every routing profile's caller IDs; [`numbers`]: E.164 normalisation.
//! - [`network`]: allowed client networks and the client address behind trusted proxies.
//! - [`quota`]: per-principal request allowance across connections and REST calls.
//! - [`tickets`]: single-use WebSocket tickets.
//! - [`rest`]: the REST API (caller IDs, call history, number check) with bearer tokens.
//! - `sync` (feature `connect`): the Amazon Connect directory sync job; `realtime` (feature
//!   `connect`): the reader of Connect's real-time data and the supervisor actions in Connect.
//! - [`actions`]: supervisor actions in Connect as handlers see them.
//! - [`store`]: the storage trait, its SQLite backend and its conformance suite.
//! - [`ws`]: the relay's WebSocket framing.
//! - [`metrics`]: every metric, declared once; [`limits`]: a token bucket.
//! - [`clock`]: the relay's clock for what expires (moved by hand in tests).

pub mod actions;
pub mod auth;
pub mod bus;
pub mod callerids;
pub mod calls;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod directory;
pub mod help;
pub mod hub;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod network;
pub mod numbers;
pub mod packages;
pub mod presence;
pub mod quota;
#[cfg(feature = "connect")]
pub mod realtime;
pub mod requests;
pub mod rest;
pub mod serve;
pub mod session;
pub mod state;
pub mod store;
#[cfg(feature = "connect")]
pub mod sync;
pub mod tickets;
pub mod ws;

pub use config::Config;
pub use serve::run;
pub use state::StartError;
