//! The link's decisions: start-up from storage, sign-in, silent renewal, the relay socket and
//! its reconnects with backoff, timers. Events in (`socket_opened`, `socket_closed`,
//! `signed_in`, `timer_fired`...), [`Effect`]s out (`OpenSocket`, `SignIn`, `SetTimer`,
//! `Save`...): the runtime performs them and feeds the results back, nothing more.
//!
//! A sign-in after the person signed out happens only when they ask, and makes the issuer
//! authenticate again (`prompt=login`). Sign-ins, renewals and sockets are numbered by the core's
//! one id allocator, so an answer to one superseded (by a click, a sign-out, new settings, a new
//! socket) is recognised and ignored.

use protocol::config::Config;
use protocol::panel::{Connection, Problem};
use protocol::{ClientFrame, CloseCode, Cursor, Millis, PROTOCOL_VERSION, ServerFrame};

use super::{Core, Effect};
use crate::auth::{self, Prompt, Session};
use crate::link::{self, SignInError};
use crate::storage::{Key, Record, Stored};

/// Pings keep the relay's idle timer and Chrome's worker lifetime both fed.
pub const PING_MS: u32 = 20_000;
/// A renewal that failed is tried again after this long, while the token lasts.
pub const RENEW_RETRY_MS: u32 = 30_000;
/// A session kept in storage that expires sooner than this is not used: a fresh sign-in is.
const SESSION_MARGIN_MS: Millis = 60_000;

/// The core's timers; the runtime keeps at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    Ping,
    Reconnect,
    SignInRetry,
    Renew,
    /// A supervisor's next alert threshold crossing.
    Alerts,
}

impl Timer {
    pub const ALL: [Timer; 5] = [Timer::Ping, Timer::Reconnect, Timer::SignInRetry, Timer::Renew, Timer::Alerts];
}

/// The link's state, kept in the [`Core`].
#[derive(Debug, Default)]
pub(super) struct Link {
    session: Option<Session>,
    /// The person signed out: only they sign in again, by asking.
    signed_out: bool,
    /// The current socket, while one is open or opening.
    socket: Option<u64>,
    /// Reconnects in a row without a welcome.
    attempt: u32,
    /// A reconnect is due when [`Timer::Reconnect`] fires.
    reconnecting: bool,
    /// The sign-in in flight, with its prompt.
    signing: Option<(u64, Prompt)>,
    /// The renewal in flight.
    renewing: Option<u64>,
    /// Sign-ins in a row that could not reach the issuer.
    sign_in_failures: u32,
    /// A sign-in to try again when [`Timer::SignInRetry`] fires, with its prompt.
    retry_sign_in: Option<Prompt>,
    /// The relay refused the token and a sign-in was redone for it: a second refusal is shown.
    signed_in_again: bool,
}

pub(super) fn set_timer(timer: Timer, ms: Millis) -> Effect {
    Effect::SetTimer { timer, ms: ms.clamp(0, Millis::from(i32::MAX)) as u32 }
}

impl Core {
    /// Start-up: the core is made from what storage kept, so nothing (a panel's message, a
    /// sign-out) can reach a core that storage would later overwrite; then a connection with the
    /// kept session or a silent sign-in.
    pub fn start(stored: Stored, now: Millis) -> (Self, Vec<Effect>) {
        let alerts = floor::Alerts::restore(stored.thresholds, stored.seen);
        let core = Self { outbox: stored.outbox, failed: stored.failed, calls_pending: stored.calls, ..Self::empty() };
        let mut core = core.with_floor(alerts, stored.watch, stored.scope);
        core.link.signed_out = stored.signed_out;
        core.link.session = stored.session.filter(|s| !stored.signed_out && s.expires_at > now + SESSION_MARGIN_MS);
        let mut out = vec![set_timer(Timer::Ping, PING_MS.into())];
        out.extend(if core.link.session.is_some() { core.connect() } else { core.sign_in(Prompt::Silent) });
        (core, out)
    }

    /// The ID token the REST API is called with.
    pub fn token(&self) -> Option<&str> {
        self.link.session.as_ref().map(|s| s.id_token.as_str())
    }

    /// The socket frames are sent on, and received from, now.
    pub fn socket(&self) -> Option<u64> {
        self.link.socket
    }

    /// Reads the account's cursors, then opens the socket ([`Core::cursors_loaded`]).
    fn connect(&mut self) -> Vec<Effect> {
        match &self.link.session {
            Some(session) => vec![Effect::Load(Key::Cursors(auth::account_key(&session.id_token)))],
            None => self.set_connection(Connection::SignedOut),
        }
    }

    /// The cursors storage kept under [`Key::Cursors`]`(owner)`: restored, and the socket opened,
    /// if `owner` is still the signed-in account.
    pub fn cursors_loaded(&mut self, owner: &str, cursors: Vec<Cursor>) -> Vec<Effect> {
        let current = self.link.session.as_ref().is_some_and(|s| auth::account_key(&s.id_token) == owner);
        if !current {
            return Vec::new();
        }
        self.restore_cursors(owner, cursors);
        self.open()
    }

