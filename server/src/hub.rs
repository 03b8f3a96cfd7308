//! Live connections and how frames reach them.
//!
//! A push is framed once ([`encode`]) and written straight to each subscriber's socket by
//! whoever produces it (a presence change, a chat message): a non-blocking write that usually
//! completes at once, so no connection task is woken to deliver it. Only when a socket cannot
//! take the whole frame does the rest wait in the connection's backlog, which its own task
//! drains. Slow-client policy: a backlog over the queue limit closes the connection with
//! `slow_consumer` (a "reconnect" code); the client resumes from the last sequence number it
//! saw, so nothing is lost and nothing is dropped silently.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use protocol::{CloseCode, ServerFrame};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::ws;

pub type ConnId = u64;

/// Frames waiting for a socket that could not take them at once.
#[derive(Default)]
struct Backlog {
    frames: VecDeque<Bytes>,
    /// Bytes of the first frame already written.
    offset: usize,
    dead: bool,
}

struct Shared {
    write: OwnedWriteHalf,
    backlog: Mutex<Backlog>,
    /// Wakes the connection's task to drain the backlog.
    pending: Notify,
    close: AtomicU16,
    closing: Notify,
    limit: usize,
}

/// One connection's sending side; cheap to clone, shared by everyone who pushes to it.
#[derive(Clone)]
pub struct Outbox {
    pub id: ConnId,
    shared: Arc<Shared>,
}

/// Encodes a frame once, as a complete WebSocket frame, for any number of sockets.
pub fn encode(frame: &ServerFrame) -> Bytes {
    ws::frame(ws::OP_TEXT, frame.encode().as_bytes())
}

impl Outbox {
    /// A connection's outbox writing to `write`, holding at most `limit` frames back.
    pub fn new(id: ConnId, write: OwnedWriteHalf, limit: usize) -> Self {
        let shared = Shared {
            write,
            backlog: Mutex::default(),
            pending: Notify::new(),
            close: AtomicU16::new(0),
            closing: Notify::new(),
            limit,
        };
        Self { id, shared: Arc::new(shared) }
    }

    /// Sends a framed message: written now if the socket takes it, else kept in order in the
    /// backlog. Returns false if the connection is gone or was just closed as too slow.
    pub fn push(&self, frame: Bytes, metrics: &Metrics) -> bool {
        self.push_inner(frame, metrics, false)
    }

    /// Like [`Outbox::push`], past the backlog limit: for the close frame, which must follow
    /// whatever is already waiting.
    fn push_last(&self, frame: Bytes, metrics: &Metrics) -> bool {
        self.push_inner(frame, metrics, true)
    }

    fn push_inner(&self, frame: Bytes, metrics: &Metrics, over_limit: bool) -> bool {
        let Ok(mut backlog) = self.shared.backlog.lock() else { return false };
        if backlog.dead {
            return false;
        }
        if backlog.frames.is_empty() {
            match self.shared.write.try_write(&frame) {
                Ok(n) if n == frame.len() => {}
                Ok(n) => {
                    backlog.offset = n;
                    backlog.frames.push_back(frame);
                    self.shared.pending.notify_one();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    backlog.offset = 0;
                    backlog.frames.push_back(frame);
                    self.shared.pending.notify_one();
                }
                Err(_) => {
                    backlog.dead = true;
                    drop(backlog);
                    self.close(CloseCode::Restarting);
                    return false;
                }
            }
        } else if backlog.frames.len() >= self.shared.limit && !over_limit {
            drop(backlog);
            if self.close(CloseCode::SlowConsumer) {
                metrics.slow_consumers.inc();
                tracing::info!(conn = self.id, "closing slow consumer");
            }
            return false;
        } else {
            backlog.frames.push_back(frame);
        }
        metrics.frames_out.inc();
        true
    }

    /// Resolves when the backlog has frames to write.
    pub async fn backlogged(&self) {
        loop {
            let notified = self.shared.pending.notified();
            if self.shared.backlog.lock().is_ok_and(|b| !b.frames.is_empty()) {
                return;
            }
            notified.await;
        }
    }

