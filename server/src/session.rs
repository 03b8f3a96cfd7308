//! One WebSocket connection: the `hello` handshake, then a loop that writes queued frames,
//! reads requests under the connection's limits, and closes with a code that tells the client
//! whether to reconnect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt as _;
use protocol::{ClientFrame, CloseCode, ErrorBody, ErrorCode, PROTOCOL_VERSION, ServerFrame};

use crate::app::App;
use crate::auth::Identity;
use crate::hub::{Inbox, Outbox, encode};
use crate::limits::TokenBucket;
use crate::requests::{self, Outcome};
use crate::{clock, requests::Refusal};

/// Most queued frames written before one flush.
const WRITE_BATCH: usize = 64;

/// A connection after a successful `hello`.
pub struct Session {
    pub app: Arc<App>,
    pub principal: Arc<str>,
    pub identity: Identity,
    pub display_name: String,
    pub roster: String,
    pub outbox: Outbox,
}

pub async fn serve(app: Arc<App>, mut socket: WebSocket, origin_ok: bool) {
    if !origin_ok {
        app.metrics.origin_refusals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = ErrorBody::new(ErrorCode::Forbidden, "origin not allowed");
        Box::pin(refuse(&app, &mut socket, body, CloseCode::ForbiddenOrigin)).await;
        return;
    }
    // Boxed: the handshake's state is large and needed once; the idle connection stays small.
    let identity = match Box::pin(hello(&app, &mut socket)).await {
        Ok(identity) => identity,
        Err((body, code)) => {
            Box::pin(refuse(&app, &mut socket, body, code)).await;
            return;
        }
    };
    app.metrics.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    app.metrics.connections_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if app.shutting_down() {
        let body = ErrorBody::new(ErrorCode::Unavailable, "relay shutting down; reconnect");
        Box::pin(refuse(&app, &mut socket, body, CloseCode::Restarting)).await;
        app.metrics.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        return;
    }
    let principal: Arc<str> = Arc::from(identity.principal.as_str());
    let (outbox, inbox) = app.hub.register(&principal);
    let directory_user = app.directory.user(&principal);
    let display_name = directory_user
        .map(|u| u.display_name)
        .or_else(|| identity.display_name.clone())
        .unwrap_or_else(|| principal.to_string());
    let roster = app.directory.roster_of(&principal);
    app.presence.connect(&principal, &display_name, &roster);
    let session = Session { app: app.clone(), principal: principal.clone(), identity, display_name, roster, outbox };
    tracing::debug!(principal = %principal, conn = session.outbox.id, "connected");

    let close = run(session, &mut socket, inbox).await;
    if let Some(close) = close {
        Box::pin(close_with(&mut socket, close)).await;
    }
    app.metrics.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
}

/// Waits for the `hello` frame and authenticates it.
async fn hello(app: &App, socket: &mut WebSocket) -> Result<Identity, (ErrorBody, CloseCode)> {
    // One deadline for the whole handshake: pings do not extend it.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(app.config.hello_timeout_ms);
    let violation = |m: &str| (ErrorBody::new(ErrorCode::ProtocolViolation, m), CloseCode::ProtocolViolation);
    let text = loop {
        match tokio::time::timeout_at(deadline, socket.recv()).await {
            Err(_) => return Err(violation("no hello frame in time")),
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => {
                return Err(violation("closed before hello"));
            }
            Ok(Some(Ok(Message::Text(text)))) => break text,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(Some(Ok(Message::Binary(_)))) => return Err(violation("the first frame must be a text hello")),
        }
    };
    if text.len() > app.config.max_frame_bytes as usize {
        return Err((ErrorBody::new(ErrorCode::TooLarge, "hello frame too large"), CloseCode::ProtocolViolation));
    }
    let (protocol, token) = match protocol::decode_client(&text) {
        Ok(ClientFrame::Hello { protocol, token, .. }) => (protocol, token),
        Ok(other) => return Err(violation(&format!("expected hello, got {}", other.kind()))),
        Err(e) => return Err((ErrorBody::new(ErrorCode::BadFrame, e.0), CloseCode::ProtocolViolation)),
    };
    if protocol != PROTOCOL_VERSION {
        return Err((
            ErrorBody::new(
                ErrorCode::UnsupportedProtocol,
                format!("protocol {protocol} is not supported; this relay speaks {PROTOCOL_VERSION}"),
            ),
            CloseCode::UnsupportedProtocol,
        ));
    }
    app.verifier.verify(&token, &app.metrics).await.map_err(|e| {
        let code = match e.code() {
            ErrorCode::TokenExpired => CloseCode::TokenExpired,
            ErrorCode::Unavailable => CloseCode::Restarting,
            _ => CloseCode::Unauthenticated,
        };
        (ErrorBody::new(e.code(), e.to_string()), code)
    })
}

