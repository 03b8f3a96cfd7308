//! The storage trait and its records (the `store-core` crate, shared with the DynamoDB backend),
//! and the SQLite backend, the default.

pub mod sqlite;

pub use sqlite::SqliteStore;
pub use store_core::*;
