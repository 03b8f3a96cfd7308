//! Round-trip tests driven by data: every frame of every direction against its expected JSON,
//! inputs that must be refused, and the examples in `docs/protocol.md`.

mod docs;
mod frames;
mod panel;
