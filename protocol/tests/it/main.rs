//! Round-trip tests driven by data: every frame of every direction against its expected JSON,
//! inputs that must be refused, the examples in `docs/protocol.md`, and the managed-storage schema.

mod docs;
mod frames;
mod panel;
mod schema;
