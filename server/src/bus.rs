//! The cluster's message bus (`--redis-url`): what this node tells the other nodes, and what it
//! asks Redis. Handlers hand events to [`Bus::publish`], which never waits: one task (the
//! cluster link, `cluster.rs`) publishes them in order and applies what the other nodes publish.
//!
//! Redis holds only what lives as long as a node: each node's lease, its connections' CCP
//! reports, its supervisors' subscriptions and the job leases. Losing Redis loses no message:
//! messages and help requests are in the store.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use protocol::cluster::{NodeEvent, NodeId, Watching};
use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// What the link does for a handler.
#[derive(Debug)]
pub enum Out {
    /// Publish to the other nodes (a report or clear also updates this node's reports hash).
    Event(NodeEvent),
    /// A supervisor subscription changed: write this node's `watch` hash again.
    Watch,
}

/// A job only one node of the cluster runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// The Connect directory sync (Connect's quota is per instance, not per node).
    Sync,
    /// Deleting what is past the retention period.
    Retention,
}

impl Lease {
    pub const ALL: [Self; 2] = [Self::Sync, Self::Retention];

    fn name(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Retention => "retention",
        }
    }
}

/// The Redis keys of a cluster, all under one prefix (several clusters may share a Redis).
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// The channel every event goes to.
    pub fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// The set of nodes that have joined (each stays until another finds its lease gone).
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// A node's lease: present while the node is alive.
    pub fn node(&self, node: NodeId) -> String {
        format!("{}:node:{node}", self.prefix)
    }

    /// A node's CCP reports, `principal \u{1f} conn` → a `report` event.
    pub fn reports(&self, node: NodeId) -> String {
        format!("{}:reports:{node}", self.prefix)
    }

    /// A node's supervisors, principal → [`Watching`].
    pub fn watch(&self, node: NodeId) -> String {
        format!("{}:watch:{node}", self.prefix)
    }

    pub fn lease(&self, lease: Lease) -> String {
        format!("{}:lease:{}", self.prefix, lease.name())
    }

    /// The field of one connection's report in a reports hash.
    pub fn report_field(principal: &str, conn: u64) -> String {
        format!("{principal}\u{1f}{conn}")
    }
}

/// This node's side of the bus, shared by the handlers and the link.
pub struct Bus {
    pub node: NodeId,
    pub client: redis::Client,
    pub keys: Keys,
    /// How long a node's lease lasts without a heartbeat.
    pub lease: Duration,
    out: UnboundedSender<Out>,
    receiver: Mutex<Option<UnboundedReceiver<Out>>>,
    /// A connection for queries, while Redis answers.
    conn: Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    /// Until when this node holds each job lease.
    held: [Mutex<Option<std::time::Instant>>; 2],
    /// Nodes alive at the last heartbeat, this one included.
    nodes: AtomicU64,
}

/// Why the bus could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("--redis-url: {0}")]
    Url(#[from] redis::RedisError),
    #[error("--redis-ca-file {0}: {1}")]
    CaFile(String, std::io::Error),
}

impl Bus {
    /// The bus of a node joining the cluster at `url` (`rediss://` for TLS, trusting `ca` or
    /// else the system's roots). Nothing is connected yet: the link does that, and retries for
    /// as long as Redis does not answer.
    pub fn new(url: &str, ca: Option<&std::path::Path>, prefix: &str, lease: Duration) -> Result<Self, BusError> {
        // TLS through rustls with ring, chosen here: a build that also has the AWS SDK links a
        // second provider, and rustls would not pick one by itself.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match ca {
            None => redis::Client::open(url)?,
            Some(path) => {
                let root = std::fs::read(path).map_err(|e| BusError::CaFile(path.display().to_string(), e))?;
                let certificates = redis::TlsCertificates { client_tls: None, root_cert: Some(root) };
                redis::Client::build_with_tls(url, certificates)?
            }
        };
        let (out, receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut bytes = [0u8; 8];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        // Below 2^53, so that the id survives JSON readers that use doubles.
        let node = (u64::from_le_bytes(bytes) >> 11).max(1);
        Ok(Self {
            node,
            client,
            keys: Keys::new(prefix),
            lease,
            out,
            receiver: Mutex::new(Some(receiver)),
            conn: Mutex::new(None),
            up: AtomicBool::new(false),
            held: [Mutex::new(None), Mutex::new(None)],
            nodes: AtomicU64::new(1),
        })
    }

    /// Hands an event to the link. Never waits; while Redis is away the link keeps deliveries
    /// (bounded) and sends this node's reports again when it is back.
    pub fn publish(&self, event: NodeEvent) {
        let _ = self.out.send(Out::Event(event));
    }

    /// A supervisor subscription on this node changed.
    pub fn watch_changed(&self) {
        let _ = self.out.send(Out::Watch);
    }

    /// The queue the link reads (once).
    pub fn take_receiver(&self) -> Option<UnboundedReceiver<Out>> {
        self.receiver.lock().ok()?.take()
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Relaxed)
    }

    /// Sets whether Redis answers; returns the previous value.
    pub fn set_up(&self, up: bool, conn: Option<MultiplexedConnection>) -> bool {
        if let Ok(mut slot) = self.conn.lock() {
            *slot = conn;
        }
        if !up {
            for held in &self.held {
                if let Ok(mut held) = held.lock() {
                    *held = None;
                }
            }
        }
        self.up.swap(up, Relaxed)
    }

    /// Whether this node holds `lease` now. A node that cannot reach Redis holds none, nor one
    /// whose renewal is late.
    pub fn holds(&self, lease: Lease) -> bool {
        self.held[lease as usize].lock().is_ok_and(|h| h.is_some_and(|until| std::time::Instant::now() < until))
    }

    /// This node holds `lease` until `until` (`None`: not at all).
    pub fn set_held(&self, lease: Lease, until: Option<std::time::Instant>) {
        if let Ok(mut held) = self.held[lease as usize].lock() {
            *held = until;
        }
    }

    pub fn nodes(&self) -> u64 {
        self.nodes.load(Relaxed)
    }

    pub fn set_nodes(&self, nodes: u64) {
        self.nodes.store(nodes, Relaxed);
    }

    fn connection(&self) -> Option<MultiplexedConnection> {
        self.conn.lock().ok()?.clone()
    }

    /// The supervisors on the other nodes whose subscriptions cover `roster` (empty while Redis
    /// does not answer: then only this node's are counted).
    pub async fn watchers_elsewhere(&self, roster: &str) -> Vec<String> {
        let Some(mut conn) = self.connection() else { return Vec::new() };
        let mut found = Vec::new();
        let nodes: Vec<NodeId> = conn.smembers(self.keys.nodes()).await.unwrap_or_default();
        for node in nodes.into_iter().filter(|n| *n != self.node) {
            let watch: Vec<(String, String)> = conn.hgetall(self.keys.watch(node)).await.unwrap_or_default();
            for (principal, watching) in watch {
                if serde_json::from_str::<Watching>(&watching).is_ok_and(|w| w.covers(roster)) {
                    found.push(principal);
                }
            }
        }
        found
    }
}
