//! `send_chat`, `conversations`, `sync`, `history` and `mark_read`: the chat rules of
//! [`crate::chat`] applied to the connection's principal and the store.
//!
//! The sender of a message is always the connection's principal, and every read names the
//! conversation by the peer, so a principal can only ever reach conversations it is part of.

use std::time::Instant;

use protocol::{Cursor, ServerFrame};

use super::{Ctx, Refusal, Reply};
use crate::chat::{self, Page};
use crate::clock;
use crate::store::NewMessage;

pub async fn send(ctx: &Ctx, id: u64, to: String, client_id: String, text: String) -> Result<Reply, Refusal> {
    let app = &ctx.app;
    chat::check_message(&ctx.principal, &to, &client_id, &text, app.config.max_text_chars)?;
    let started = Instant::now();
    let new = NewMessage { from: ctx.principal.to_string(), to, client_id, text, sent_at: clock::now_ms() };
    let appended = app.store.append_message(new).await?;
    app.metrics.chat_ack_seconds.observe(started.elapsed());
    let sent = chat::sent(id, appended);
    let reply = Reply::from(sent.ack);
    match sent.deliver {
        None => {
            app.metrics.chat_duplicates.inc();
            Ok(reply)
        }
        Some((frame, to)) => {
            app.metrics.chat_messages.inc();
            Ok(reply.then_push(frame, to))
        }
    }
}

pub async fn conversations(ctx: &Ctx, id: u64) -> Result<ServerFrame, Refusal> {
    let conversations = summaries(ctx).await?;
    Ok(ServerFrame::Conversations { id, conversations })
}

/// The principal's conversations, with the last message cut to a preview.
async fn summaries(ctx: &Ctx) -> Result<Vec<protocol::ConversationSummary>, Refusal> {
    let mut conversations = ctx.app.store.conversations(&ctx.principal).await?;
    chat::previews(&mut conversations);
    Ok(conversations)
}

/// Everything after the client's cursors, oldest first, within one page.
pub async fn sync(ctx: &Ctx, id: u64, cursors: Vec<Cursor>) -> Result<ServerFrame, Refusal> {
    let app = &ctx.app;
    chat::check_cursors(&ctx.principal, &cursors)?;
    let conversations = summaries(ctx).await?;
    let mut page = Page::new(app.config.max_page);
    for cursor in &cursors {
        if page.full() {
            page.more = true;
            break;
        }
        if !chat::behind(&conversations, cursor) {
            continue;
        }
        let batch = app.store.messages_after(&ctx.principal, &cursor.peer, cursor.seq, page.room() + 1).await?;
        page.extend(batch);
    }
    Ok(ServerFrame::Synced { id, conversations, messages: page.messages, more: page.more })
}

pub async fn history(
    ctx: &Ctx,
    id: u64,
    peer: String,
    before: Option<u64>,
    limit: Option<u32>,
) -> Result<ServerFrame, Refusal> {
    let app = &ctx.app;
    chat::check_peer(&ctx.principal, &peer)?;
    let limit = chat::history_limit(limit, app.config.max_page)?;
    let batch = app.store.history(&ctx.principal, &peer, before, limit + 1).await?;
    let mut page = Page::new(limit);
    page.extend(batch);
    Ok(ServerFrame::History { id, peer, messages: page.messages, more: page.more })
}

/// Stores how far the principal has read, and tells its other connections.
pub async fn mark_read(ctx: &Ctx, id: u64, peer: String, seq: u64) -> Result<Reply, Refusal> {
    chat::check_peer(&ctx.principal, &peer)?;
    let stored = ctx.app.store.mark_read(&ctx.principal, &peer, seq).await?;
    let marker = ServerFrame::ReadMarker { peer, seq: stored };
    Ok(Reply::from(ServerFrame::Ok { id }).then_push(marker, vec![ctx.principal.to_string()]))
}
