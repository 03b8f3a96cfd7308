//! Request frames after the handshake: one function per frame, in files by concern
//! (`requests/presence.rs`, `requests/chat.rs`, `requests/calls.rs`, `requests/help.rs`,
//! `requests/supervise.rs`), each
//! validating, applying and answering with a [`Reply`]. Handlers see the connection as a
//! [`Ctx`] and never write to a socket: the session performs every reply, in one order.

pub mod calls;
pub mod chat;
pub mod help;
pub mod presence;
pub mod supervise;

use std::sync::Arc;

use protocol::{ClientFrame, CloseCode, ErrorBody, ErrorCode, ServerFrame};

use crate::auth::Identity;
use crate::help::Action;
use crate::hub::{ConnId, Outbox};
use crate::state::App;

/// The context a request runs in: the relay, and the authenticated connection that sent it.
pub struct Ctx {
    pub app: Arc<App>,
    pub conn: ConnId,
    pub principal: Arc<str>,
    pub identity: Identity,
    /// The Connect username the directory holds for the principal, if any.
    pub username: Option<String>,
    /// The name colleagues see: the directory's, else the token's, else the principal.
    pub display_name: String,
    pub roster: String,
}

/// What a request produced. The session performs it in this order: the answer to the
/// connection that asked, then the push to other connections.
pub struct Reply {
    pub answer: Answer,
    pub push: Option<Push>,
}

/// The answer to the connection that asked.
pub enum Answer {
    Frame(ServerFrame),
    /// A roster subscription (distinct rosters as the client named them, or `*` alone for every
    /// one): registered and its snapshot written under the presence lock
    /// (`PresenceHub::subscribe`), so that every change after the snapshot reaches the socket
    /// after it.
    Roster {
        id: u64,
        rosters: Vec<String>,
    },
}

/// A frame for other connections than the one that asked.
pub struct Push {
    pub frame: ServerFrame,
    pub to: Audience,
}

/// Who a push goes to.
pub enum Audience {
    /// Every connection of these principals except the one that asked.
    Principals(Vec<String>),
    /// These connections (chosen by the handler, which leaves out the one that asked).
    Connections(Vec<Outbox>),
}

impl Reply {
    /// The answer, then `frame` to the other connections of `to`.
    pub fn then_push(self, frame: ServerFrame, to: Vec<String>) -> Self {
        Self { push: Some(Push { frame, to: Audience::Principals(to) }), ..self }
    }

    /// The answer, then `frame` to these connections.
    pub fn then_push_to(self, frame: ServerFrame, to: Vec<Outbox>) -> Self {
        Self { push: Some(Push { frame, to: Audience::Connections(to) }), ..self }
    }
}

impl From<ServerFrame> for Reply {
    fn from(frame: ServerFrame) -> Self {
        Self { answer: Answer::Frame(frame), push: None }
    }
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

impl From<crate::chat::Refused> for Refusal {
    fn from(refused: crate::chat::Refused) -> Self {
        Self::new(refused.code, refused.message)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        Self::new(ErrorCode::Unavailable, "storage is unavailable; retry")
    }
}

pub async fn dispatch(ctx: &mut Ctx, frame: ClientFrame) -> Result<Reply, Refusal> {
    Ok(match frame {
        ClientFrame::Hello { .. } => {
            return Err(Refusal::new(
                ErrorCode::ProtocolViolation,
                "already authenticated; hello is the first frame only",
            ));
        }
        ClientFrame::Ping { id } => ServerFrame::Pong { id }.into(),
        ClientFrame::Reauth { id, token } => reauth(ctx, id, &token).await?.into(),
        ClientFrame::Subscribe { id, roster, rosters } => presence::subscribe(ctx, id, roster, rosters)?,
        ClientFrame::SetPresence { id, state, since, contact, username, contact_id } => {
            presence::set(ctx, id, state, since, contact, username, contact_id)?.into()
        }
        ClientFrame::ClearPresence { id } => presence::clear(ctx, id).into(),
        ClientFrame::SendChat { id, to, client_id, text } => chat::send(ctx, id, to, client_id, text).await?,
        ClientFrame::Conversations { id } => chat::conversations(ctx, id).await?.into(),
        ClientFrame::Sync { id, cursors } => chat::sync(ctx, id, cursors).await?.into(),
        ClientFrame::History { id, peer, before, limit } => chat::history(ctx, id, peer, before, limit).await?.into(),
        ClientFrame::MarkRead { id, peer, seq } => chat::mark_read(ctx, id, peer, seq).await?,
        ClientFrame::ReportCall { id, call } => calls::report(ctx, id, call).await?.into(),
        ClientFrame::AskHelp { id, reason, note } => help::ask(ctx, id, reason, note).await?,
        ClientFrame::CancelHelp { id, request } => help::change(ctx, id, request, Action::Cancel).await?,
        ClientFrame::TakeHelp { id, request } => help::change(ctx, id, request, Action::Take).await?,
        ClientFrame::CloseHelp { id, request } => help::change(ctx, id, request, Action::Close).await?,
        ClientFrame::HelpRequests { id, since } => help::list(ctx, id, since).await?.into(),
        ClientFrame::MonitorAgent { id, agent, barge } => supervise::monitor(ctx, id, agent, barge).await?.into(),
        ClientFrame::SetAgentStatus { id, agent, status } => {
            supervise::set_status(ctx, id, agent, status).await?.into()
        }
    })
}

/// Replaces the connection's token; the principal must stay the same.
async fn reauth(ctx: &mut Ctx, id: u64, token: &str) -> Result<ServerFrame, Refusal> {
    let app = &ctx.app;
    let identity = app.verifier.verify(token, &app.metrics).await.map_err(|e| Refusal::new(e.code(), e.to_string()))?;
    if identity.principal != ctx.identity.principal {
        return Err(Refusal::closing(
            ErrorCode::Forbidden,
            "reauth must keep the same principal",
            CloseCode::Unauthenticated,
        ));
    }
    ctx.identity = identity;
    Ok(ServerFrame::Ok { id })
}
