//! Round-trip tests driven by data: every frame of every direction against its expected JSON,
//! inputs that must be refused, the examples in `docs/protocol.md`, the managed-storage schema and the policy templates.

mod docs;
mod frames;
mod panel;
mod policies;
mod schema;
