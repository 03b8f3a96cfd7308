//! Outbound call records: each report advances the stored record as `store_core::calls::advance`
//! says, written under a version condition (two reports of one call racing never lose one);
//! pages newest first by the local index on the start time.

use protocol::{CallEvent, CallRecord, Millis};
use store_core::StoreError;
use store_core::calls::{StoredCall, advance};

use crate::attrs::{self, Item, get_json, n, s};
use crate::{DynamoStore, now_ms, unavailable};

fn stored_call(item: &Item) -> Result<(StoredCall, u64), StoreError> {
    let call = StoredCall { record: get_json(item, "record")?, connected_at: attrs::opt_n(item, "connected_at")? };
    Ok((call, attrs::get_n(item, "version")?))
}

pub async fn record(
    store: &DynamoStore,
    principal: &str,
    event: &CallEvent,
    caller_id: Option<String>,
) -> Result<CallRecord, StoreError> {
    for _ in 0..20 {
        let out = store
            .client
            .get_item()
            .table_name(&store.tables.calls)
            .key("principal", s(principal))
            .key("contact_id", s(&event.contact_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("read a call", e))?;
        let stored = out.item().map(stored_call).transpose()?;
        let version = stored.as_ref().map(|(_, v)| *v);
        let before = stored.as_ref().map(|(c, _)| c.clone());
        let call = advance(before.clone(), event, caller_id.clone());
        if before.as_ref() == Some(&call) {
            return Ok(call.record);
        }
        let mut put = store
            .client
            .put_item()
            .table_name(&store.tables.calls)
            .item("principal", s(principal))
            .item("contact_id", s(&event.contact_id))
            .item("started_at", n(call.record.started_at))
            .item("shard", n(attrs::shard(&event.contact_id)))
            .item("record", attrs::json(&call.record)?)
            .item("version", n(version.unwrap_or(0) + 1));
        if let Some(at) = call.connected_at {
            put = put.item("connected_at", n(at));
        }
        if let Some(at) = store.expires_at(call.record.started_at) {
            put = put.item(crate::tables::TTL, n(at));
        }
        put = match version {
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(contact_id)"),
        };
        match put.send().await {
            Ok(_) => return Ok(call.record),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => continue,
            Err(e) => return Err(unavailable("record a call", e)),
        }
    }
    Err(StoreError::Unavailable(format!("record call {}: every attempt lost a race", event.contact_id)))
}

pub async fn page(
    store: &DynamoStore,
    principal: &str,
    before: Option<Millis>,
    limit: u32,
) -> Result<Vec<CallRecord>, StoreError> {
    let now = now_ms();
    let build = || {
        store
            .client
            .query()
            .table_name(&store.tables.calls)
            .index_name("by_start")
            .key_condition_expression("principal = :p AND started_at < :b")
            .expression_attribute_values(":p", s(principal))
            .expression_attribute_values(":b", n(before.unwrap_or(Millis::MAX)))
            .scan_index_forward(false)
            .consistent_read(true)
    };
    let items = attrs::query(build, limit as usize, |i| !attrs::expired(i, now), "calls").await?;
    items.iter().map(|i| get_json(i, "record")).collect()
}
