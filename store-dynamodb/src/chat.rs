//! Chat: appends by one conditional transaction, reads by key ranges, conversation summaries and
//! read markers.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, Select, TransactWriteItem, Update};
use futures_util::{StreamExt, TryStreamExt};
use protocol::{ChatMessage, ConversationSummary};
use store_core::{Appended, NewMessage, StoreError};

use crate::attrs::{self, Item, get_n, get_s, n, s};
use crate::{DynamoStore, now_ms, unavailable};

/// Appends that lost a race to another relay, read again and retried, before giving up.
const ATTEMPTS: usize = 20;

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn message_of(item: &Item) -> Result<ChatMessage, StoreError> {
    Ok(ChatMessage {
        from: get_s(item, "from")?,
        to: get_s(item, "to")?,
        seq: get_n(item, "seq")?,
        client_id: get_s(item, "client_id")?,
        text: get_s(item, "text")?,
        sent_at: get_n(item, "sent_at")?,
    })
}

/// The conversation's last sequence number as stored (0: none yet).
async fn stored_last(store: &DynamoStore, conv: &str) -> Result<u64, StoreError> {
    match attrs::get(store, &store.tables.conversations, &[("conv", s(conv))], "read the conversation").await?.as_ref()
    {
        Some(item) => get_n(item, "last_seq"),
        None => Ok(0),
    }
}

/// The message stored under `seq`, unless it expired.
async fn stored_message(store: &DynamoStore, conv: &str, seq: u64) -> Result<Option<ChatMessage>, StoreError> {
    let item =
        attrs::get(store, &store.tables.messages, &[("conv", s(conv)), ("seq", n(seq))], "read a message").await?;
    item.filter(|item| !attrs::expired(item, now_ms())).as_ref().map(message_of).transpose()
}

/// Which of a cancelled transaction's items failed their condition (`None`: not a cancellation).
fn failed_conditions(e: &SdkError<TransactWriteItemsError>) -> Option<Vec<bool>> {
    match e.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => {
            Some(cancelled.cancellation_reasons().iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect())
        }
        _ => None,
    }
}

