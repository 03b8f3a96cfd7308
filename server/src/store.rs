//! The storage trait and its records (the `store-core` crate, shared with the DynamoDB backend),
//! the SQLite backend (the default), and opening the one the configuration names.

pub mod sqlite;

use std::sync::Arc;

pub use sqlite::SqliteStore;
pub use store_core::*;

use crate::config::{Config, StoreKind};

/// The store `config` names: SQLite in `--data-dir`, or DynamoDB (the `dynamodb` feature).
pub async fn open(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match config.store {
        StoreKind::Sqlite => Ok(Arc::new(SqliteStore::open(&config.data_dir)?)),
        #[cfg(feature = "dynamodb")]
        StoreKind::Dynamodb => {
            let dynamo = store_dynamodb::DynamoConfig {
                table_prefix: config.dynamodb_table_prefix.clone(),
                endpoint: config.dynamodb_endpoint.clone(),
                retention: (config.retention_days > 0)
                    .then(|| std::time::Duration::from_secs(u64::from(config.retention_days) * 86_400)),
            };
            let store = store_dynamodb::DynamoStore::connect(&dynamo).await;
            if config.dynamodb_create_tables {
                store.create_tables().await?;
            }
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "dynamodb"))]
        StoreKind::Dynamodb => anyhow::bail!(
            "--store dynamodb needs a relay built with the dynamodb feature \
             (cargo build --release -p server --features dynamodb)"
        ),
    }
}
