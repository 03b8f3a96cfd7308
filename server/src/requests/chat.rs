//! `send_chat`, `conversations`, `sync`, `history` and `mark_read`.
//!
//! The sender of a message is always the connection's principal, and every read names the
//! conversation by the peer, so a principal can only ever reach conversations it is part of.

use std::time::Instant;

use protocol::{ChatMessage, Cursor, ErrorCode, ServerFrame};

use super::{Ctx, Refusal, Reply};
use crate::clock;
use crate::store::NewMessage;

/// Longest principal name accepted as a peer.
const MAX_PEER_BYTES: usize = 320;
/// Longest client message id.
const MAX_CLIENT_ID_BYTES: usize = 64;
/// Most cursors in one sync.
const MAX_CURSORS: usize = 500;
/// Replies stop adding messages past this many bytes of text and say `more`.
pub const REPLY_BUDGET_BYTES: usize = 16 * 1024;
/// History page when the client names none.
const DEFAULT_PAGE: u32 = 50;

fn check_peer(ctx: &Ctx, peer: &str) -> Result<(), Refusal> {
    if peer.is_empty() || peer.len() > MAX_PEER_BYTES {
        return Err(Refusal::new(ErrorCode::Invalid, "peer must be 1 to 320 bytes"));
    }
    if peer == &*ctx.principal {
        return Err(Refusal::new(ErrorCode::Invalid, "a conversation needs two different principals"));
    }
    Ok(())
}

pub async fn send(ctx: &Ctx, id: u64, to: String, client_id: String, text: String) -> Result<Reply, Refusal> {
    let app = &ctx.app;
    check_peer(ctx, &to)?;
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_BYTES {
        return Err(Refusal::new(ErrorCode::Invalid, "client_id must be 1 to 64 bytes"));
    }
    if text.trim().is_empty() {
        return Err(Refusal::new(ErrorCode::Invalid, "text is empty"));
    }
    let chars = text.chars().count();
    if chars > app.config.max_text_chars as usize {
        let message = format!("text of {chars} characters exceeds the limit of {}", app.config.max_text_chars);
        return Err(Refusal::new(ErrorCode::TooLarge, message));
    }
    let started = Instant::now();
    let new = NewMessage { from: ctx.principal.to_string(), to, client_id, text, sent_at: clock::now_ms() };
    let appended = app.store.append_message(new).await?;
    app.metrics.chat_ack_seconds.observe(started.elapsed());
    let m = &appended.message;
    let ack = ServerFrame::ChatAck {
        id,
        client_id: m.client_id.clone(),
        peer: m.to.clone(),
        seq: m.seq,
        sent_at: m.sent_at,
        duplicate: appended.duplicate,
    };
    if appended.duplicate {
        app.metrics.chat_duplicates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Ok(ack.into());
    }
    app.metrics.chat_messages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // The new message goes to every connection of both participants but the sending one.
    let to = vec![appended.message.to.clone(), appended.message.from.clone()];
    Ok(Reply::from(ack).then_push(ServerFrame::Chat { message: appended.message }, to))
}

/// Longest preview of a conversation's last message, in characters.
pub const PREVIEW_CHARS: usize = 140;

pub async fn conversations(ctx: &Ctx, id: u64) -> Result<ServerFrame, Refusal> {
    let conversations = summaries(ctx).await?;
    Ok(ServerFrame::Conversations { id, conversations })
}

/// The principal's conversations, with the last message cut to a preview.
async fn summaries(ctx: &Ctx) -> Result<Vec<protocol::ConversationSummary>, Refusal> {
    let mut conversations = ctx.app.store.conversations(&ctx.principal).await?;
    for summary in &mut conversations {
        if let Some(last) = &mut summary.last
            && let Some((cut, _)) = last.text.char_indices().nth(PREVIEW_CHARS)
        {
            last.text.truncate(cut);
        }
    }
    Ok(conversations)
}

/// Everything after the client's cursors, oldest first, within one page.
pub async fn sync(ctx: &Ctx, id: u64, cursors: Vec<Cursor>) -> Result<ServerFrame, Refusal> {
    let app = &ctx.app;
    if cursors.len() > MAX_CURSORS {
        return Err(Refusal::new(ErrorCode::TooLarge, format!("at most {MAX_CURSORS} cursors per sync")));
    }
    for cursor in &cursors {
        check_peer(ctx, &cursor.peer)?;
    }
    let conversations = summaries(ctx).await?;
    let mut page = Page::new(app.config.max_page);
    for cursor in &cursors {
        if page.full() {
            page.more = true;
            break;
        }
        let known = conversations.iter().find(|c| c.peer == cursor.peer).map_or(0, |c| c.last_seq);
        if known <= cursor.seq {
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
    check_peer(ctx, &peer)?;
    let limit = limit.unwrap_or(DEFAULT_PAGE.min(app.config.max_page));
    if limit == 0 || limit > app.config.max_page {
        let code = if limit == 0 { ErrorCode::Invalid } else { ErrorCode::TooLarge };
        return Err(Refusal::new(code, format!("limit must be 1 to {}", app.config.max_page)));
    }
    let batch = app.store.history(&ctx.principal, &peer, before, limit + 1).await?;
    let mut page = Page::new(limit);
    page.extend(batch);
    Ok(ServerFrame::History { id, peer, messages: page.messages, more: page.more })
}

/// Stores how far the principal has read, and tells its other connections.
pub async fn mark_read(ctx: &Ctx, id: u64, peer: String, seq: u64) -> Result<Reply, Refusal> {
    check_peer(ctx, &peer)?;
    let stored = ctx.app.store.mark_read(&ctx.principal, &peer, seq).await?;
    let marker = ServerFrame::ReadMarker { peer, seq: stored };
    Ok(Reply::from(ServerFrame::Ok { id }).then_push(marker, vec![ctx.principal.to_string()]))
}

/// A reply page bounded by a count and by [`REPLY_BUDGET_BYTES`].
struct Page {
    messages: Vec<ChatMessage>,
    limit: u32,
    bytes: usize,
    more: bool,
}

impl Page {
    fn new(limit: u32) -> Self {
        Self { messages: Vec::new(), limit, bytes: 0, more: false }
    }

    fn full(&self) -> bool {
        self.messages.len() >= self.limit as usize || self.bytes >= REPLY_BUDGET_BYTES
    }

    fn room(&self) -> u32 {
        self.limit.saturating_sub(u32::try_from(self.messages.len()).unwrap_or(u32::MAX))
    }

    /// Adds messages until full; anything left over sets `more`.
    fn extend(&mut self, batch: Vec<ChatMessage>) {
        for message in batch {
            if self.full() {
                self.more = true;
                return;
            }
            self.bytes += message.text.len() + 128;
            self.messages.push(message);
        }
    }
}