/// The connection loop. Returns the close code to send, if the relay is the one closing.
async fn run(mut session: Session, socket: &mut WebSocket, inbox: Inbox) -> Option<Close> {
    let Inbox { mut rx, closer } = inbox;
    let app = session.app.clone();
    let welcome = ServerFrame::Welcome {
        protocol: PROTOCOL_VERSION,
        principal: session.principal.to_string(),
        display_name: session.display_name.clone(),
        supervisor: session.identity.supervisor,
        roster: session.roster.clone(),
        expires_at: session.identity.expires_at,
        limits: app.limits.clone(),
    };
    if Box::pin(send(&app, socket, &welcome)).await.is_err() {
        return finish(&session, None);
    }
    let idle = Duration::from_millis(app.config.idle_timeout_ms);
    let mut bucket = TokenBucket::new(app.config.frames_per_second, app.config.frames_per_second * 2);
    let mut last_heard = Instant::now();
    let mut shutdown = app.shutdown_signal();
    // The close signals and the timer live across iterations: a connection woken for every
    // pushed frame should not re-register its waiters each time.
    let stopping = shutdown.changed();
    let closed = closer.closed();
    let timer = tokio::time::sleep(Duration::from_millis(0));
    tokio::pin!(stopping, closed, timer);

    let close = loop {
        tokio::select! {
            biased;
            // Queued frames first: a connection is woken mostly to write a push, and a ready
            // first arm spares polling the others. The queue drains in batches of 64, so the
            // close signals and timers are never kept waiting long; reads come last so that a
            // flooding client cannot hold them off.
            frame = rx.recv() => {
                let Some(frame) = frame else { break None };
                // A client that stops reading blocks this write; the slow-consumer close must
                // still get through, so the write races the close signal.
                tokio::select! {
                    written = write_queued(&app, socket, frame, &mut rx) => {
                        if written.is_err() { break None }
                    }
                    code = &mut closed => break Some(Close::Code(code)),
                }
            }
            code = &mut closed => break Some(Close::Code(code)),
            _ = &mut stopping => break Some(Close::Code(CloseCode::Restarting)),
            () = &mut timer => {
                let now = Instant::now();
                let token_left = crate::auth::time_left(&session.identity, clock::now_ms());
                if token_left.is_zero() {
                    let body = ErrorBody::new(ErrorCode::TokenExpired, "token expired; reconnect with a fresh token");
                    let _ = Box::pin(send(&app, socket, &ServerFrame::Error { id: None, error: body })).await;
                    app.metrics.error(ErrorCode::TokenExpired);
                    break Some(Close::Code(CloseCode::TokenExpired));
                }
                if now.duration_since(last_heard) >= idle {
                    break Some(Close::Code(CloseCode::IdleTimeout));
                }
                let next = (last_heard + idle).min(now + token_left);
                timer.as_mut().reset(next.into());
            }
            message = socket.recv() => {
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => break None,
                    Some(Err(e)) => {
                        if oversized(&app, &e) {
                            break Some(Close::TooBig);
                        }
                        tracing::debug!(error = %e, "read failed");
                        break None;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let body = ErrorBody::new(ErrorCode::BadFrame, "binary frames are not accepted; send JSON text");
                        if Box::pin(reply_error(&app, socket, None, body)).await.is_err() { break None }
                        continue;
                    }
                    Some(Ok(Message::Text(text))) => text,
                };
                last_heard = Instant::now();
                app.metrics.frames_in.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // Boxed so that a connection waiting for frames does not carry a request's state.
                match Box::pin(handle(&mut session, &mut bucket, &text)).await {
                    Ok(outcome) => {
                        let (replies, deliver) = match outcome {
                            Outcome::Reply(reply) => (vec![reply], None),
                            Outcome::Replies(replies) => (replies, None),
                            Outcome::ReplyThenDeliver(reply, message) => (vec![reply], Some(message)),
                        };
                        let sent = Box::pin(send_all(&app, socket, &replies)).await;
                        // The message is stored: deliver it even if the sender has gone.
                        if let Some(message) = deliver {
                            requests::chat::deliver(&session, &message);
                        }
                        if sent.is_err() { break None }
                    }
                    Err((id, refusal)) => {
                        let close = refusal.close;
                        if Box::pin(reply_error(&app, socket, id, refusal.body)).await.is_err() { break None }
                        if let Some(code) = close { break Some(Close::Code(code)) }
                    }
                }
            }
        }
    };
    finish(&session, close)
}

