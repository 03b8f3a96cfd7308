//! One WebSocket connection: the `hello` handshake, then a loop that reads requests under the
//! connection's limits, drains the backlog when the socket could not take a push at once, and
//! closes with a code that tells the client whether to reconnect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocol::cluster::NodeEvent;
use protocol::{ClientFrame, CloseCode, ErrorBody, ErrorCode, PROTOCOL_VERSION, ServerFrame};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;

use crate::auth::Identity;
use crate::hub::{Outbox, encode};
use crate::limits::TokenBucket;
use crate::presence::Subscriber;
use crate::requests::{self, Answer, Audience, Ctx, Refusal, Reply};
use crate::state::App;
use crate::ws::{self, Incoming, WsError};

/// A connection after a successful `hello`: what its requests see, and its sending side.
struct Session {
    ctx: Ctx,
    outbox: Outbox,
}

/// The reading side of a connection.
struct Inbound {
    read: OwnedReadHalf,
    reader: ws::Reader,
}

/// Why reading stopped.
enum ReadEnd {
    /// The peer closed the TCP connection or the socket failed.
    Gone,
    /// The byte stream broke the WebSocket rules.
    Ws(WsError),
}

impl Inbound {
    /// The next complete message. Cancel-safe: bytes are only consumed by completed reads.
    async fn next(&mut self) -> Result<Incoming, ReadEnd> {
        loop {
            if let Some(message) = self.reader.next_message().map_err(ReadEnd::Ws)? {
                return Ok(message);
            }
            match self.read.read(self.reader.spare()).await {
                Ok(0) | Err(_) => return Err(ReadEnd::Gone),
                Ok(n) => self.reader.filled(n),
            }
        }
    }
}

/// How the relay ends a connection.
#[derive(Debug, Clone, Copy)]
enum Close {
    Code(CloseCode),
    /// A WebSocket-level failure: 1002, 1007 or 1009.
    Ws(WsError),
    /// The client sent a close frame: answer it with 1000.
    Answer,
}

/// Serves one upgraded connection; `early` holds bytes read past the HTTP upgrade.
pub async fn serve(app: Arc<App>, stream: TcpStream, early: Bytes, origin_ok: bool) {
    let (read, write) = stream.into_split();
    let outbox = Outbox::new(app.hub.next_id(), write, app.config.send_queue as usize);
    let mut reader = ws::Reader::new(app.config.ws_buffer_bytes as usize, app.config.max_frame_bytes as usize * 4);
    reader.prefill(&early);
    let mut inbound = Inbound { read, reader };
    if !origin_ok {
        app.metrics.origin_refusals.inc();
        let body = ErrorBody::new(ErrorCode::Forbidden, "origin not allowed");
        refuse(&app, &outbox, &mut inbound, body, CloseCode::ForbiddenOrigin).await;
        return;
    }
    // Boxed: the handshake's state is large and needed once; the idle connection stays small.
    // A handshake still waiting for its `hello` when the relay shuts down is refused at once.
    let handshake = tokio::select! {
        identity = Box::pin(hello(&app, &outbox, &mut inbound)) => identity,
        () = app.stopping() => Err(HelloEnd::ShuttingDown),
    };
    let identity = match handshake {
        Ok(identity) if !app.shutting_down() => identity,
        Ok(_) | Err(HelloEnd::ShuttingDown) => {
            let body = ErrorBody::new(ErrorCode::Unavailable, "relay shutting down; reconnect");
            Box::pin(refuse(&app, &outbox, &mut inbound, body, CloseCode::Restarting)).await;
            return;
        }
        Err(HelloEnd::Refused(body, code)) => {
            Box::pin(refuse(&app, &outbox, &mut inbound, body, code)).await;
            return;
        }
        Err(HelloEnd::Ws(e)) => {
            count_ws_error(&app, e);
            Box::pin(close_with(&app, &outbox, &mut inbound, Close::Ws(e))).await;
            return;
        }
        Err(HelloEnd::Gone) => return,
    };
    if !app.connects.try_take(&identity.principal) {
        // A principal reconnecting in a loop (a flood, or a client without backoff) costs every
        // connection's set-up; beyond the allowance it is told to back off.
        app.metrics.rate_closes.inc();
        let message = format!(
            "more than {} new connections per second for you; reconnect after a backoff",
            app.config.principal_connects_per_second
        );
        let body = ErrorBody::new(ErrorCode::RateLimited, message);
        Box::pin(refuse(&app, &outbox, &mut inbound, body, CloseCode::RateExceeded)).await;
        return;
    }
    app.metrics.connections.inc();
    app.metrics.connections_total.inc();
    let principal: Arc<str> = Arc::from(identity.principal.as_str());
    let replaced = app.hub.register(&principal, &outbox);
    app.metrics.connections_replaced.inc_by(replaced as u64);
    let listed = app.directory.user(&principal);
    let username = listed.as_ref().and_then(|u| u.username.clone());
    let display_name = listed
        .map(|u| u.display_name)
        .or_else(|| identity.display_name.clone())
        .unwrap_or_else(|| principal.to_string());
    let roster = app.directory.roster_of(&principal);
    app.presence.connect(&principal, &display_name, &roster);
    let ctx = Ctx {
        app: app.clone(),
        conn: outbox.id,
        principal: principal.clone(),
        identity,
        username,
        display_name,
        roster,
    };
    tracing::debug!(principal = %principal, conn = outbox.id, "connected");

    let session = Session { ctx, outbox: outbox.clone() };
    let close = run(session, &mut inbound).await;
    if let Some(close) = close {
        Box::pin(close_with(&app, &outbox, &mut inbound, close)).await;
    }
    app.metrics.connections.dec();
}

