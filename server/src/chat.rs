//! Chat: the rules of 1:1 conversations, apart from the wire and the store.
//!
//! A conversation is named by its two principals; each participant names it by the other (the
//! peer), and the sender is always the connection's principal, so nobody reaches a
//! conversation they are not part of. A message is acknowledged once stored, and only a new
//! one (not a resend) is delivered to the participants' other connections. Replies carrying
//! messages are pages bounded by a count and by [`REPLY_BUDGET_BYTES`].

use protocol::{ChatMessage, ConversationSummary, Cursor, ErrorCode, ServerFrame};

use crate::store::Appended;

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
/// Longest preview of a conversation's last message, in characters.
pub const PREVIEW_CHARS: usize = 140;

/// A request that breaks a rule of chat (or of help requests, which use the same type): the code
/// and message the client is told.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

pub(crate) fn refused<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refused> {
    Err(Refused { code, message: message.into() })
}

/// `peer` names a conversation of `me`'s: another principal.
pub fn check_peer(me: &str, peer: &str) -> Result<(), Refused> {
    if peer.is_empty() || peer.len() > MAX_PEER_BYTES {
        return refused(ErrorCode::Invalid, "peer must be 1 to 320 bytes");
    }
    if peer == me {
        return refused(ErrorCode::Invalid, "a conversation needs two different principals");
    }
    Ok(())
}

/// A new message from `me` to `to` may be stored: a conversation, a client id, and a text that
/// is not blank and holds at most `max_chars` characters (Unicode scalar values, as clients
/// count them, not bytes).
pub fn check_message(me: &str, to: &str, client_id: &str, text: &str, max_chars: u32) -> Result<(), Refused> {
    check_peer(me, to)?;
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID_BYTES {
        return refused(ErrorCode::Invalid, "client_id must be 1 to 64 bytes");
    }
    if text.trim().is_empty() {
        return refused(ErrorCode::Invalid, "text is empty");
    }
    let chars = text.chars().count();
    if chars > max_chars as usize {
        return refused(ErrorCode::TooLarge, format!("text of {chars} characters exceeds the limit of {max_chars}"));
    }
    Ok(())
}

/// What a stored message leads to: the ack to request `id`, and for a new message (not a
/// resend answered from the store) the push to every connection of both participants but the
/// sending one.
pub struct Sent {
    pub ack: ServerFrame,
    pub deliver: Option<(ServerFrame, Vec<String>)>,
}

pub fn sent(id: u64, appended: Appended) -> Sent {
    let Appended { message, duplicate } = appended;
    let ack = ServerFrame::ChatAck {
        id,
        client_id: message.client_id.clone(),
        peer: message.to.clone(),
        seq: message.seq,
        sent_at: message.sent_at,
        duplicate,
    };
    let deliver = (!duplicate).then(|| {
        let to = vec![message.to.clone(), message.from.clone()];
        (ServerFrame::Chat { message }, to)
    });
    Sent { ack, deliver }
}

/// Cuts each conversation's last message to a preview of [`PREVIEW_CHARS`] characters.
pub fn previews(conversations: &mut [ConversationSummary]) {
    for summary in conversations {
        if let Some(last) = &mut summary.last
            && let Some((cut, _)) = last.text.char_indices().nth(PREVIEW_CHARS)
        {
            last.text.truncate(cut);
        }
    }
}

/// The cursors of a `sync` from `me`: not too many, each naming a conversation.
pub fn check_cursors(me: &str, cursors: &[Cursor]) -> Result<(), Refused> {
    if cursors.len() > MAX_CURSORS {
        return refused(ErrorCode::TooLarge, format!("at most {MAX_CURSORS} cursors per sync"));
    }
    cursors.iter().try_for_each(|cursor| check_peer(me, &cursor.peer))
}

/// Whether a conversation has messages after `cursor`, by its summary (none: nothing stored).
pub fn behind(conversations: &[ConversationSummary], cursor: &Cursor) -> bool {
    conversations.iter().find(|c| c.peer == cursor.peer).map_or(0, |c| c.last_seq) > cursor.seq
}

/// The size of a history page: the client's `limit`, or the default, at most `max_page`.
pub fn history_limit(limit: Option<u32>, max_page: u32) -> Result<u32, Refused> {
    let limit = limit.unwrap_or(DEFAULT_PAGE.min(max_page));
    if limit == 0 || limit > max_page {
        let code = if limit == 0 { ErrorCode::Invalid } else { ErrorCode::TooLarge };
        return refused(code, format!("limit must be 1 to {max_page}"));
    }
    Ok(limit)
}

/// A reply page bounded by a count and by [`REPLY_BUDGET_BYTES`].
pub struct Page {
    pub messages: Vec<ChatMessage>,
    limit: u32,
    bytes: usize,
    pub more: bool,
}