    fn close(&mut self, code: u16) -> Vec<Effect> {
        self.link.reconnecting = false;
        let mut out = vec![Effect::CancelTimer(Timer::Reconnect), Effect::CancelTimer(Timer::Renew)];
        if self.link.socket.take().is_some() {
            out.push(Effect::CloseSocket { code });
        }
        out
    }

    fn open(&mut self) -> Vec<Effect> {
        let mut out = self.close(1000);
        if self.link.session.is_none() {
            out.extend(self.set_connection(Connection::SignedOut));
            return out;
        }
        let socket = self.id();
        self.link.socket = Some(socket);
        out.push(Effect::OpenSocket { socket });
        out.extend(self.set_connection(Connection::Connecting));
        out
    }

    /// The socket could not even be made (the relay address is not valid).
    pub fn socket_failed(&mut self, socket: u64, detail: String) -> Vec<Effect> {
        if self.link.socket != Some(socket) {
            return Vec::new();
        }
        self.link.socket = None;
        self.set_connection(Connection::Failed { problem: Problem::BadSettings, detail })
    }

    /// The socket opened: the first frame carries the token.
    pub fn socket_opened(&mut self, socket: u64) -> Vec<Effect> {
        let Some(session) = self.link.session.as_ref().filter(|_| self.link.socket == Some(socket)) else {
            return Vec::new();
        };
        vec![Effect::Relay(ClientFrame::Hello {
            protocol: PROTOCOL_VERSION,
            token: Some(session.id_token.clone()),
            ticket: None,
            client: Some(format!("ccp-sidecar-extension/{}", env!("CARGO_PKG_VERSION"))),
        })]
    }

    /// A frame from `socket`; frames of a socket since replaced are dropped.
    pub fn socket_frame(&mut self, socket: u64, frame: ServerFrame, now: Millis) -> Vec<Effect> {
        if self.link.socket != Some(socket) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let ServerFrame::Welcome { expires_at, .. } = &frame {
            self.link.attempt = 0;
            self.link.signed_in_again = false;
            out.push(set_timer(Timer::Renew, auth::renew_in(now, *expires_at)));
        }
        out.extend(self.on_frame(frame, now));
        out
    }

    /// The socket closed with `code`. An expired token, or one the issuer no longer vouches for
    /// (its keys changed), signs in again without asking, once; a second refusal in a row is
    /// shown. Otherwise the close code says whether to come back, after a backoff.
    pub fn socket_closed(&mut self, socket: u64, code: u16, reason: String, now: Millis, jitter: f64) -> Vec<Effect> {
        if self.link.socket != Some(socket) {
            return Vec::new();
        }
        self.link.socket = None;
        let close = CloseCode::from_code(code);
        let refused = close == Some(CloseCode::Unauthenticated) && !self.link.signed_in_again;
        if close == Some(CloseCode::TokenExpired) || refused {
            self.link.signed_in_again = refused;
            self.link.session = None;
            return self.sign_in(Prompt::Silent);
        }
        let (problem, retry) = link::after_close(code);
        if !retry {
            let detail = if reason.is_empty() { format!("the relay closed the connection ({code})") } else { reason };
            return self.set_connection(Connection::Failed { problem, detail });
        }
        self.link.attempt = (self.link.attempt + 1).min(16);
        let delay = link::backoff_ms(self.link.attempt, jitter);
        self.link.reconnecting = true;
        let mut out = vec![set_timer(Timer::Reconnect, delay.into())];
        out.extend(self.set_connection(Connection::Offline { retry_at: now + Millis::from(delay), problem }));
        out
    }

    /// Signs in with `prompt`, superseding any sign-in or renewal in flight. After a sign-out
    /// only one the person asked for runs, and it asks the issuer to authenticate again.
    pub fn sign_in(&mut self, prompt: Prompt) -> Vec<Effect> {
        if self.link.signed_out && !prompt.interactive() {
            return self.set_connection(Connection::SignedOut);
        }
        let prompt = if self.link.signed_out { Prompt::Login } else { prompt };
        let attempt = self.id();
        self.link.signing = Some((attempt, prompt));
        self.link.renewing = None;
        self.link.retry_sign_in = None;
        let mut out = vec![Effect::CancelTimer(Timer::SignInRetry), Effect::SignIn { attempt, prompt }];
        out.extend(self.set_connection(Connection::SigningIn));
        out
    }