    /// Writes the backlog until it is empty. Only the connection's own task calls this, so
    /// frames leave in the order they were pushed.
    pub async fn drain(&self) -> std::io::Result<()> {
        loop {
            let (frame, offset) = match self.shared.backlog.lock() {
                Ok(b) => match b.frames.front() {
                    Some(front) => (front.clone(), b.offset),
                    None => return Ok(()),
                },
                Err(_) => return Err(std::io::Error::other("backlog poisoned")),
            };
            self.shared.write.writable().await?;
            match self.shared.write.try_write(&frame[offset..]) {
                Ok(n) => {
                    if let Ok(mut b) = self.shared.backlog.lock() {
                        if offset + n >= frame.len() {
                            b.frames.pop_front();
                            b.offset = 0;
                        } else {
                            b.offset = offset + n;
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    if let Ok(mut b) = self.shared.backlog.lock() {
                        b.dead = true;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Queues a close frame after whatever is waiting, and marks the outbox dead.
    pub fn push_close(&self, code: u16, reason: &str, metrics: &Metrics) {
        self.push_last(ws::close_frame(code, reason), metrics);
        if let Ok(mut b) = self.shared.backlog.lock() {
            b.dead = true;
        }
    }

    /// Asks the connection to close with `code`. Returns whether this call set the code.
    pub fn close(&self, code: CloseCode) -> bool {
        let set = self.shared.close.compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire).is_ok();
        self.shared.closing.notify_waiters();
        set
    }

    /// Waits until the connection is asked to close, and says with which code.
    pub async fn closed(&self) -> CloseCode {
        loop {
            // Registered before the flag is read, so a close between the two is not missed.
            let notified = self.shared.closing.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(code) = CloseCode::from_code(self.shared.close.load(Ordering::Acquire)) {
                return code;
            }
            notified.await;
        }
    }
}

/// Every live connection by principal.
pub struct Hub {
    next_id: AtomicU64,
    by_principal: Mutex<HashMap<Arc<str>, Vec<Outbox>>>,
    max_per_principal: usize,
}

impl Hub {
    pub fn new(max_per_principal: usize) -> Self {
        Self { next_id: AtomicU64::new(1), by_principal: Mutex::default(), max_per_principal }
    }

    /// A fresh connection id.
    pub fn next_id(&self) -> ConnId {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers an authenticated connection. Beyond the per-principal limit the oldest is
    /// closed.
    /// Returns how many older connections were closed to stay within the limit.
    pub fn register(&self, principal: &Arc<str>, outbox: &Outbox) -> usize {
        let Ok(mut map) = self.by_principal.lock() else { return 0 };
        let conns = map.entry(principal.clone()).or_default();
        conns.push(outbox.clone());
        let mut replaced = 0;
        while conns.len() > self.max_per_principal {
            let oldest = conns.remove(0);
            oldest.close(CloseCode::Replaced);
            replaced += 1;
        }
        replaced
    }

    /// Forgets a connection; returns how many the principal still has.
    pub fn unregister(&self, principal: &str, id: ConnId) -> usize {
        let Ok(mut map) = self.by_principal.lock() else { return 0 };
        let Some(conns) = map.get_mut(principal) else { return 0 };
        conns.retain(|c| c.id != id);
        let left = conns.len();
        if left == 0 {
            map.remove(principal);
        }
        left
    }

    /// Every live connection of `principal`.
    pub fn connections(&self, principal: &str) -> Vec<Outbox> {
        match self.by_principal.lock() {
            Ok(map) => map.get(principal).cloned().unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// Sends a frame to every connection of `principal` except `skip`.
    pub fn send_to(&self, principal: &str, frame: &Bytes, skip: Option<ConnId>, metrics: &Metrics) {
        let targets: Vec<Outbox> = match self.by_principal.lock() {
            Ok(map) => map.get(principal).map(|c| c.iter().filter(|o| Some(o.id) != skip).cloned().collect()),
            Err(_) => None,
        }
        .unwrap_or_default();
        for outbox in targets {
            outbox.push(frame.clone(), metrics);
        }
    }

    /// Asks every connection to close (shutdown).
    pub fn close_all(&self, code: CloseCode) {
        if let Ok(map) = self.by_principal.lock() {
            for outbox in map.values().flatten() {
                outbox.close(code);
            }
        }
    }
}
