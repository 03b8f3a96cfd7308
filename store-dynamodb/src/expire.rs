//! Retention: messages and calls older than the cutoff, found through the `by_time` indexes
//! shard by shard (no scan), deleted in batches of at most `limit` each. A conversation keeps
//! its `last_seq`, so numbers go on and are never reused.

use protocol::Millis;
use store_core::StoreError;

use crate::DynamoStore;
use crate::attrs::{self, Item, get_s, n, s};
use crate::tables::SHARDS;

/// Up to `limit` keys of `table`'s items older than `before` through its `by_time` index.
async fn old(
    store: &DynamoStore,
    table: &str,
    time: &str,
    before: Millis,
    limit: u32,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::new();
    for shard in 0..SHARDS {
        let want = limit as usize - found.len();
        if want == 0 {
            break;
        }
        let build = || {
            store
                .client
                .query()
                .table_name(table)
                .index_name("by_time")
                .key_condition_expression("shard = :s AND #t < :before")
                .expression_attribute_names("#t", time)
                .expression_attribute_values(":s", n(shard))
                .expression_attribute_values(":before", n(before))
        };
        found.extend(attrs::query(build, want, |_| true, "expired items").await?);
    }
    Ok(found)
}

pub async fn messages_and_calls(store: &DynamoStore, before: Millis, limit: u32) -> Result<(u64, u64), StoreError> {
    let t = &store.tables;
    let messages = old(store, &t.messages, "sent_at", before, limit).await?;
    let mut client_ids = Vec::with_capacity(messages.len());
    for m in &messages {
        let conv = get_s(m, "conv")?;
        let id = serde_json::json!([conv, get_s(m, "from")?, get_s(m, "client_id")?]).to_string();
        client_ids.push(std::iter::once(("key".to_owned(), s(id))).collect());
    }
    let count = messages.len() as u64;
    attrs::delete_keys(store, &t.messages, messages.iter().map(|m| attrs::key(m, &["conv", "seq"])).collect()).await?;
    attrs::delete_keys(store, &t.client_ids, client_ids).await?;
    let calls = old(store, &t.calls, "started_at", before, limit).await?;
    let call_count = calls.len() as u64;
    attrs::delete_keys(store, &t.calls, calls.iter().map(|c| attrs::key(c, &["principal", "contact_id"])).collect())
        .await?;
    Ok((count, call_count))
}