impl Page {
    pub fn new(limit: u32) -> Self {
        Self { messages: Vec::new(), limit, bytes: 0, more: false }
    }

    pub fn full(&self) -> bool {
        self.messages.len() >= self.limit as usize || self.bytes >= REPLY_BUDGET_BYTES
    }

    /// How many more messages fit by count.
    pub fn room(&self) -> u32 {
        self.limit.saturating_sub(u32::try_from(self.messages.len()).unwrap_or(u32::MAX))
    }

    /// Adds messages until full; anything left over sets `more`.
    pub fn extend(&mut self, batch: Vec<ChatMessage>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, text: &str) -> ChatMessage {
        ChatMessage {
            seq,
            from: "aiko".into(),
            to: "ben".into(),
            client_id: format!("c{seq}"),
            text: text.into(),
            sent_at: 1,
        }
    }

    #[test]
    fn text_is_measured_in_characters_not_bytes() {
        let at_limit = "愛".repeat(10);
        assert_eq!(check_message("aiko", "ben", "c1", &at_limit, 10), Ok(()));
        let over = check_message("aiko", "ben", "c1", &"愛".repeat(11), 10).unwrap_err();
        assert_eq!(over.code, ErrorCode::TooLarge);
        assert!(over.message.contains("11 characters"), "{}", over.message);
        assert_eq!(check_message("aiko", "ben", "c1", " \n\t", 10).unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_message("aiko", "ben", "", "hi", 10).unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_message("aiko", "ben", &"x".repeat(65), "hi", 10).unwrap_err().code, ErrorCode::Invalid);
    }

    #[test]
    fn a_conversation_names_another_principal() {
        assert_eq!(check_peer("aiko", "ben"), Ok(()));
        assert_eq!(check_peer("aiko", "aiko").unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_peer("aiko", "").unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(check_peer("aiko", &"b".repeat(321)).unwrap_err().code, ErrorCode::Invalid);
        let cursors = vec![Cursor { peer: "ben".into(), seq: 0 }; MAX_CURSORS + 1];
        assert_eq!(check_cursors("aiko", &cursors).unwrap_err().code, ErrorCode::TooLarge);
        assert_eq!(check_cursors("aiko", &cursors[..2]), Ok(()));
    }

    #[test]
    fn only_a_new_message_is_delivered() {
        let new = sent(7, Appended { message: message(3, "hi"), duplicate: false });
        assert!(matches!(new.ack, ServerFrame::ChatAck { id: 7, seq: 3, duplicate: false, .. }));
        let (frame, to) = new.deliver.expect("a new message is delivered");
        assert!(matches!(frame, ServerFrame::Chat { .. }));
        assert_eq!(to, ["ben", "aiko"]);
        let resend = sent(8, Appended { message: message(3, "hi"), duplicate: true });
        assert!(matches!(resend.ack, ServerFrame::ChatAck { id: 8, duplicate: true, .. }));
        assert!(resend.deliver.is_none());
    }

    #[test]
    fn pages_stop_at_their_count_or_their_bytes() {
        let mut page = Page::new(2);
        page.extend((1..=3).map(|seq| message(seq, "x")).collect());
        assert_eq!((page.messages.len(), page.more), (2, true));
        let mut page = Page::new(100);
        let long = "x".repeat(REPLY_BUDGET_BYTES / 2);
        page.extend((1..=3).map(|seq| message(seq, &long)).collect());
        assert_eq!((page.messages.len(), page.more), (2, true));
        assert_eq!(history_limit(None, 20), Ok(20));
        assert_eq!(history_limit(None, 500), Ok(DEFAULT_PAGE));
        assert_eq!(history_limit(Some(0), 500).unwrap_err().code, ErrorCode::Invalid);
        assert_eq!(history_limit(Some(501), 500).unwrap_err().code, ErrorCode::TooLarge);
    }

    #[test]
    fn previews_cut_at_a_character_boundary() {
        let summary = |text: &str| ConversationSummary {
            peer: "ben".into(),
            last_seq: 1,
            read_seq: 0,
            unread: 1,
            last: Some(message(1, text)),
        };
        let mut conversations = vec![summary(&"愛".repeat(PREVIEW_CHARS + 5)), summary("short")];
        previews(&mut conversations);
        let texts: Vec<usize> = conversations.iter().map(|c| c.last.as_ref().unwrap().text.chars().count()).collect();
        assert_eq!(texts, [PREVIEW_CHARS, 5]);
        let cursor = |seq| Cursor { peer: "ben".into(), seq };
        assert!(behind(&conversations, &cursor(0)));
        assert!(!behind(&conversations, &cursor(1)));
        assert!(!behind(&conversations, &Cursor { peer: "carol".into(), seq: 0 }));
    }
}
