//! The relay's store on DynamoDB: every [`Store`] method with the guarantees the SQLite store
//! gives, proven by the same `store_core::conformance` suite against a DynamoDB-compatible server.
//!
//! # Layout
//! - [`tables`]: the tables, their keys and indexes (what `deploy/aws/` declares), and creating
//!   them on a local server.
//! - `attrs`: reading and writing item attributes.
//! - `chat`: appends (one conditional transaction), reads by key ranges, summaries, read markers.
//! - `snapshots`: presence, and the directory and routing profiles replaced whole by generation.
//! - `calls`: call records advanced under a version condition, pages by the start index.
//! - `help`: help requests (ids from a counter, forward-only status by condition).
//! - `expire`: retention by the time indexes, in batches.
//! - [`local`]: a local DynamoDB-compatible server for the tests and the demo.
//!
//! # Decisions
//! - Appends: the conversation's item holds `last_seq`; a message is stored by one
//!   `TransactWriteItems` that moves `last_seq` from the value read to the next (condition),
//!   puts the message (condition: new) and its `(sender, client_id)` key (condition: new). A
//!   resend fails the key's condition and is answered with the stored message; a second relay
//!   racing fails the `last_seq` condition and reads again. Within one relay, appends to one
//!   conversation wait for each other (a lock per conversation, the last number cached), so
//!   only relays racing each other ever retry. Nothing is acknowledged before the transaction
//!   succeeded.
//! - Throttling and 5xx: the SDK's standard retry (exponential backoff with jitter, 4 attempts),
//!   2 s per attempt and 5 s per request; then [`StoreError::Unavailable`].
//! - Expired items (the TTL attribute `expires_at`, set when a retention period is configured)
//!   are left out of reads even before DynamoDB deletes them.

mod attrs;
mod calls;
mod chat;
mod expire;
mod help;
pub mod local;
mod snapshots;
pub mod tables;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use protocol::{
    CallEvent, CallRecord, ChatMessage, ConversationSummary, DirectoryUser, HelpRequest, Millis, RoutingProfile,
};
use store_core::{Appended, NewHelp, NewMessage, PresenceRecord, Store, StoreError};

pub use tables::Tables;

/// Where the tables are and how long items live.
#[derive(Debug, Clone, Default)]
pub struct DynamoConfig {
    /// Prepended to every table name (`sidecar-prod-` gives `sidecar-prod-messages`, ...).
    pub table_prefix: String,
    /// A local DynamoDB-compatible server (`http://127.0.0.1:8000`); `None` for AWS.
    pub endpoint: Option<String>,
    /// Messages and calls get a TTL attribute this far after they were sent or started.
    pub retention: Option<Duration>,
}

/// The DynamoDB store.
pub struct DynamoStore {
    client: Client,
    tables: Tables,
    retention_ms: Option<i64>,
    /// Per conversation: a lock appends to it take in this relay, holding the last number known.
    conversations: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<u64>>>>>,
    /// Requests sent to DynamoDB (every attempt), for the benchmark's cost figures.
    requests: Arc<AtomicU64>,
}

/// Counts every request the SDK sends (each attempt).
#[derive(Debug)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn modify_before_transmit(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl DynamoStore {
    /// A store on the tables `config` names, with credentials and region from the default chain.
    pub async fn connect(config: &DynamoConfig) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Self::with_sdk(&loader.load().await, config)
    }

    /// A store through an SDK configuration made elsewhere (a local server's, in the tests).
    pub fn with_sdk(shared: &aws_config::SdkConfig, config: &DynamoConfig) -> Self {
        let requests = Arc::new(AtomicU64::new(0));
        let dynamo = aws_sdk_dynamodb::config::Builder::from(shared)
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .operation_timeout(Duration::from_secs(5))
                    .build(),
            )
            .interceptor(CountRequests(requests.clone()))
            .build();
        Self {
            client: Client::from_conf(dynamo),
            tables: Tables::new(&config.table_prefix),
            retention_ms: config.retention.map(|r| r.as_millis() as i64),
            conversations: std::sync::Mutex::new(HashMap::new()),
            requests,
        }
    }

    /// Creates the tables if they are missing (a local server; in AWS the CloudFormation
    /// template in `deploy/aws/` does).
    pub async fn create_tables(&self) -> Result<(), StoreError> {
        tables::create(&self.client, &self.tables).await
    }

    /// Every item of every table, one line each (`table: name=value | ...`, attributes by name),
    /// sorted: to compare what is stored before and after (the security suite). Scans: a tool,
    /// never a request path.
    pub async fn dump(&self) -> Result<Vec<String>, StoreError> {
        let mut rows = Vec::new();
        for spec in tables::SPECS {
            let table = format!("{}{}", self.tables.prefix, spec.name);
            for item in attrs::scan(self, &table, "dump").await? {
                let mut fields: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
                fields.sort();
                rows.push(format!("{}: {}", spec.name, fields.join(" | ")));
            }
        }
        rows.sort();
        Ok(rows)
    }

    /// Requests sent to DynamoDB so far (every attempt).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The TTL attribute's value (epoch seconds) for an item sent or started at `at`.
    fn expires_at(&self, at: Millis) -> Option<i64> {
        self.retention_ms.map(|r| (at + r) / 1000)
    }

    /// The lock appends to `conv` take in this relay.
    fn conversation(&self, conv: &str) -> Arc<tokio::sync::Mutex<Option<u64>>> {
        let mut map = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(conv.to_owned()).or_default().clone()
    }
}

