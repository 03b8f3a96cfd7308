//! The store's conformance suite (the one SQLite passes) against a real DynamoDB-compatible
//! server started here on loopback.

use std::sync::Arc;

use store_dynamodb::local::LocalServer;
use store_dynamodb::{DynamoConfig, DynamoStore};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_passes_the_store_conformance_suite() {
    let server = LocalServer::start(&root()).expect("the local DynamoDB server");
    let config = DynamoConfig { table_prefix: "conformance-".into(), ..DynamoConfig::default() };
    let store = DynamoStore::with_sdk(&server.sdk_config().await, &config);
    store.create_tables().await.expect("tables");
    store.create_tables().await.expect("creating them again changes nothing");
    store_core::conformance::run(Arc::new(store)).await;
}
