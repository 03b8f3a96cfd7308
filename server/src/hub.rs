//! Live connections: each one's bounded outbound queue and its close signal, indexed by
//! principal so chat can reach every connection of both participants.
//!
//! Slow-client policy: frames are queued with `try_send`; a connection whose queue is full is
//! closed with `slow_consumer` (a "reconnect" code) instead of dropping frames silently. The
//! client reconnects and resumes from the last sequence number it saw, so nothing is lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use protocol::{CloseCode, ServerFrame};
use tokio::sync::{Notify, mpsc};

use crate::metrics::Metrics;

pub type ConnId = u64;

struct Control {
    close: AtomicU16,
    notify: Notify,
}

/// The sending half of one connection.
#[derive(Clone)]
pub struct Outbox {
    pub id: ConnId,
    tx: mpsc::Sender<Utf8Bytes>,
    control: Arc<Control>,
}

/// The connection task's half: frames to write, and the close signal.
pub struct Inbox {
    pub rx: mpsc::Receiver<Utf8Bytes>,
    pub closer: Closer,
}

/// Resolves when the connection is asked to close.
pub struct Closer(Arc<Control>);

impl Outbox {
    /// Queues a frame. A full queue closes the connection as too slow; returns false then.
    pub fn push(&self, frame: Utf8Bytes, metrics: &Metrics) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.close(CloseCode::SlowConsumer) {
                    metrics.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(conn = self.id, "closing slow consumer");
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the connection to close with `code`. Returns whether this call set the code.
    pub fn close(&self, code: CloseCode) -> bool {
        let set = self.control.close.compare_exchange(0, code.code(), Ordering::AcqRel, Ordering::Acquire).is_ok();
        self.control.notify.notify_waiters();
        set
    }
}

impl Closer {
    /// Waits until the connection is asked to close, and says with which code.
    pub async fn closed(&self) -> CloseCode {
        loop {
            // Registered before the flag is read, so a close between the two is not missed.
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(code) = CloseCode::from_code(self.0.close.load(Ordering::Acquire)) {
                return code;
            }
            notified.await;
        }
    }
}

/// Encodes a frame once, for sharing between many queues.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.encode())
}

/// Every live connection by principal.
pub struct Hub {
    next_id: AtomicU64,
    by_principal: Mutex<HashMap<Arc<str>, Vec<Outbox>>>,
    queue: usize,
    max_per_principal: usize,
}

impl Hub {
    pub fn new(queue: usize, max_per_principal: usize) -> Self {
        Self { next_id: AtomicU64::new(1), by_principal: Mutex::default(), queue, max_per_principal }
    }

    /// Registers a connection. Beyond the per-principal limit the oldest is closed.
    pub fn register(&self, principal: &Arc<str>) -> (Outbox, Inbox) {
        let (tx, rx) = mpsc::channel(self.queue);
        let control = Arc::new(Control { close: AtomicU16::new(0), notify: Notify::new() });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let outbox = Outbox { id, tx, control: control.clone() };
        if let Ok(mut map) = self.by_principal.lock() {
            let conns = map.entry(principal.clone()).or_default();
            conns.push(outbox.clone());
            while conns.len() > self.max_per_principal {
                let oldest = conns.remove(0);
                oldest.close(CloseCode::Replaced);
            }
        }
        (outbox, Inbox { rx, closer: Closer(control) })
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

    /// Queues a frame to every connection of `principal` except `skip`.
    pub fn send_to(&self, principal: &str, frame: &Utf8Bytes, skip: Option<ConnId>, metrics: &Metrics) {
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