/// Now, in milliseconds since the epoch.
fn now_ms() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

/// An SDK error as the relay's: the store did not answer (the detail is logged, not sent).
fn unavailable<E: std::error::Error + 'static>(what: &str, e: E) -> StoreError {
    StoreError::Unavailable(format!("{what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
}

#[async_trait]
impl Store for DynamoStore {
    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError> {
        chat::append(self, message).await
    }

    async fn messages_after(&self, a: &str, b: &str, after: u64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        chat::after(self, a, b, after, limit).await
    }

    async fn history(&self, a: &str, b: &str, before: Option<u64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        chat::history(self, a, b, before, limit).await
    }

    async fn conversations(&self, principal: &str) -> Result<Vec<ConversationSummary>, StoreError> {
        chat::conversations(self, principal).await
    }

    async fn mark_read(&self, principal: &str, peer: &str, seq: u64) -> Result<u64, StoreError> {
        chat::mark_read(self, principal, peer, seq).await
    }

    async fn put_presence(&self, record: &PresenceRecord) -> Result<bool, StoreError> {
        snapshots::put_presence(self, record).await
    }

    async fn load_presence(&self) -> Result<Vec<PresenceRecord>, StoreError> {
        snapshots::load_presence(self).await
    }

    async fn put_directory(&self, users: &[DirectoryUser]) -> Result<(), StoreError> {
        snapshots::put_directory(self, users).await
    }

    async fn directory(&self) -> Result<Vec<DirectoryUser>, StoreError> {
        snapshots::directory(self).await
    }

    async fn put_routing_profiles(
        &self,
        profiles: &[RoutingProfile],
        synced_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        snapshots::put_routing_profiles(self, profiles, synced_at).await
    }

    async fn routing_profiles(&self) -> Result<(Vec<RoutingProfile>, Option<Millis>), StoreError> {
        snapshots::routing_profiles(self).await
    }

    async fn record_call(
        &self,
        principal: &str,
        event: &CallEvent,
        caller_id: Option<String>,
    ) -> Result<CallRecord, StoreError> {
        calls::record(self, principal, event, caller_id).await
    }

    async fn calls(&self, principal: &str, before: Option<Millis>, limit: u32) -> Result<Vec<CallRecord>, StoreError> {
        calls::page(self, principal, before, limit).await
    }

    async fn expire(&self, before: Millis, limit: u32) -> Result<(u64, u64), StoreError> {
        expire::messages_and_calls(self, before, limit).await
    }

    async fn add_help(&self, request: NewHelp) -> Result<HelpRequest, StoreError> {
        help::add(self, request).await
    }

    async fn update_help(&self, request: &HelpRequest) -> Result<bool, StoreError> {
        help::update(self, request).await
    }

    async fn help(&self, id: u64) -> Result<Option<HelpRequest>, StoreError> {
        help::get(self, id).await
    }

    async fn live_help(&self) -> Result<Vec<HelpRequest>, StoreError> {
        help::live(self).await
    }

    async fn help_asked_since(&self, since: Millis) -> Result<Vec<HelpRequest>, StoreError> {
        help::asked_since(self, since).await
    }

    async fn expire_help(&self, before: Millis, limit: u32) -> Result<u64, StoreError> {
        help::expire(self, before, limit).await
    }

    fn requests(&self) -> Option<u64> {
        Some(DynamoStore::requests(self))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.tables.meta)
            .key("name", attrs::s("ping"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("ping", e))
    }
}
