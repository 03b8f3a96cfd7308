//! Item attributes: building them, reading them back (a missing or mistyped one is
//! [`StoreError::Corrupt`]), the conversation key, the time indexes' shard, reading a query
//! page by page, and writing in batches.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use store_core::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v.clone()),
        _ => Err(StoreError::Corrupt(format!("attribute {name} missing or not a string"))),
    }
}

pub fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    opt_n(item, name)?.ok_or_else(|| StoreError::Corrupt(format!("attribute {name} missing")))
}

pub fn opt_n<T: FromStr>(item: &Item, name: &str) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => {
            v.parse().map(Some).map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a number: {v}")))
        }
        Some(_) => Err(StoreError::Corrupt(format!("attribute {name} is not a number"))),
    }
}

/// The item under `key` in `table`, read consistently.
pub async fn get(
    store: &crate::DynamoStore,
    table: &str,
    key: &[(&str, AttributeValue)],
    what: &str,
) -> Result<Option<Item>, StoreError> {
    let key: Item = key.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    let out = store
        .client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| crate::unavailable(what, e))?;
    Ok(out.item)
}

/// Every item of `table`, page by page: a scan, for what is read once at start or by a tool,
/// never on a request path.
pub async fn scan(store: &crate::DynamoStore, table: &str, what: &str) -> Result<Vec<Item>, StoreError> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let page = store
            .client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| crate::unavailable(what, e))?;
        out.extend(page.items().iter().cloned());
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(out),
        }
    }
}

/// The attributes `names` of `item` (its key, for a delete).
pub fn key(item: &Item, names: &[&str]) -> Item {
    names.iter().filter_map(|n| item.get(*n).map(|v| ((*n).to_owned(), v.clone()))).collect()
}

/// A JSON attribute (`record`) read back as `T`.
pub fn get_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(&get_s(item, name)?).map_err(|e| StoreError::Corrupt(format!("{name}: {e}")))
}

pub fn json<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value).map(AttributeValue::S).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A conversation's key: its participants in order, as a JSON array (unambiguous whatever the
/// principals contain).
pub fn conv(a: &str, b: &str) -> String {
    let (a, b) = store_core::pair(a, b);
    serde_json::json!([a, b]).to_string()
}

/// The time indexes' partition for `key` (FNV-1a).
pub fn shard(key: &str) -> u32 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % u64::from(crate::tables::SHARDS)) as u32
}

/// Whether an item's TTL has passed (DynamoDB deletes it later; it is gone for readers now).
pub fn expired(item: &Item, now_ms: i64) -> bool {
    matches!(opt_n::<i64>(item, crate::tables::TTL), Ok(Some(at)) if at * 1000 <= now_ms)
}

/// Reads the query `build` makes, page after page, keeping the items `keep` accepts, until
/// `want` are kept or none are left.
pub async fn query<F>(build: F, want: usize, keep: impl Fn(&Item) -> bool, what: &str) -> Result<Vec<Item>, StoreError>
where
    F: Fn() -> QueryFluentBuilder,
{
    let mut out = Vec::new();
    if want == 0 {
        return Ok(out);
    }
    let mut start: Option<Item> = None;
    loop {
        let page_size = (want - out.len()).clamp(1, 1000) as i32;
        let page = build()
            .limit(page_size)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| crate::unavailable(what, e))?;
        for item in page.items() {
            if keep(item) {
                out.push(item.clone());
                if out.len() == want {
                    return Ok(out);
                }
            }
        }
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(out),
        }
    }
}

/// Writes requests in batches of 25, again for what DynamoDB left unprocessed.
pub async fn batch_write(
    store: &crate::DynamoStore,
    table: &str,
    requests: Vec<aws_sdk_dynamodb::types::WriteRequest>,
) -> Result<(), StoreError> {
    for chunk in requests.chunks(25) {
        let mut pending = chunk.to_vec();
        for attempt in 0.. {
            let out = store
                .client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| crate::unavailable("batch write", e))?;
            pending = out.unprocessed_items().and_then(|u| u.get(table)).cloned().unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            if attempt == 8 {
                return Err(StoreError::Unavailable(format!("batch write to {table}: items left unprocessed")));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 << attempt.min(5))).await;
        }
    }
    Ok(())
}

/// Deletes the items with these keys, in batches.
pub async fn delete_keys(store: &crate::DynamoStore, table: &str, keys: Vec<Item>) -> Result<(), StoreError> {
    let requests = keys
        .into_iter()
        .map(|key| {
            let delete = aws_sdk_dynamodb::types::DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok(aws_sdk_dynamodb::types::WriteRequest::builder().delete_request(delete).build())
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    batch_write(store, table, requests).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_has_one_key_whichever_side_names_it() {
        assert_eq!(conv("b@x", "a@x"), conv("a@x", "b@x"));
        assert_eq!(conv("a@x", "b@x"), r#"["a@x","b@x"]"#);
        assert_ne!(conv("a,b", "c"), conv("a", "b,c"), "no separator to confuse");
    }

    #[test]
    fn shards_spread_and_stay_put() {
        let shards: std::collections::BTreeSet<u32> = (0..200).map(|i| shard(&format!("conv-{i}"))).collect();
        assert_eq!(shards.len(), crate::tables::SHARDS as usize);
        assert_eq!(shard("x"), shard("x"));
    }
}
