//! Presence, and the directory and routing profiles, which are replaced whole: each version is
//! written under a new generation in `snapshots`, then `meta` is switched to it (one conditional
//! update), then the old generation is deleted. A reader reads the generation `meta` names, so it
//! never sees half of an old and half of a new directory.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use protocol::{DirectoryUser, Millis, RoutingProfile};
use store_core::{PresenceRecord, StoreError};

use crate::attrs::{self, Item, get_json, n, s};
use crate::{DynamoStore, unavailable};

pub async fn put_presence(store: &DynamoStore, record: &PresenceRecord) -> Result<bool, StoreError> {
    let out = store
        .client
        .put_item()
        .table_name(&store.tables.presence)
        .item("principal", s(&record.presence.principal))
        .item("seen_at", n(record.seen_at))
        .item("record", attrs::json(record)?)
        .condition_expression("attribute_not_exists(principal) OR seen_at <= :s")
        .expression_attribute_values(":s", n(record.seen_at))
        .send()
        .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(unavailable("put presence", e)),
    }
}

/// Every stored presence (read once at start, not on a request path: a scan).
pub async fn load_presence(store: &DynamoStore) -> Result<Vec<PresenceRecord>, StoreError> {
    attrs::scan(store, &store.tables.presence, "load presence").await?.iter().map(|i| get_json(i, "record")).collect()
}

/// The `meta` item of a snapshot kind (`directory`, `routing`), if any.
async fn meta(store: &DynamoStore, kind: &str) -> Result<Option<Item>, StoreError> {
    attrs::get(store, &store.tables.meta, &[("name", s(kind))], "read meta").await
}

fn set_name(kind: &str, generation: u64) -> String {
    format!("{kind}#{generation}")
}

/// Every item of one generation.
async fn set_items(store: &DynamoStore, set: &str) -> Result<Vec<Item>, StoreError> {
    let build = || {
        store
            .client
            .query()
            .table_name(&store.tables.snapshots)
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", "set")
            .expression_attribute_values(":s", s(set))
            .consistent_read(true)
    };
    attrs::query(build, usize::MAX, |_| true, set).await
}

/// Deletes the items of one generation.
async fn delete_set(store: &DynamoStore, set: &str) -> Result<(), StoreError> {
    let keys = set_items(store, set).await?.iter().map(|i| attrs::key(i, &["set", "id"])).collect();
    attrs::delete_keys(store, &store.tables.snapshots, keys).await
}

/// Replaces a snapshot kind by `entries` (id, JSON), with `extra` attributes on its meta item.
async fn replace(
    store: &DynamoStore,
    kind: &str,
    entries: Vec<(String, aws_sdk_dynamodb::types::AttributeValue)>,
    extra: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<(), StoreError> {
    for _ in 0..5 {
        let old: Option<u64> = meta(store, kind).await?.map(|m| attrs::get_n(&m, "gen")).transpose()?;
        let generation = old.map_or(1, |g| g + 1);
        let set = set_name(kind, generation);
        let requests = entries
            .iter()
            .map(|(id, data)| {
                let put = PutRequest::builder()
                    .item("set", s(&set))
                    .item("id", s(id))
                    .item("data", data.clone())
                    .build()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        attrs::batch_write(store, &store.tables.snapshots, requests).await?;
        // The switch: readers move to the new generation all at once.
        let mut update = store
            .client
            .update_item()
            .table_name(&store.tables.meta)
            .key("name", s(kind))
            .expression_attribute_names("#g", "gen")
            .expression_attribute_values(":new", n(generation));
        let mut expression = "SET #g = :new".to_owned();
        for (i, (name, value)) in extra.iter().enumerate() {
            expression.push_str(&format!(", #x{i} = :x{i}"));
            update = update
                .expression_attribute_names(format!("#x{i}"), *name)
                .expression_attribute_values(format!(":x{i}"), value.clone());
        }
        update = match old {
            Some(g) => update.condition_expression("#g = :old").expression_attribute_values(":old", n(g)),
            None => update.condition_expression("attribute_not_exists(#g)"),
        };
        match update.update_expression(expression).send().await {
            Ok(_) => {
                if let Some(g) = old
                    && let Err(e) = delete_set(store, &set_name(kind, g)).await
                {
                    tracing::warn!("the old {kind} generation {g} stays: {e}");
                }
                return Ok(());
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                // Another relay switched first: ours is removed, and written again on the next.
                delete_set(store, &set).await?;
            }
            Err(e) => return Err(unavailable("switch the snapshot", e)),
        }
    }
    Err(StoreError::Unavailable(format!("replace {kind}: lost every race")))
}

/// The entries of the generation in force, and its meta item.
async fn current(store: &DynamoStore, kind: &str) -> Result<(Vec<Item>, Option<Item>), StoreError> {
    let Some(meta) = meta(store, kind).await? else { return Ok((Vec::new(), None)) };
    let set = set_name(kind, attrs::get_n(&meta, "gen")?);
    Ok((set_items(store, &set).await?, Some(meta)))
}

pub async fn put_directory(store: &DynamoStore, users: &[DirectoryUser]) -> Result<(), StoreError> {
    let entries = users.iter().map(|u| Ok((u.id.clone(), attrs::json(u)?))).collect::<Result<_, StoreError>>()?;
    replace(store, "directory", entries, Vec::new()).await
}

pub async fn directory(store: &DynamoStore) -> Result<Vec<DirectoryUser>, StoreError> {
    let (items, _) = current(store, "directory").await?;
    let mut users: Vec<DirectoryUser> = items.iter().map(|i| get_json(i, "data")).collect::<Result<_, _>>()?;
    users.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(users)
}

pub async fn put_routing_profiles(
    store: &DynamoStore,
    profiles: &[RoutingProfile],
    synced_at: Option<Millis>,
) -> Result<(), StoreError> {
    let entries = profiles.iter().map(|p| Ok((p.id.clone(), attrs::json(p)?))).collect::<Result<_, StoreError>>()?;
    let synced = match synced_at {
        Some(at) => n(at),
        None => aws_sdk_dynamodb::types::AttributeValue::Null(true),
    };
    replace(store, "routing", entries, vec![("synced_at", synced)]).await
}

pub async fn routing_profiles(store: &DynamoStore) -> Result<(Vec<RoutingProfile>, Option<Millis>), StoreError> {
    let (items, meta) = current(store, "routing").await?;
    let mut profiles: Vec<RoutingProfile> = items.iter().map(|i| get_json(i, "data")).collect::<Result<_, _>>()?;
    profiles.sort_by(|a, b| a.id.cmp(&b.id));
    let synced_at = meta.map(|m| attrs::opt_n(&m, "synced_at")).transpose()?.flatten();
    Ok((profiles, synced_at))
}