pub async fn append(store: &DynamoStore, m: NewMessage) -> Result<Appended, StoreError> {
    let conv = attrs::conv(&m.from, &m.to);
    let (a, b) = store_core::pair(&m.from, &m.to);
    let key = serde_json::json!([conv, m.from, m.client_id]).to_string();
    let lock = store.conversation(&conv);
    let mut last = lock.lock().await;
    let t = &store.tables;
    for _ in 0..ATTEMPTS {
        let prev = match *last {
            Some(prev) => prev,
            None => stored_last(store, &conv).await?,
        };
        let seq = prev + 1;
        let mut counter = Update::builder()
            .table_name(&t.conversations)
            .key("conv", s(&conv))
            .update_expression("SET last_seq = :next, #a = :a, #b = :b")
            .expression_attribute_names("#a", "a")
            .expression_attribute_names("#b", "b")
            .expression_attribute_values(":next", n(seq))
            .expression_attribute_values(":a", s(a))
            .expression_attribute_values(":b", s(b));
        counter = if prev == 0 {
            counter.condition_expression("attribute_not_exists(last_seq)")
        } else {
            counter.condition_expression("last_seq = :prev").expression_attribute_values(":prev", n(prev))
        };
        let expires = store.expires_at(m.sent_at);
        let message = Put::builder()
            .table_name(&t.messages)
            .item("conv", s(&conv))
            .item("seq", n(seq))
            .item("from", s(&m.from))
            .item("to", s(&m.to))
            .item("client_id", s(&m.client_id))
            .item("text", s(&m.text))
            .item("sent_at", n(m.sent_at))
            .item("shard", n(attrs::shard(&conv)))
            .condition_expression("attribute_not_exists(seq)");
        let message = match expires {
            Some(at) => message.item(crate::tables::TTL, n(at)),
            None => message,
        };
        let client_id = Put::builder()
            .table_name(&t.client_ids)
            .item("key", s(&key))
            .item("seq", n(seq))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", "key");
        let client_id = match expires {
            Some(at) => client_id.item(crate::tables::TTL, n(at)),
            None => client_id,
        };
        let mut items = vec![
            TransactWriteItem::builder().update(counter.build().map_err(corrupt)?).build(),
            TransactWriteItem::builder().put(message.build().map_err(corrupt)?).build(),
            TransactWriteItem::builder().put(client_id.build().map_err(corrupt)?).build(),
        ];
        if prev == 0 {
            // A new conversation: each participant's list names it.
            let sides: &[(&str, &str)] = if a == b { &[(a, b)] } else { &[(a, b), (b, a)] };
            for (principal, peer) in sides {
                let member = Update::builder()
                    .table_name(&t.members)
                    .key("principal", s(*principal))
                    .key("peer", s(*peer))
                    .update_expression("SET conv = :c")
                    .expression_attribute_values(":c", s(&conv))
                    .build()
                    .map_err(corrupt)?;
                items.push(TransactWriteItem::builder().update(member).build());
            }
        }
        match store.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => {
                *last = Some(seq);
                let message = ChatMessage {
                    from: m.from,
                    to: m.to,
                    seq,
                    client_id: m.client_id,
                    text: m.text,
                    sent_at: m.sent_at,
                };
                return Ok(Appended { message, duplicate: false });
            }
            Err(e) => {
                *last = None;
                let Some(failed) = failed_conditions(&e) else { return Err(unavailable("append", e)) };
                if failed.get(2) == Some(&true) {
                    // A resend: the stored message answers it.
                    if let Some(stored) = resent(store, &conv, &key).await? {
                        return Ok(Appended { message: stored, duplicate: true });
                    }
                }
                // Another relay appended first (or a conflicting transaction): read and retry.
                if !failed.iter().any(|f| *f) {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
    }
    Err(StoreError::Unavailable(format!("append to {conv}: {ATTEMPTS} attempts lost a race")))
}

/// The message a `(sender, client_id)` key names; `None` (and the key removed) when the message
/// itself has expired, so the resend is stored anew as SQLite's store would.
async fn resent(store: &DynamoStore, conv: &str, key: &str) -> Result<Option<ChatMessage>, StoreError> {
    let item = attrs::get(store, &store.tables.client_ids, &[("key", s(key))], "read a client id").await?;
    let Some(item) = item else { return Ok(None) };
    let seq: u64 = get_n(&item, "seq")?;
    if let Some(message) = stored_message(store, conv, seq).await? {
        return Ok(Some(message));
    }
    store
        .client
        .delete_item()
        .table_name(&store.tables.client_ids)
        .key("key", s(key))
        .condition_expression("seq = :s")
        .expression_attribute_values(":s", n(seq))
        .send()
        .await
        .map(|_| None)
        .or_else(|e| match e.as_service_error() {
            Some(se) if se.is_conditional_check_failed_exception() => Ok(None),
            _ => Err(unavailable("remove an expired client id", e)),
        })
}

pub async fn after(
    store: &DynamoStore,
    a: &str,
    b: &str,
    after: u64,
    limit: u32,
) -> Result<Vec<ChatMessage>, StoreError> {
    let conv = attrs::conv(a, b);
    let now = now_ms();
    let build = || {
        store
            .client
            .query()
            .table_name(&store.tables.messages)
            .key_condition_expression("conv = :c AND seq > :after")
            .expression_attribute_values(":c", s(&conv))
            .expression_attribute_values(":after", n(after))
            .consistent_read(true)
    };
    let items = attrs::query(build, limit as usize, |i| !attrs::expired(i, now), "messages after").await?;
    items.iter().map(message_of).collect()
}

pub async fn history(
    store: &DynamoStore,
    a: &str,
    b: &str,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<ChatMessage>, StoreError> {
    let conv = attrs::conv(a, b);
    let now = now_ms();
    let build = || {
        let q = store
            .client
            .query()
            .table_name(&store.tables.messages)
            .expression_attribute_values(":c", s(&conv))
            .scan_index_forward(false)
            .consistent_read(true);
        match before {
            Some(before) => q
                .key_condition_expression("conv = :c AND seq < :before")
                .expression_attribute_values(":before", n(before)),
            None => q.key_condition_expression("conv = :c"),
        }
    };
    let items = attrs::query(build, limit as usize, |i| !attrs::expired(i, now), "history").await?;
    items.iter().map(message_of).collect()
}

/// Messages from `peer` after `read` that have not expired.
async fn unread(store: &DynamoStore, conv: &str, peer: &str, read: u64) -> Result<u64, StoreError> {
    let mut count = 0_u64;
    let mut start: Option<Item> = None;
    loop {
        let page = store
            .client
            .query()
            .table_name(&store.tables.messages)
            .key_condition_expression("conv = :c AND seq > :r")
            .filter_expression("#f = :peer AND (attribute_not_exists(expires_at) OR expires_at > :now)")
            .expression_attribute_names("#f", "from")
            .expression_attribute_values(":c", s(conv))
            .expression_attribute_values(":r", n(read))
            .expression_attribute_values(":peer", s(peer))
            .expression_attribute_values(":now", n(now_ms() / 1000))
            .select(Select::Count)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| unavailable("count unread", e))?;
        count += page.count().max(0) as u64;
        match page.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(count),
        }
    }
}

async fn summary(store: &DynamoStore, principal: &str, member: Item) -> Result<ConversationSummary, StoreError> {
    let peer = get_s(&member, "peer")?;
    let conv = get_s(&member, "conv")?;
    let read_seq: u64 = attrs::opt_n(&member, "read_seq")?.unwrap_or(0);
    let last_seq = stored_last(store, &conv).await?;
    let unread = unread(store, &conv, &peer, read_seq).await?;
    let last = history(store, principal, &peer, None, 1).await?.pop();
    Ok(ConversationSummary { peer, last_seq, read_seq, unread, last })
}

pub async fn conversations(store: &DynamoStore, principal: &str) -> Result<Vec<ConversationSummary>, StoreError> {
    let build = || {
        store
            .client
            .query()
            .table_name(&store.tables.members)
            .key_condition_expression("principal = :p")
            .expression_attribute_values(":p", s(principal))
            .consistent_read(true)
    };
    let members = attrs::query(build, usize::MAX, |_| true, "conversations").await?;
    futures_util::stream::iter(members.into_iter().map(|m| summary(store, principal, m)))
        .buffered(8)
        .try_collect()
        .await
}

pub async fn mark_read(store: &DynamoStore, principal: &str, peer: &str, seq: u64) -> Result<u64, StoreError> {
    let conv = attrs::conv(principal, peer);
    let last = stored_last(store, &conv).await?;
    if last == 0 {
        return Ok(0);
    }
    let target = seq.min(last);
    let out = store
        .client
        .update_item()
        .table_name(&store.tables.members)
        .key("principal", s(principal))
        .key("peer", s(peer))
        .update_expression("SET read_seq = :t, conv = :c")
        .condition_expression("attribute_not_exists(read_seq) OR read_seq < :t")
        .expression_attribute_values(":t", n(target))
        .expression_attribute_values(":c", s(&conv))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match out {
        Ok(_) => Ok(target),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
            let key = [("principal", s(principal)), ("peer", s(peer))];
            let item = attrs::get(store, &store.tables.members, &key, "read a read marker").await?;
            Ok(item.map(|i| attrs::opt_n(&i, "read_seq")).transpose()?.flatten().unwrap_or(0))
        }
        Err(e) => Err(unavailable("mark read", e)),
    }
}
