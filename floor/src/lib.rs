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
//! - [`category`]: the floor's categories of a presence (available, on contact by channel, ...).
//! - [`text`]: folding for search and name order (case, full/half width, kana).

pub mod alerts;
pub mod category;
pub mod text;
pub mod thresholds;

pub use alerts::{Alert, AlertChange, Alerts, Severity};
pub use category::Category;
pub use thresholds::Thresholds;
