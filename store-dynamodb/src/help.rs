//! Help requests: ids from a counter in `meta` (never one used before: a crash between taking
//! an id and storing the request leaves a gap, never a reuse), the status moved forward only by
//! a condition on its rank, the live ones through the sparse `live` index, a day's through
//! `by_asked`.

use protocol::{HelpRequest, Millis};
use store_core::{NewHelp, StoreError, help_rank};

use crate::attrs::{self, Item, get_json, n, s};
use crate::{DynamoStore, unavailable};

/// The `kind` every request carries, the partition of `by_asked`.
const KIND: &str = "help";

fn put_item(
    store: &DynamoStore,
    request: &HelpRequest,
) -> Result<aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder, StoreError> {
    let rank = help_rank(request.status);
    let mut put = store
        .client
        .put_item()
        .table_name(&store.tables.help)
        .item("id", n(request.id))
        .item("kind", s(KIND))
        .item("asked_at", n(request.asked_at))
        .item("rank", n(rank))
        .item("record", attrs::json(request)?);
    if request.status.live() {
        put = put.item("live", s("1"));
    }
    Ok(put)
}

pub async fn add(store: &DynamoStore, new: NewHelp) -> Result<HelpRequest, StoreError> {
    let out = store
        .client
        .update_item()
        .table_name(&store.tables.meta)
        .key("name", s("help"))
        .update_expression("ADD next_id :one")
        .expression_attribute_values(":one", n(1))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(|e| unavailable("take a help id", e))?;
    let id: u64 = attrs::get_n(out.attributes().ok_or_else(|| StoreError::Corrupt("no help id".into()))?, "next_id")?;
    let request = new.stored(id);
    put_item(store, &request)?
        .condition_expression("attribute_not_exists(#i)")
        .expression_attribute_names("#i", "id")
        .send()
        .await
        .map_err(|e| unavailable("add a help request", e))?;
    Ok(request)
}

pub async fn update(store: &DynamoStore, request: &HelpRequest) -> Result<bool, StoreError> {
    let out = put_item(store, request)?
        .condition_expression("attribute_exists(#i) AND #r < :r")
        .expression_attribute_names("#i", "id")
        .expression_attribute_names("#r", "rank")
        .expression_attribute_values(":r", n(help_rank(request.status)))
        .send()
        .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(unavailable("update a help request", e)),
    }
}

pub async fn get(store: &DynamoStore, id: u64) -> Result<Option<HelpRequest>, StoreError> {
    let item = attrs::get(store, &store.tables.help, &[("id", n(id))], "read a help request").await?;
    item.map(|i| get_json(&i, "record")).transpose()
}

/// The requests of `index` whose key matches `condition` (`#k` names the index's partition key
/// `key`), by id.
async fn listed(
    store: &DynamoStore,
    index: &str,
    key: &str,
    condition: &str,
    values: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) -> Result<Vec<HelpRequest>, StoreError> {
    let build = || {
        let q = store
            .client
            .query()
            .table_name(&store.tables.help)
            .index_name(index)
            .key_condition_expression(condition)
            .expression_attribute_names("#k", key);
        values.iter().fold(q, |q, (name, value)| q.expression_attribute_values(*name, value.clone()))
    };
    let items = attrs::query(build, usize::MAX, |_| true, index).await?;
    let mut requests: Vec<HelpRequest> = items.iter().map(|i| get_json(i, "record")).collect::<Result<_, _>>()?;
    requests.sort_by_key(|r| r.id);
    Ok(requests)
}

pub async fn live(store: &DynamoStore) -> Result<Vec<HelpRequest>, StoreError> {
    listed(store, "live", "live", "#k = :l", &[(":l", s("1"))]).await
}

pub async fn asked_since(store: &DynamoStore, since: Millis) -> Result<Vec<HelpRequest>, StoreError> {
    listed(store, "by_asked", "kind", "#k = :k AND asked_at >= :since", &[(":k", s(KIND)), (":since", n(since))]).await
}

pub async fn expire(store: &DynamoStore, before: Millis, limit: u32) -> Result<u64, StoreError> {
    let build = || {
        store
            .client
            .query()
            .table_name(&store.tables.help)
            .index_name("by_asked")
            .key_condition_expression("#k = :k AND asked_at < :before")
            .expression_attribute_names("#k", "kind")
            .expression_attribute_values(":k", s(KIND))
            .expression_attribute_values(":before", n(before))
    };
    let ended = |item: &Item| attrs::opt_n::<i64>(item, "rank").ok().flatten().is_some_and(|r| r >= 2);
    let items = attrs::query(build, limit as usize, ended, "ended help").await?;
    let mut deleted = 0;
    for item in items {
        let id: u64 = attrs::get_n(&item, "id")?;
        let out = store
            .client
            .delete_item()
            .table_name(&store.tables.help)
            .key("id", n(id))
            .condition_expression("#r >= :ended")
            .expression_attribute_names("#r", "rank")
            .expression_attribute_values(":ended", n(2))
            .send()
            .await;
        match out {
            Ok(_) => deleted += 1,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(e) => return Err(unavailable("expire help", e)),
        }
    }
    Ok(deleted)
}