    /// What sign-in (or renewal) `attempt` came back with; `jitter` (0..1) spreads the retry.
    pub fn signed_in(
        &mut self,
        attempt: u64,
        result: Result<Session, SignInError>,
        now: Millis,
        jitter: f64,
    ) -> Vec<Effect> {
        if self.link.renewing == Some(attempt) {
            self.link.renewing = None;
            return self.renewed(result, now);
        }
        let Some((_, prompt)) = self.link.signing.filter(|(a, _)| *a == attempt) else { return Vec::new() };
        self.link.signing = None;
        match result {
            Ok(session) => {
                self.link.signed_out = false;
                self.link.sign_in_failures = 0;
                self.link.session = Some(session.clone());
                let mut out = vec![Effect::Save(Record::Session(session)), Effect::Remove(Key::SignedOut)];
                out.extend(self.connect());
                out
            }
            Err(error) => {
                let failures =
                    if matches!(error, SignInError::Unreachable(_)) { self.link.sign_in_failures + 1 } else { 0 };
                self.link.sign_in_failures = failures.min(16);
                let (connection, retry) = link::after_sign_in_failure(&error, prompt, failures, now, jitter);
                let mut out = Vec::new();
                if let Some(retry) = retry {
                    self.link.retry_sign_in = Some(retry.prompt);
                    out.push(set_timer(Timer::SignInRetry, retry.wait_ms.into()));
                }
                out.extend(self.set_connection(connection));
                out
            }
        }
    }

    /// A silent renewal's answer: the new token goes to the open connection (`reauth`) and the
    /// next renewal is planned; a failure is tried again while the token lasts (after that the
    /// relay's close signs in again).
    fn renewed(&mut self, result: Result<Session, SignInError>, now: Millis) -> Vec<Effect> {
        let Some(expires_at) = self.link.session.as_ref().map(|s| s.expires_at) else { return Vec::new() };
        match result {
            Ok(session) => {
                let id = self.id();
                let out = vec![
                    Effect::Save(Record::Session(session.clone())),
                    Effect::Relay(ClientFrame::Reauth { id, token: session.id_token.clone() }),
                    set_timer(Timer::Renew, auth::renew_in(now, session.expires_at)),
                ];
                self.link.session = Some(session);
                out
            }
            Err(_) if expires_at - now > Millis::from(RENEW_RETRY_MS) => {
                vec![set_timer(Timer::Renew, RENEW_RETRY_MS.into())]
            }
            Err(_) => Vec::new(),
        }
    }

    /// A timer the core set went off, at `now`.
    pub fn timer_fired(&mut self, timer: Timer, now: Millis) -> Vec<Effect> {
        match timer {
            Timer::Ping => {
                let mut out = vec![set_timer(Timer::Ping, PING_MS.into())];
                if self.link.socket.is_some() {
                    let id = self.id();
                    out.push(Effect::Relay(ClientFrame::Ping { id }));
                }
                out.extend(self.tick());
                out
            }
            Timer::Reconnect if self.link.reconnecting => self.open(),
            Timer::SignInRetry => match self.link.retry_sign_in.take() {
                Some(prompt) => self.sign_in(prompt),
                None => Vec::new(),
            },
            Timer::Renew if self.link.session.is_some() && !self.link.signed_out => {
                let attempt = self.id();
                self.link.renewing = Some(attempt);
                vec![Effect::SignIn { attempt, prompt: Prompt::Silent }]
            }
            Timer::Reconnect | Timer::Renew => Vec::new(),
            Timer::Alerts => self.alerts_due(now),
        }
    }

    /// Settings changed (options page or policy): a new sign-in when what the link uses
    /// (`config`, from `before`) changed, and the alert thresholds in force either way (the
    /// options page saves them beside the relay's settings).
    pub fn settings_changed(
        &mut self,
        before: &Config,
        config: &Config,
        thresholds: floor::Thresholds,
        now: Millis,
    ) -> Vec<Effect> {
        let mut out = if before.same_link(config) {
            self.set_scope(config.roster.clone())
        } else {
            self.reconfigured(config.roster.clone())
        };
        out.extend(self.set_thresholds(thresholds, now));
        out
    }

    /// Sign in again with new settings (the floor's scope is theirs).
    pub fn reconfigured(&mut self, scope: Option<Vec<String>>) -> Vec<Effect> {
        self.scope = scope;
        self.link.session = None;
        let mut out = self.close(1000);
        out.extend(self.sign_in(Prompt::Silent));
        out
    }

    /// The link's part of a sign-out: the session is forgotten, the mark that they did is kept
    /// across worker restarts, and a sign-in or renewal in flight is ignored when it ends.
    pub(super) fn sign_out_link(&mut self) -> Vec<Effect> {
        self.link.signed_out = true;
        self.link.signing = None;
        self.link.renewing = None;
        self.link.retry_sign_in = None;
        self.link.session = None;
        let mut out = vec![
            Effect::Save(Record::SignedOut),
            Effect::Remove(Key::Session),
            Effect::CancelTimer(Timer::SignInRetry),
        ];
        out.extend(self.close(1000));
        out
    }
}