/// How a handshake failed.
enum HelloEnd {
    /// Refused with an error frame and a close code.
    Refused(ErrorBody, CloseCode),
    /// The byte stream broke the WebSocket rules.
    Ws(WsError),
    /// The client went away.
    Gone,
    /// The relay started shutting down first.
    ShuttingDown,
}

/// Waits for the `hello` frame and authenticates it.
async fn hello(app: &App, outbox: &Outbox, inbound: &mut Inbound) -> Result<Identity, HelloEnd> {
    // One deadline for the whole handshake: pings do not extend it.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(app.config.hello_timeout_ms);
    let violation =
        |m: &str| HelloEnd::Refused(ErrorBody::new(ErrorCode::ProtocolViolation, m), CloseCode::ProtocolViolation);
    let text = loop {
        match tokio::time::timeout_at(deadline, inbound.next()).await {
            Err(_) => return Err(violation("no hello frame in time")),
            Ok(Err(ReadEnd::Ws(e))) => return Err(HelloEnd::Ws(e)),
            Ok(Err(ReadEnd::Gone) | Ok(Incoming::Close(_))) => return Err(HelloEnd::Gone),
            Ok(Ok(Incoming::Text(text))) => break text,
            Ok(Ok(Incoming::Ping(payload))) => {
                outbox.push(ws::frame(ws::OP_PONG, &payload), &app.metrics);
            }
            Ok(Ok(Incoming::Pong)) => {}
            Ok(Ok(Incoming::Binary)) => return Err(violation("the first frame must be a text hello")),
        }
    };
    if text.len() > app.config.max_frame_bytes as usize {
        let body = ErrorBody::new(ErrorCode::TooLarge, "hello frame too large");
        return Err(HelloEnd::Refused(body, CloseCode::ProtocolViolation));
    }
    let (protocol, token, ticket) = match protocol::decode_client(&text) {
        Ok(ClientFrame::Hello { protocol, token, ticket, .. }) => (protocol, token, ticket),
        Ok(other) => return Err(violation(&format!("expected hello, got {}", other.kind()))),
        Err(e) => {
            return Err(HelloEnd::Refused(ErrorBody::new(ErrorCode::BadFrame, e.0), CloseCode::ProtocolViolation));
        }
    };
    if protocol != PROTOCOL_VERSION {
        let message = format!("protocol {protocol} is not supported; this relay speaks {PROTOCOL_VERSION}");
        return Err(HelloEnd::Refused(
            ErrorBody::new(ErrorCode::UnsupportedProtocol, message),
            CloseCode::UnsupportedProtocol,
        ));
    }
    match (token, ticket) {
        (Some(token), None) => app.verifier.verify(&token, &app.metrics).await.map_err(|e| {
            let code = match e.code() {
                ErrorCode::TokenExpired => CloseCode::TokenExpired,
                ErrorCode::Unavailable => CloseCode::Restarting,
                _ => CloseCode::Unauthenticated,
            };
            HelloEnd::Refused(ErrorBody::new(e.code(), e.to_string()), code)
        }),
        (None, Some(ticket)) => app.tickets.redeem(&ticket, app.clock.now_ms()).ok_or_else(|| {
            app.metrics.auth_failures.inc();
            app.metrics.ticket_refusals.inc();
            let body = ErrorBody::new(
                ErrorCode::Unauthenticated,
                "unknown, used or expired ticket; ask POST /api/v1/ws-ticket for a new one",
            );
            HelloEnd::Refused(body, CloseCode::Unauthenticated)
        }),
        _ => Err(violation("hello carries either a token or a ticket")),
    }
}

