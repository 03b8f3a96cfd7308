//! The supervisor floor's logic, as plain Rust shared by the panel (the Floor view) and the
//! worker (notifications and the badge while no panel is open). No I/O and no clock: callers pass
//! presence as the relay sends it and the time, in milliseconds; everything compiles for
//! wasm32 and is host-tested.
//!
//! # Layout
//! - [`thresholds`]: the alert thresholds in force (policy over options over defaults) and which
//!   ones policy fixes.
//! - [`alerts`]: the rules, their episodes and [`Alerts`], the tracker that raises, escalates
//!   and ends them with cheap ticks.
//! - [`board`]: [`Board`], every watched agent by team with [`Counts`] per [`Category`],
//!   updated one agent at a time, and the [`Row`]s a virtual list shows for a [`Query`].
//! - [`category`]: the floor's categories of a presence (available, on contact by channel, ...).
//! - [`text`]: folding for search and name order (case, full/half width, kana).

pub mod alerts;
pub mod board;
pub mod category;
pub mod text;
pub mod thresholds;

#[cfg(test)]
mod testing;

pub use alerts::{Alert, AlertChange, Alerts, Severity};
pub use board::{Board, Counts, Query, Row, Sort};
pub use category::Category;
pub use thresholds::Thresholds;