fn finish(session: &Session, close: Option<Close>) -> Option<Close> {
    let app = &session.app;
    app.presence.unsubscribe(session.outbox.id);
    app.hub.unregister(&session.principal, session.outbox.id);
    app.presence.disconnect(&session.principal, clock::now_ms());
    tracing::debug!(principal = %session.principal, conn = session.outbox.id, ?close, "disconnected");
    close
}

/// Whether a read error is a frame over the WebSocket size limit (counted, closed with 1009).
fn oversized(app: &App, error: &axum::Error) -> bool {
    let text = error.to_string();
    let over = text.contains("too long") || text.contains("Space limit") || text.contains("capacity");
    if over {
        app.metrics.oversized_frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        app.metrics.error(ErrorCode::TooLarge);
        tracing::info!("closing a connection that sent an oversized frame");
    }
    over
}

/// Size, rate and shape checks, then the request itself.
async fn handle(
    session: &mut Session,
    bucket: &mut TokenBucket,
    text: &str,
) -> Result<Outcome, (Option<u64>, Refusal)> {
    let app = session.app.clone();
    if text.len() > app.config.max_frame_bytes as usize {
        app.metrics.oversized_frames.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let message = format!("frame of {} bytes exceeds the limit of {}", text.len(), app.config.max_frame_bytes);
        return Err((None, Refusal::new(ErrorCode::TooLarge, message)));
    }
    let frame =
        protocol::decode_client(text).map_err(|e| (lenient_id(text), Refusal::new(ErrorCode::BadFrame, e.0)))?;
    let id = frame.id();
    if !bucket.try_take() {
        let message = format!("more than {} frames per second; slow down", app.config.frames_per_second);
        return Err((id, Refusal::new(ErrorCode::RateLimited, message)));
    }
    let started = Instant::now();
    let outcome = requests::dispatch(session, frame).await.map_err(|r| (id, r));
    app.metrics.request_seconds.observe(started.elapsed());
    outcome
}

/// The `id` of a frame that did not decode, when it has a readable one, so the client can match
/// the error to its request.
fn lenient_id(text: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(text).ok()?.get("id")?.as_u64()
}

async fn send(app: &App, socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), axum::Error> {
    app.metrics.frames_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    socket.send(Message::Text(encode(frame))).await
}

/// Writes several frames with one flush.
async fn send_all(app: &App, socket: &mut WebSocket, frames: &[ServerFrame]) -> Result<(), axum::Error> {
    for frame in frames {
        app.metrics.frames_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        socket.feed(Message::Text(encode(frame))).await?;
    }
    socket.flush().await
}

async fn reply_error(app: &App, socket: &mut WebSocket, id: Option<u64>, body: ErrorBody) -> Result<(), axum::Error> {
    app.metrics.error(body.code);
    send(app, socket, &ServerFrame::Error { id, error: body }).await
}

/// Writes a queued frame and whatever else is queued (up to a batch), then flushes once.
async fn write_queued(
    app: &App,
    socket: &mut WebSocket,
    first: Utf8Bytes,
    rx: &mut tokio::sync::mpsc::Receiver<Utf8Bytes>,
) -> Result<(), axum::Error> {
    socket.feed(Message::Text(first)).await?;
    let mut written: u64 = 1;
    while written < WRITE_BATCH as u64 {
        match rx.try_recv() {
            Ok(frame) => {
                socket.feed(Message::Text(frame)).await?;
                written += 1;
            }
            Err(_) => break,
        }
    }
    app.metrics.frames_out.fetch_add(written, std::sync::atomic::Ordering::Relaxed);
    socket.flush().await
}

async fn refuse(app: &App, socket: &mut WebSocket, body: ErrorBody, code: CloseCode) {
    app.metrics.error(body.code);
    let _ = send(app, socket, &ServerFrame::Error { id: None, error: body }).await;
    close_with(socket, Close::Code(code)).await;
}

/// How the relay closes a connection.
#[derive(Debug, Clone, Copy)]
enum Close {
    Code(CloseCode),
    /// 1009: a frame over the WebSocket size limit.
    TooBig,
}

async fn close_with(socket: &mut WebSocket, close: Close) {
    let (code, reason) = match close {
        Close::Code(code) => (code.code(), code.reason()),
        Close::TooBig => (1009, "frame too large"),
    };
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    if tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await.is_err() {
        return;
    }
    // Give the client a moment to answer the close so it sees a clean close code.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