/// The connection loop. Returns how to close, if the relay is the one closing.
async fn run(mut session: Session, inbound: &mut Inbound) -> Option<Close> {
    let app = session.ctx.app.clone();
    let ctx = &session.ctx;
    let welcome = ServerFrame::Welcome {
        protocol: PROTOCOL_VERSION,
        principal: ctx.principal.to_string(),
        display_name: ctx.display_name.clone(),
        supervisor: ctx.identity.supervisor,
        roster: ctx.roster.clone(),
        username: ctx.username.clone(),
        expires_at: ctx.identity.expires_at,
        limits: app.limits.clone(),
    };
    session.outbox.push(encode(&welcome), &app.metrics);
    let idle = Duration::from_millis(app.config.idle_timeout_ms);
    let mut bucket = TokenBucket::new(app.config.frames_per_second, app.config.frames_per_second * 2);
    // A budget of refusals, refilled at the frame rate: a client refused more than a burst's
    // worth faster than that is closed (4004), so refusing a flood costs the relay no more than
    // serving the rate would, however the flood is paced or mixed.
    let mut refusals = TokenBucket::new(app.config.frames_per_second, app.config.frames_per_second * 2);
    let mut last_heard = Instant::now();
    // The close signals and the timer live across iterations, so a connection does not
    // re-register its waiters every time it wakes.
    let outbox = session.outbox.clone();
    let stopping = app.stopping();
    let closed = outbox.closed();
    let timer = tokio::time::sleep(Duration::from_millis(0));
    let moved = app.clock.moved();
    tokio::pin!(stopping, closed, timer, moved);

    let close = loop {
        tokio::select! {
            biased;
            code = &mut closed => break Some(Close::Code(code)),
            () = &mut stopping => break Some(Close::Code(CloseCode::Restarting)),
            () = &mut timer => {
                let now = Instant::now();
                let token_left = crate::auth::time_left(&session.ctx.identity, app.clock.now_ms());
                if token_left.is_zero() {
                    let body = ErrorBody::new(ErrorCode::TokenExpired, "token expired; reconnect with a fresh token");
                    reply_error(&app, &outbox, None, body);
                    break Some(Close::Code(CloseCode::TokenExpired));
                }
                if now.duration_since(last_heard) >= idle {
                    break Some(Close::Code(CloseCode::IdleTimeout));
                }
                let next = (last_heard + idle).min(now + token_left);
                timer.as_mut().reset(next.into());
            }
            () = &mut moved => {
                // A manual clock was moved (tests): look at the token's time again now.
                moved.set(app.clock.moved());
                timer.as_mut().reset(tokio::time::Instant::now());
            }
            () = outbox.backlogged() => {
                // A client that stops reading blocks this write; the slow-consumer close must
                // still get through, so the write races the close signal.
                tokio::select! {
                    written = outbox.drain() => if written.is_err() { break None },
                    code = &mut closed => break Some(Close::Code(code)),
                }
            }
            message = inbound.next() => {
                let (id, refusal) = match message {
                    Err(ReadEnd::Gone) => break None,
                    Err(ReadEnd::Ws(e)) => {
                        count_ws_error(&app, e);
                        break Some(Close::Ws(e));
                    }
                    Ok(Incoming::Close(_)) => break Some(Close::Answer),
                    Ok(Incoming::Pong) => {
                        last_heard = Instant::now();
                        continue;
                    }
                    // WebSocket pings and binary frames count against the rates like any frame.
                    Ok(Incoming::Ping(payload)) => {
                        last_heard = Instant::now();
                        match charge(&session.ctx, &mut bucket) {
                            Ok(()) => {
                                outbox.push(ws::frame(ws::OP_PONG, &payload), &app.metrics);
                                continue;
                            }
                            Err(refusal) => (None, refusal),
                        }
                    }
                    Ok(Incoming::Binary) => {
                        last_heard = Instant::now();
                        let binary = || Refusal::new(ErrorCode::BadFrame, "binary frames are not accepted; send JSON text");
                        (None, charge(&session.ctx, &mut bucket).map_or_else(|refusal| refusal, |()| binary()))
                    }
                    Ok(Incoming::Text(text)) => {
                        last_heard = Instant::now();
                        app.metrics.frames_in.inc();
                        // Boxed so that a connection waiting for frames does not carry a request's state.
                        match Box::pin(handle(&mut session.ctx, &mut bucket, &text)).await {
                            Ok(reply) => {
                                perform(&session, reply);
                                continue;
                            }
                            Err(refused) => refused,
                        }
                    }
                };
                reply_error(&app, &outbox, id, refusal.body);
                if let Some(code) = refusal.close {
                    break Some(Close::Code(code));
                }
                if !refusals.try_take() {
                    app.metrics.rate_closes.inc();
                    break Some(Close::Code(CloseCode::RateExceeded));
                }
            }
        }
    };
    finish(&session, close)
}

