//! Request frames after the handshake: one function per frame, in files by concern
//! (`requests/presence.rs`, `requests/chat.rs`, `requests/calls.rs`), each validating, applying and answering.

pub mod calls;
pub mod chat;
pub mod presence;

use protocol::{ChatMessage, ClientFrame, CloseCode, ErrorBody, ErrorCode, ServerFrame};

use crate::session::Session;

/// What a request produced: a reply, and for a new chat message the delivery that follows it.
pub enum Outcome {
    Reply(ServerFrame),
    /// The reply was already written (a roster snapshot, in order with the pushes after it).
    Sent,
    ReplyThenDeliver(ServerFrame, ChatMessage),
}

/// A refused request: the error frame to send, and whether to close the connection after it.
#[derive(Debug)]
pub struct Refusal {
    pub body: ErrorBody,
    pub close: Option<CloseCode>,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { body: ErrorBody::new(code, message), close: None }
    }

    pub fn closing(code: ErrorCode, message: impl Into<String>, close: CloseCode) -> Self {
        Self { body: ErrorBody::new(code, message), close: Some(close) }
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Self::new(ErrorCode::Unavailable, "storage is unavailable; retry")
    }
}

pub async fn dispatch(session: &mut Session, frame: ClientFrame) -> Result<Outcome, Refusal> {
    let reply = match frame {
        ClientFrame::Hello { .. } => {
            return Err(Refusal::new(
                ErrorCode::ProtocolViolation,
                "already authenticated; hello is the first frame only",
            ));
        }
        ClientFrame::Ping { id } => ServerFrame::Pong { id },
        ClientFrame::Reauth { id, token } => reauth(session, id, &token).await?,
        ClientFrame::Subscribe { id, roster } => {
            presence::subscribe(session, id, roster)?;
            return Ok(Outcome::Sent);
        }
        ClientFrame::SetPresence { id, state, since, contact, username } => {
            presence::set(session, id, state, since, contact, username)?
        }
        ClientFrame::ClearPresence { id } => presence::clear(session, id),
        ClientFrame::SendChat { id, to, client_id, text } => return chat::send(session, id, to, client_id, text).await,
        ClientFrame::Conversations { id } => chat::conversations(session, id).await?,
        ClientFrame::Sync { id, cursors } => chat::sync(session, id, cursors).await?,
        ClientFrame::History { id, peer, before, limit } => chat::history(session, id, peer, before, limit).await?,
        ClientFrame::MarkRead { id, peer, seq } => chat::mark_read(session, id, peer, seq).await?,
        ClientFrame::ReportCall { id, call } => calls::report(session, id, call).await?,
    };
    Ok(Outcome::Reply(reply))
}

/// Replaces the connection's token; the principal must stay the same.
async fn reauth(session: &mut Session, id: u64, token: &str) -> Result<ServerFrame, Refusal> {
    let app = session.app.clone();
    let identity = app.verifier.verify(token, &app.metrics).await.map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    if identity.principal != session.identity.principal {
        return Err(Refusal::closing(
            ErrorCode::Forbidden,
            "reauth must keep the same principal",
            CloseCode::Unauthenticated,
        ));
    }
    session.identity = identity;
    Ok(ServerFrame::Ok { id })
}
