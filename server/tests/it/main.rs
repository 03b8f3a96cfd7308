//! Relay integration tests over real sockets on port 0: a real SQLite file, a real OIDC issuer
//! served over HTTP (the relay's development issuer, run standalone as an external provider),
//! and the protocol client the tools use.

mod auth;
mod callerids;
mod chat;
#[cfg(feature = "dynamodb")]
mod cluster;
mod crash;
mod demo;
#[cfg(feature = "dynamodb")]
mod dynamodb;
mod help;
mod layering;
mod limits;
mod network;
mod openapi;
mod operations;
mod presence;
#[cfg(feature = "connect")]
mod realtime;
mod security;
mod store;
mod support;
#[cfg(feature = "connect")]
mod sync;