fn count_ws_error(app: &App, e: WsError) {
    if e == WsError::TooBig {
        app.metrics.oversized_frames.inc();
        app.metrics.error(ErrorCode::TooLarge);
    }
}

/// Performs a request's reply: the answer to this connection, then the push to others.
fn perform(session: &Session, reply: Reply) {
    let Session { ctx, outbox } = session;
    let app = &ctx.app;
    match reply.answer {
        Answer::Frame(frame) => {
            outbox.push(encode(&frame), &app.metrics);
        }
        Answer::Roster { id, rosters } => {
            let subscriber = Subscriber {
                outbox: outbox.clone(),
                principal: ctx.principal.clone(),
                supervisor: ctx.identity.supervisor,
            };
            app.presence.subscribe(&subscriber, id, &rosters, &app.metrics);
            if let Some(bus) = app.bus.as_ref().filter(|_| ctx.identity.supervisor) {
                bus.watch_changed();
            }
        }
    }
    if let Some(push) = reply.push {
        // Encoded once: framed for this node's sockets, as text for the other nodes.
        let text = push.frame.encode();
        let frame = ws::frame(ws::OP_TEXT, text.as_bytes());
        match push.to {
            Audience::Principals(principals) => {
                for principal in &principals {
                    app.hub.send_to(principal, &frame, Some(ctx.conn), &app.metrics);
                }
                if let Some(bus) = &app.bus {
                    bus.publish(NodeEvent::Deliver { node: bus.node, principals, frame: text });
                }
            }
            Audience::Connections(outboxes) => {
                for outbox in outboxes {
                    outbox.push(frame.clone(), &app.metrics);
                }
            }
        }
    }
}

