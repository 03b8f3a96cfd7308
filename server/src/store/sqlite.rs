//! The default backend: one SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`, so that a transaction is on disk when its commit returns.
//!
//! One writer thread owns the write connection and commits whatever has queued up in one
//! transaction (group commit): one fsync serves many messages, and an append is acknowledged
//! only after its commit. Reads run on a small pool of read-only connections in
//! `spawn_blocking`, which WAL lets proceed beside the writer. Checkpoints (copying the WAL
//! back into the database file) run on their own thread, so a commit never waits for one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use protocol::{
    CallEvent, CallRecord, ChatMessage, ConversationSummary, DirectoryUser, HelpRequest, Millis, RoutingProfile,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::{Appended, NewHelp, NewMessage, PresenceRecord, Store, StoreError, help_rank, pair};
use crate::calls::{self, StoredCall};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    a TEXT NOT NULL, b TEXT NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversations_b ON conversations (b);
CREATE TABLE IF NOT EXISTS messages (
    a TEXT NOT NULL, b TEXT NOT NULL, seq INTEGER NOT NULL, sender TEXT NOT NULL,
    client_id TEXT NOT NULL, text TEXT NOT NULL, sent_at INTEGER NOT NULL,
    PRIMARY KEY (a, b, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages (a, b, sender, client_id);
CREATE TABLE IF NOT EXISTS read_markers (
    principal TEXT NOT NULL, peer TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (principal, peer)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS presence (
    principal TEXT PRIMARY KEY, since INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory (
    id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS routing_profiles (
    id TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_state (
    key TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS calls (
    principal TEXT NOT NULL, contact_id TEXT NOT NULL, started_at INTEGER NOT NULL,
    connected_at INTEGER, record TEXT NOT NULL,
    PRIMARY KEY (principal, contact_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_recent ON calls (principal, started_at);
CREATE INDEX IF NOT EXISTS messages_sent_at ON messages (sent_at);
CREATE INDEX IF NOT EXISTS calls_started_at ON calls (started_at);
CREATE TABLE IF NOT EXISTS help (
    id INTEGER PRIMARY KEY AUTOINCREMENT, rank INTEGER NOT NULL, asked_at INTEGER NOT NULL,
    record TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS help_live ON help (id) WHERE rank < 2;
CREATE INDEX IF NOT EXISTS help_asked_at ON help (asked_at);
PRAGMA user_version = 3;
";

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 512;
/// Most idle read connections kept.
const MAX_READERS: usize = 4;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Write {
    Append(NewMessage, Reply<Appended>),
    MarkRead { principal: String, peer: String, seq: u64, reply: Reply<u64> },
    Presence(Box<PresenceRecord>, Reply<bool>),
    Directory(Vec<DirectoryUser>, Reply<()>),
    RoutingProfiles(Vec<RoutingProfile>, Option<Millis>, Reply<()>),
    Call { principal: String, event: Box<CallEvent>, caller_id: Option<String>, reply: Reply<CallRecord> },
    Expire { before: Millis, limit: u32, reply: Reply<(u64, u64)> },
    ExpireHelp { before: Millis, limit: u32, reply: Reply<u64> },
    AddHelp(Box<NewHelp>, Reply<HelpRequest>),
    UpdateHelp(Box<HelpRequest>, Reply<bool>),
}

/// The SQLite store. Cloning shares the same writer and readers.
#[derive(Clone)]
pub struct SqliteStore {
    writes: mpsc::Sender<Write>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: Arc<PathBuf>,
    /// Dropped with the last clone of the store, which stops the checkpoint thread.
    _checkpoints: Arc<std::sync::mpsc::Sender<()>>,
}

/// How often the checkpoint thread copies the WAL back into the database.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl SqliteStore {
    /// Opens (creating if needed) `relay.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Unavailable(format!("create {}: {e}", data_dir.display())))?;
        let path = data_dir.join("relay.sqlite3");
        let conn = Connection::open(&path).map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(unavailable)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        // The writer never checkpoints: an automatic checkpoint inside a commit stalls every
        // message waiting behind it. The checkpoint thread does it instead.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(unavailable)?;
        let (writes, rx) = mpsc::channel(8192);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| StoreError::Unavailable(format!("writer thread: {e}")))?;
        let checkpointer = Connection::open(&path).map_err(unavailable)?;
        checkpointer.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoints(&checkpointer, &stopped))
            .map_err(|e| StoreError::Unavailable(format!("checkpoint thread: {e}")))?;
        Ok(Self { writes, readers: Arc::default(), path: Arc::new(path), _checkpoints: Arc::new(stop) })
    }

    async fn write<T>(&self, make: impl FnOnce(Reply<T>) -> Write) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writes.send(make(tx)).await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?;
        rx.await.map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match pooled {
                Some(c) => c,
                None => open_reader(&path)?,
            };
            let result = f(&conn).map_err(unavailable);
            if let Ok(mut r) = readers.lock()
                && r.len() < MAX_READERS
            {
                r.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("reader task: {e}")))?
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(unavailable)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(unavailable)?;
    Ok(conn)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// Copies the WAL into the database now and then, beside the writer (a passive checkpoint
/// never blocks it), until the store is dropped.
fn checkpoints(conn: &Connection, stopped: &std::sync::mpsc::Receiver<()>) {
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// The writer thread: takes what has queued, applies it in one transaction, commits, replies.
fn writer(mut conn: Connection, mut rx: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        let mut done = Vec::with_capacity(batch.len());
        match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => {
                for write in batch.drain(..) {
                    done.push(apply(&tx, write));
                }
                if let Err(e) = tx.commit() {
                    tracing::error!(error = %e, "sqlite commit failed");
                    for d in &mut done {
                        d.fail(&e);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "sqlite begin failed");
                for write in batch.drain(..) {
                    let mut d = Done::from_write(write);
                    d.fail(&e);
                    done.push(d);
                }
            }
        }
        for d in done {
            d.send();
        }
    }
}

/// A write's outcome, held until the commit so nothing is acknowledged early.
enum Done {
    Append(Result<Appended, StoreError>, Reply<Appended>),
    /// A count: the read marker now stored, or help requests deleted.
    MarkRead(Result<u64, StoreError>, Reply<u64>),
    /// Whether a conditional write was stored (presence, a help request's change).
    Stored(Result<bool, StoreError>, Reply<bool>),
    Directory(Result<(), StoreError>, Reply<()>),
    Help(Result<HelpRequest, StoreError>, Reply<HelpRequest>),
    Call(Result<CallRecord, StoreError>, Reply<CallRecord>),
    Expire(Result<(u64, u64), StoreError>, Reply<(u64, u64)>),
}

impl Done {
    fn from_write(write: Write) -> Self {
        fn pending<T>() -> Result<T, StoreError> {
            Err(StoreError::Unavailable("not applied".into()))
        }
        match write {
            Write::Append(_, r) => Self::Append(pending(), r),
            Write::MarkRead { reply, .. } | Write::ExpireHelp { reply, .. } => Self::MarkRead(pending(), reply),
            Write::Presence(_, r) | Write::UpdateHelp(_, r) => Self::Stored(pending(), r),
            Write::AddHelp(_, r) => Self::Help(pending(), r),
            Write::Directory(_, r) | Write::RoutingProfiles(_, _, r) => Self::Directory(pending(), r),
            Write::Call { reply, .. } => Self::Call(pending(), reply),
            Write::Expire { reply, .. } => Self::Expire(pending(), reply),
        }
    }

    fn fail(&mut self, e: &rusqlite::Error) {
        let err = || StoreError::Unavailable(format!("commit: {e}"));
        match self {
            Self::Append(r, _) => *r = Err(err()),
            Self::MarkRead(r, _) => *r = Err(err()),
            Self::Stored(r, _) => *r = Err(err()),
            Self::Directory(r, _) => *r = Err(err()),
            Self::Help(r, _) => *r = Err(err()),
            Self::Call(r, _) => *r = Err(err()),
            Self::Expire(r, _) => *r = Err(err()),
        }
    }

    fn send(self) {
        // A caller that went away (its connection closed) no longer needs the answer.
        match self {
            Self::Append(r, tx) => drop(tx.send(r)),
            Self::MarkRead(r, tx) => drop(tx.send(r)),
            Self::Stored(r, tx) => drop(tx.send(r)),
            Self::Directory(r, tx) => drop(tx.send(r)),
            Self::Help(r, tx) => drop(tx.send(r)),
            Self::Call(r, tx) => drop(tx.send(r)),
            Self::Expire(r, tx) => drop(tx.send(r)),
        }
    }
}

fn apply(tx: &rusqlite::Transaction<'_>, write: Write) -> Done {
    match write {
        Write::Append(m, reply) => Done::Append(append(tx, m).map_err(unavailable), reply),
        Write::MarkRead { principal, peer, seq, reply } => {
            Done::MarkRead(mark_read(tx, &principal, &peer, seq).map_err(unavailable), reply)
        }
        Write::Presence(record, reply) => Done::Stored(put_presence(tx, &record), reply),
        Write::AddHelp(request, reply) => Done::Help(add_help(tx, *request), reply),
        Write::UpdateHelp(request, reply) => Done::Stored(update_help(tx, &request), reply),
        Write::Directory(users, reply) => Done::Directory(put_directory(tx, &users), reply),
        Write::RoutingProfiles(profiles, synced_at, reply) => {
            Done::Directory(put_routing_profiles(tx, &profiles, synced_at), reply)
        }
        Write::Call { principal, event, caller_id, reply } => {
            Done::Call(record_call(tx, &principal, &event, caller_id), reply)
        }
        Write::Expire { before, limit, reply } => Done::Expire(expire(tx, before, limit).map_err(unavailable), reply),
        Write::ExpireHelp { before, limit, reply } => {
            Done::MarkRead(expire_help(tx, before, limit).map_err(unavailable), reply)
        }
    }
}

/// Deletes the oldest messages and calls before `before`, at most `limit` of each, so that one
/// batch never holds the writer long.
fn expire(tx: &Connection, before: Millis, limit: u32) -> rusqlite::Result<(u64, u64)> {
    let messages = tx
        .prepare_cached(
            "DELETE FROM messages WHERE (a, b, seq) IN
             (SELECT a, b, seq FROM messages WHERE sent_at < ?1 ORDER BY sent_at LIMIT ?2)",
        )?
        .execute(params![before, limit])?;
    let calls = tx
        .prepare_cached(
            "DELETE FROM calls WHERE (principal, contact_id) IN
             (SELECT principal, contact_id FROM calls WHERE started_at < ?1 ORDER BY started_at LIMIT ?2)",
        )?
        .execute(params![before, limit])?;
    Ok((messages as u64, calls as u64))
}

/// Deletes the oldest ended help requests asked before `before`, at most `limit`.
fn expire_help(tx: &Connection, before: Millis, limit: u32) -> rusqlite::Result<u64> {
    let deleted = tx
        .prepare_cached(
            "DELETE FROM help WHERE id IN
             (SELECT id FROM help WHERE asked_at < ?1 AND rank >= 2 ORDER BY asked_at LIMIT ?2)",
        )?
        .execute(params![before, limit])?;
    Ok(deleted as u64)
}

fn append(tx: &Connection, m: NewMessage) -> rusqlite::Result<Appended> {
    let (a, b) = pair(&m.from, &m.to);
    let existing = tx
        .prepare_cached(
            "SELECT seq, text, sent_at FROM messages WHERE a = ?1 AND b = ?2 AND sender = ?3 AND client_id = ?4",
        )?
        .query_row(params![a, b, m.from, m.client_id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })
        .optional()?;
    if let Some((seq, text, sent_at)) = existing {
        let message = ChatMessage { seq: seq as u64, text, sent_at, ..to_message(&m, 0) };
        return Ok(Appended { message, duplicate: true });
    }
    let seq: i64 = tx
        .prepare_cached(
            "INSERT INTO conversations (a, b, last_seq) VALUES (?1, ?2, 1)
             ON CONFLICT (a, b) DO UPDATE SET last_seq = last_seq + 1 RETURNING last_seq",
        )?
        .query_row(params![a, b], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO messages (a, b, seq, sender, client_id, text, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![a, b, seq, m.from, m.client_id, m.text, m.sent_at])?;
    Ok(Appended { message: to_message(&m, seq as u64), duplicate: false })
}

fn to_message(m: &NewMessage, seq: u64) -> ChatMessage {
    ChatMessage {
        from: m.from.clone(),
        to: m.to.clone(),
        seq,
        client_id: m.client_id.clone(),
        text: m.text.clone(),
        sent_at: m.sent_at,
    }
}

fn mark_read(tx: &Connection, principal: &str, peer: &str, seq: u64) -> rusqlite::Result<u64> {
    let (a, b) = pair(principal, peer);
    let last: Option<i64> = tx
        .query_row("SELECT last_seq FROM conversations WHERE a = ?1 AND b = ?2", params![a, b], |r| r.get(0))
        .optional()?;
    let Some(last) = last else { return Ok(0) };
    let target = seq.min(last as u64) as i64;
    let stored: i64 = tx.query_row(
        "INSERT INTO read_markers (principal, peer, seq) VALUES (?1, ?2, ?3)
         ON CONFLICT (principal, peer) DO UPDATE SET seq = max(seq, excluded.seq) RETURNING seq",
        params![principal, peer, target],
        |r| r.get(0),
    )?;
    Ok(stored as u64)
}

fn put_presence(tx: &Connection, record: &PresenceRecord) -> Result<bool, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let changed = tx
        .execute(
            "INSERT INTO presence (principal, since, record) VALUES (?1, ?2, ?3)
             ON CONFLICT (principal) DO UPDATE SET since = excluded.since, record = excluded.record
             WHERE json_extract(excluded.record, '$.seen_at') >= json_extract(presence.record, '$.seen_at')",
            params![record.presence.principal, record.presence.since, json],
        )
        .map_err(unavailable)?;
    Ok(changed == 1)
}

/// Inserts the request to learn its id, then writes its record with that id.
fn add_help(tx: &Connection, new: NewHelp) -> Result<HelpRequest, StoreError> {
    let id: i64 = tx
        .prepare_cached("INSERT INTO help (rank, asked_at, record) VALUES (0, ?1, '') RETURNING id")
        .map_err(unavailable)?
        .query_row(params![new.asked_at], |r| r.get(0))
        .map_err(unavailable)?;
    let request = new.stored(id as u64);
    let json = serde_json::to_string(&request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.prepare_cached("UPDATE help SET record = ?1 WHERE id = ?2")
        .map_err(unavailable)?
        .execute(params![json, id])
        .map_err(unavailable)?;
    Ok(request)
}

fn update_help(tx: &Connection, request: &HelpRequest) -> Result<bool, StoreError> {
    let json = serde_json::to_string(request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let changed = tx
        .prepare_cached("UPDATE help SET rank = ?1, record = ?2 WHERE id = ?3 AND rank < ?1")
        .map_err(unavailable)?
        .execute(params![help_rank(request.status), json, request.id as i64])
        .map_err(unavailable)?;
    Ok(changed == 1)
}

fn help_records(rows: &[String]) -> Result<Vec<HelpRequest>, StoreError> {
    rows.iter()
        .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("help request: {e}"))))
        .collect()
}

fn put_directory(tx: &Connection, users: &[DirectoryUser]) -> Result<(), StoreError> {
    tx.execute("DELETE FROM directory", []).map_err(unavailable)?;
    let mut insert =
        tx.prepare_cached("INSERT OR REPLACE INTO directory (id, record) VALUES (?1, ?2)").map_err(unavailable)?;
    for user in users {
        let json = serde_json::to_string(user).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        insert.execute(params![user.id, json]).map_err(unavailable)?;
    }
    Ok(())
}

fn put_routing_profiles(
    tx: &Connection,
    profiles: &[RoutingProfile],
    synced_at: Option<Millis>,
) -> Result<(), StoreError> {
    tx.execute("DELETE FROM routing_profiles", []).map_err(unavailable)?;
    let mut insert = tx
        .prepare_cached("INSERT OR REPLACE INTO routing_profiles (id, record) VALUES (?1, ?2)")
        .map_err(unavailable)?;
    for profile in profiles {
        let json = serde_json::to_string(profile).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        insert.execute(params![profile.id, json]).map_err(unavailable)?;
    }
    tx.execute(
        "INSERT INTO sync_state (key, value) VALUES ('synced_at', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![synced_at],
    )
    .map_err(unavailable)?;
    Ok(())
}

fn record_call(
    tx: &Connection,
    principal: &str,
    event: &CallEvent,
    caller_id: Option<String>,
) -> Result<CallRecord, StoreError> {
    let stored = tx
        .prepare_cached("SELECT record, connected_at FROM calls WHERE principal = ?1 AND contact_id = ?2")
        .map_err(unavailable)?
        .query_row(params![principal, event.contact_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)))
        .optional()
        .map_err(unavailable)?
        .map(|(json, connected_at)| {
            serde_json::from_str(&json)
                .map(|record| StoredCall { record, connected_at })
                .map_err(|e| StoreError::Corrupt(format!("call: {e}")))
        })
        .transpose()?;
    let call = calls::advance(stored, event, caller_id);
    let json = serde_json::to_string(&call.record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO calls (principal, contact_id, started_at, connected_at, record) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (principal, contact_id) DO UPDATE SET started_at = excluded.started_at,
             connected_at = excluded.connected_at, record = excluded.record",
    )
    .map_err(unavailable)?
    .execute(params![principal, event.contact_id, call.record.started_at, call.connected_at, json])
    .map_err(unavailable)?;
    Ok(call.record)
}

fn row_message(a: &str, b: &str, r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    let from: String = r.get(1)?;
    let to = if from == a { b.to_owned() } else { a.to_owned() };
    Ok(ChatMessage {
        seq: r.get::<_, i64>(0)? as u64,
        from,
        to,
        client_id: r.get(2)?,
        text: r.get(3)?,
        sent_at: r.get(4)?,
    })
}

fn query_messages(
    conn: &Connection,
    a: &str,
    b: &str,
    sql: &str,
    bound: i64,
    limit: u32,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![a, b, bound, limit], |r| row_message(a, b, r))?;
    rows.collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn append_message(&self, message: NewMessage) -> Result<Appended, StoreError> {
        self.write(|reply| Write::Append(message, reply)).await
    }

    async fn messages_after(&self, a: &str, b: &str, after: u64, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let (a, b) = pair(a, b);
        let (a, b) = (a.to_owned(), b.to_owned());
        self.read(move |c| {
            query_messages(
                c,
                &a,
                &b,
                "SELECT seq, sender, client_id, text, sent_at FROM messages
                 WHERE a = ?1 AND b = ?2 AND seq > ?3 ORDER BY seq ASC LIMIT ?4",
                after as i64,
                limit,
            )
        })
        .await
    }

    async fn history(&self, a: &str, b: &str, before: Option<u64>, limit: u32) -> Result<Vec<ChatMessage>, StoreError> {
        let (a, b) = pair(a, b);
        let (a, b) = (a.to_owned(), b.to_owned());
        let before = before.map_or(i64::MAX, |s| s as i64);
        self.read(move |c| {
            query_messages(
                c,
                &a,
                &b,
                "SELECT seq, sender, client_id, text, sent_at FROM messages
                 WHERE a = ?1 AND b = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4",
                before,
                limit,
            )
        })
        .await
    }

    async fn conversations(&self, principal: &str) -> Result<Vec<ConversationSummary>, StoreError> {
        let me = principal.to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT a, b, last_seq FROM conversations WHERE a = ?1
                 UNION ALL SELECT a, b, last_seq FROM conversations WHERE b = ?1 AND a != ?1",
            )?;
            let rows: Vec<(String, String, i64)> =
                stmt.query_map([&me], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (a, b, last_seq) in rows {
                let peer = if a == me { b.clone() } else { a.clone() };
                let read_seq: i64 = c
                    .prepare_cached("SELECT seq FROM read_markers WHERE principal = ?1 AND peer = ?2")?
                    .query_row(params![me, peer], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0);
                let unread: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM messages WHERE a = ?1 AND b = ?2 AND seq > ?3 AND sender != ?4",
                    )?
                    .query_row(params![a, b, read_seq, me], |r| r.get(0))?;
                let last = query_messages(
                    c,
                    &a,
                    &b,
                    "SELECT seq, sender, client_id, text, sent_at FROM messages
                     WHERE a = ?1 AND b = ?2 AND seq <= ?3 ORDER BY seq DESC LIMIT ?4",
                    last_seq,
                    1,
                )?
                .pop();
                out.push(ConversationSummary {
                    peer,
                    last_seq: last_seq as u64,
                    read_seq: read_seq as u64,
                    unread: unread as u64,
                    last,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn mark_read(&self, principal: &str, peer: &str, seq: u64) -> Result<u64, StoreError> {
        let (principal, peer) = (principal.to_owned(), peer.to_owned());
        self.write(|reply| Write::MarkRead { principal, peer, seq, reply }).await
    }

    async fn put_presence(&self, record: &PresenceRecord) -> Result<bool, StoreError> {
        let record = Box::new(record.clone());
        self.write(|reply| Write::Presence(record, reply)).await
    }

    async fn load_presence(&self) -> Result<Vec<PresenceRecord>, StoreError> {
        let rows: Vec<String> =
            self.read(|c| c.prepare("SELECT record FROM presence")?.query_map([], |r| r.get(0))?.collect()).await?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("presence: {e}"))))
            .collect()
    }

    async fn put_directory(&self, users: &[DirectoryUser]) -> Result<(), StoreError> {
        let users = users.to_vec();
        self.write(|reply| Write::Directory(users, reply)).await
    }

    async fn directory(&self) -> Result<Vec<DirectoryUser>, StoreError> {
        let rows: Vec<String> = self
            .read(|c| c.prepare("SELECT record FROM directory ORDER BY id")?.query_map([], |r| r.get(0))?.collect())
            .await?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("directory: {e}"))))
            .collect()
    }

    async fn put_routing_profiles(
        &self,
        profiles: &[RoutingProfile],
        synced_at: Option<Millis>,
    ) -> Result<(), StoreError> {
        let profiles = profiles.to_vec();
        self.write(|reply| Write::RoutingProfiles(profiles, synced_at, reply)).await
    }

    async fn routing_profiles(&self) -> Result<(Vec<RoutingProfile>, Option<Millis>), StoreError> {
        let (rows, synced_at): (Vec<String>, Option<i64>) = self
            .read(|c| {
                let rows = c
                    .prepare("SELECT record FROM routing_profiles ORDER BY id")?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let synced_at = c
                    .query_row("SELECT value FROM sync_state WHERE key = 'synced_at'", [], |r| r.get(0))
                    .optional()?
                    .flatten();
                Ok((rows, synced_at))
            })
            .await?;
        let profiles = rows
            .iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("routing profile: {e}"))))
            .collect::<Result<_, _>>()?;
        Ok((profiles, synced_at))
    }

    async fn record_call(
        &self,
        principal: &str,
        event: &CallEvent,
        caller_id: Option<String>,
    ) -> Result<CallRecord, StoreError> {
        let (principal, event) = (principal.to_owned(), Box::new(event.clone()));
        self.write(|reply| Write::Call { principal, event, caller_id, reply }).await
    }

    async fn expire(&self, before: Millis, limit: u32) -> Result<(u64, u64), StoreError> {
        self.write(|reply| Write::Expire { before, limit, reply }).await
    }

    async fn calls(&self, principal: &str, before: Option<Millis>, limit: u32) -> Result<Vec<CallRecord>, StoreError> {
        let principal = principal.to_owned();
        let before = before.unwrap_or(i64::MAX);
        let rows: Vec<String> = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT record FROM calls WHERE principal = ?1 AND started_at < ?2
                     ORDER BY started_at DESC LIMIT ?3",
                )?
                .query_map(params![principal, before, limit], |r| r.get(0))?
                .collect()
            })
            .await?;
        rows.iter()
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("call: {e}"))))
            .collect()
    }

    async fn add_help(&self, request: NewHelp) -> Result<HelpRequest, StoreError> {
        let request = Box::new(request);
        self.write(|reply| Write::AddHelp(request, reply)).await
    }

    async fn update_help(&self, request: &HelpRequest) -> Result<bool, StoreError> {
        let request = Box::new(request.clone());
        self.write(|reply| Write::UpdateHelp(request, reply)).await
    }

    async fn help(&self, id: u64) -> Result<Option<HelpRequest>, StoreError> {
        let id = i64::try_from(id).unwrap_or(i64::MAX);
        let rows: Vec<String> = self
            .read(move |c| {
                c.prepare_cached("SELECT record FROM help WHERE id = ?1")?.query_map([id], |r| r.get(0))?.collect()
            })
            .await?;
        Ok(help_records(&rows)?.pop())
    }

    async fn live_help(&self) -> Result<Vec<HelpRequest>, StoreError> {
        let rows: Vec<String> = self
            .read(|c| {
                c.prepare_cached("SELECT record FROM help WHERE rank < 2 ORDER BY id")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .await?;
        help_records(&rows)
    }

    async fn help_asked_since(&self, since: Millis) -> Result<Vec<HelpRequest>, StoreError> {
        let rows: Vec<String> = self
            .read(move |c| {
                c.prepare_cached("SELECT record FROM help WHERE asked_at >= ?1 ORDER BY id")?
                    .query_map([since], |r| r.get(0))?
                    .collect()
            })
            .await?;
        help_records(&rows)
    }

    async fn expire_help(&self, before: Millis, limit: u32) -> Result<u64, StoreError> {
        self.write(|reply| Write::ExpireHelp { before, limit, reply }).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(()))).await
    }
}
