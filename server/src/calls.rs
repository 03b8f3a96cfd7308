//! Outbound call history: how a reported step of a call changes its record (`store-core`'s, so
//! every backend advances calls alike).

pub use store_core::calls::*;