fn finish(session: &Session, close: Option<Close>) -> Option<Close> {
    let Session { ctx, outbox } = session;
    let app = &ctx.app;
    app.presence.unsubscribe(outbox.id);
    app.hub.unregister(&ctx.principal, outbox.id);
    if let Some(record) = app.presence.clear(&ctx.principal, outbox.id, app.clock.now_ms(), &app.metrics) {
        app.store_presence(record);
    }
    if let Some(bus) = &app.bus {
        bus.publish(NodeEvent::Clear { node: bus.node, conn: outbox.id, principal: ctx.principal.to_string() });
        if ctx.identity.supervisor {
            bus.watch_changed();
        }
    }
    tracing::debug!(principal = %ctx.principal, conn = outbox.id, ?close, "disconnected");
    close
}

/// Size, rate and shape checks, then the request itself.
async fn handle(ctx: &mut Ctx, bucket: &mut TokenBucket, text: &str) -> Result<Reply, (Option<u64>, Refusal)> {
    let app = ctx.app.clone();
    let oversized = text.len() > app.config.max_frame_bytes as usize;
    // Every frame counts against the rates, malformed and oversized ones too: refusing costs the
    // relay as well, and a flood of bad frames must not be free.
    // Every refusal names the request when the frame has an id, oversized ones too: the frame is
    // already read (the reader stops at four times the limit), and a client must be able to tell
    // which message was refused instead of waiting for an answer forever.
    let id = || lenient_id(text);
    charge(ctx, bucket).map_err(|refusal| (id(), refusal))?;
    if oversized {
        app.metrics.oversized_frames.inc();
        let message = format!("frame of {} bytes exceeds the limit of {}", text.len(), app.config.max_frame_bytes);
        return Err((id(), Refusal::new(ErrorCode::TooLarge, message)));
    }
    let frame = protocol::decode_client(text).map_err(|e| (id(), Refusal::new(ErrorCode::BadFrame, e.0)))?;
    let id = frame.id();
    let started = Instant::now();
    let outcome = requests::dispatch(ctx, frame).await.map_err(|r| (id, r));
    app.metrics.request_seconds.observe(started.elapsed());
    outcome
}

/// Takes one frame from the connection's rate and the principal's quota.
fn charge(ctx: &Ctx, bucket: &mut TokenBucket) -> Result<(), Refusal> {
    let app = &ctx.app;
    if !bucket.try_take() {
        let message = format!("more than {} frames per second; slow down", app.config.frames_per_second);
        return Err(Refusal::new(ErrorCode::RateLimited, message));
    }
    if !app.quota.try_take(&ctx.principal) {
        return Err(Refusal::new(ErrorCode::RateLimited, app.quota.refusal()));
    }
    Ok(())
}

/// The `id` of a frame that did not decode or was not executed, when it has a readable one, so
/// the client can match the error to its request. Reads only that field.
fn lenient_id(text: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<u64>,
    }
    serde_json::from_str::<Id>(text).ok()?.id
}

fn reply_error(app: &App, outbox: &Outbox, id: Option<u64>, body: ErrorBody) {
    app.metrics.error(body.code);
    outbox.push(encode(&ServerFrame::Error { id, error: body }), &app.metrics);
}

async fn refuse(app: &App, outbox: &Outbox, inbound: &mut Inbound, body: ErrorBody, code: CloseCode) {
    reply_error(app, outbox, None, body);
    close_with(app, outbox, inbound, Close::Code(code)).await;
}

/// Sends the close frame after whatever is waiting, gives the client a moment to answer, and
/// lets the socket go.
async fn close_with(app: &App, outbox: &Outbox, inbound: &mut Inbound, close: Close) {
    let (code, reason) = match close {
        Close::Code(code) => {
            app.metrics.close(code);
            (code.code(), code.reason())
        }
        Close::Ws(e) => (e.close_code(), e.reason()),
        Close::Answer => (1000, ""),
    };
    outbox.push_close(code, reason, &app.metrics);
    if tokio::time::timeout(Duration::from_secs(1), outbox.drain()).await.is_err() {
        return;
    }
    if matches!(close, Close::Answer | Close::Ws(_)) {
        return;
    }
    // Wait briefly for the client's close frame so it sees a clean close code.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(message) = inbound.next().await {
            if matches!(message, Incoming::Close(_)) {
                break;
            }
        }
    })
    .await;
}
