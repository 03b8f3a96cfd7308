//! The tables, their keys and indexes, as `deploy/aws/` declares them, and creating them on a
//! local server. Every table bills on demand; `messages`, `client_ids` and `calls` carry the TTL
//! attribute `expires_at`.
//!
//! | table | key | indexes |
//! |---|---|---|
//! | `conversations` | `conv` | |
//! | `messages` | `conv`, `seq` (N) | `by_time`: `shard` (N), `sent_at` (N) |
//! | `client_ids` | `key` | |
//! | `members` | `principal`, `peer` | |
//! | `presence` | `principal` | |
//! | `snapshots` | `set`, `id` | |
//! | `meta` | `name` | |
//! | `calls` | `principal`, `contact_id` | LSI `by_start`: `started_at` (N); `by_time`: `shard` (N), `started_at` (N) |
//! | `help` | `id` (N) | `live`: `live`, `id` (N) (sparse); `by_asked`: `kind`, `asked_at` (N) |
//!
//! `conv` is a conversation's participants in order as a JSON array; `shard` spreads the time
//! indexes over [`SHARDS`] partitions so retention can find old items without a scan and no
//! index partition takes every write.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, LocalSecondaryIndex, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use store_core::StoreError;

/// The partitions of the time indexes.
pub const SHARDS: u32 = 16;

/// The TTL attribute (epoch seconds).
pub const TTL: &str = "expires_at";

/// The table names, with the prefix.
#[derive(Debug, Clone)]
pub struct Tables {
    pub prefix: String,
    pub conversations: String,
    pub messages: String,
    pub client_ids: String,
    pub members: String,
    pub presence: String,
    pub snapshots: String,
    pub meta: String,
    pub calls: String,
    pub help: String,
}

impl Tables {
    pub fn new(prefix: &str) -> Self {
        let name = |t: &str| format!("{prefix}{t}");
        Self {
            prefix: prefix.to_owned(),
            conversations: name("conversations"),
            messages: name("messages"),
            client_ids: name("client_ids"),
            members: name("members"),
            presence: name("presence"),
            snapshots: name("snapshots"),
            meta: name("meta"),
            calls: name("calls"),
            help: name("help"),
        }
    }
}

/// A global index: its name, key, and the non-key attributes projected (`None`: all).
pub type GlobalIndex = (&'static str, &'static [&'static str], Option<&'static [&'static str]>);

/// One table as declared: its name without the prefix, key, attribute types and indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: &'static str,
    /// Partition key, then sort key.
    pub key: &'static [&'static str],
    /// Every key attribute (of the table and its indexes) with its type, `S` or `N`.
    pub attributes: &'static [(&'static str, &'static str)],
    /// Local indexes: name and sort key (projection all).
    pub local: &'static [(&'static str, &'static str)],
    /// Global indexes: name, key, and the non-key attributes projected (`None`: all).
    pub global: &'static [GlobalIndex],
    pub ttl: bool,
}

/// Every table.
pub const SPECS: &[TableSpec] = &[
    TableSpec {
        name: "conversations",
        key: &["conv"],
        attributes: &[("conv", "S")],
        local: &[],
        global: &[],
        ttl: false,
    },
    TableSpec {
        name: "messages",
        key: &["conv", "seq"],
        attributes: &[("conv", "S"), ("seq", "N"), ("shard", "N"), ("sent_at", "N")],
        local: &[],
        global: &[("by_time", &["shard", "sent_at"], Some(&["from", "client_id"]))],
        ttl: true,
    },
    TableSpec { name: "client_ids", key: &["key"], attributes: &[("key", "S")], local: &[], global: &[], ttl: true },
    TableSpec {
        name: "members",
        key: &["principal", "peer"],
        attributes: &[("principal", "S"), ("peer", "S")],
        local: &[],
        global: &[],
        ttl: false,
    },
    TableSpec {
        name: "presence",
        key: &["principal"],
        attributes: &[("principal", "S")],
        local: &[],
        global: &[],
        ttl: false,
    },
    TableSpec {
        name: "snapshots",
        key: &["set", "id"],
        attributes: &[("set", "S"), ("id", "S")],
        local: &[],
        global: &[],
        ttl: false,
    },
    TableSpec { name: "meta", key: &["name"], attributes: &[("name", "S")], local: &[], global: &[], ttl: false },
    TableSpec {
        name: "calls",
        key: &["principal", "contact_id"],
        attributes: &[("principal", "S"), ("contact_id", "S"), ("started_at", "N"), ("shard", "N")],
        local: &[("by_start", "started_at")],
        global: &[("by_time", &["shard", "started_at"], Some(&[]))],
        ttl: true,
    },
    TableSpec {
        name: "help",
        key: &["id"],
        attributes: &[("id", "N"), ("live", "S"), ("kind", "S"), ("asked_at", "N")],
        local: &[],
        global: &[("live", &["live", "id"], None), ("by_asked", &["kind", "asked_at"], None)],
        ttl: false,
    },
];

fn key_schema(names: &[&str]) -> Result<Vec<KeySchemaElement>, StoreError> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(if i == 0 { KeyType::Hash } else { KeyType::Range })
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}

fn projection(non_key: Option<&[&str]>) -> Projection {
    match non_key {
        None => Projection::builder().projection_type(ProjectionType::All).build(),
        Some([]) => Projection::builder().projection_type(ProjectionType::KeysOnly).build(),
        Some(names) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(names.iter().map(|n| (*n).to_owned()).collect()))
            .build(),
    }
}

/// Creates every table missing under `tables`' prefix, on demand, with its TTL.
pub async fn create(client: &Client, tables: &Tables) -> Result<(), StoreError> {
    for spec in SPECS {
        let name = format!("{}{}", tables.prefix, spec.name);
        let mut request = client
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(spec.key)?));
        for (attribute, kind) in spec.attributes {
            let kind = if *kind == "N" { ScalarAttributeType::N } else { ScalarAttributeType::S };
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(*attribute)
                    .attribute_type(kind)
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        for (index, sort) in spec.local {
            request = request.local_secondary_indexes(
                LocalSecondaryIndex::builder()
                    .index_name(*index)
                    .set_key_schema(Some(key_schema(&[spec.key[0], sort])?))
                    .projection(projection(None))
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        for (index, key, non_key) in spec.global {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(*index)
                    .set_key_schema(Some(key_schema(key)?))
                    .projection(projection(*non_key))
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => continue,
            Err(e) => return Err(crate::unavailable(&format!("create table {name}"), e)),
        }
        if spec.ttl {
            client
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(TTL)
                        .enabled(true)
                        .build()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| crate::unavailable(&format!("TTL of {name}"), e))?;
        }
    }
    Ok(())
}
