//! The relay's shared state, [`App`], and how it is built at start (issuers, directory import,
//! presence seeding, the live help requests). Below everything that serves: handlers, jobs and
//! the accept loop reach the relay through it, and it imports none of them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use protocol::Limits;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

use crate::actions::ConnectActions;
use crate::auth::dev_issuer::{DEV_AUDIENCE, DEV_PATH};
use crate::auth::{ClaimNames, DevIssuer, Issuer, KeySource, Verifier};
use crate::bus::Bus;
use crate::callerids::CallerIdDirectory;
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::Directory;
use crate::help::HelpDesk;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::network::{self, Networks};
use crate::presence::PresenceHub;
use crate::quota::Quota;
use crate::store::{PresenceRecord, Store};
use crate::tickets::Tickets;

/// Everything a connection handler needs.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    pub hub: Hub,
    pub presence: PresenceHub,
    /// The live help requests; changes are made one at a time under this lock, store included.
    pub help: tokio::sync::Mutex<HelpDesk>,
    pub directory: Directory,
    /// The cluster's bus (`--redis-url`); none for a single node.
    pub bus: Option<Arc<Bus>>,
    pub caller_ids: CallerIdDirectory,
    pub networks: Networks,
    pub metrics: Metrics,
    pub limits: Limits,
    /// Requests per principal, over every connection and REST call.
    pub quota: Quota,
    /// New connections per principal.
    pub connects: Quota,
    pub tickets: Tickets,
    pub dev: Option<Arc<DevIssuer>>,
    /// What expires goes by this clock (see `clock`).
    pub clock: Clock,
    /// Connect's supervisor actions, once the Connect client is built (`--connect-instance-id`).
    pub actions: std::sync::OnceLock<Arc<dyn ConnectActions>>,
    /// Every connection's task (HTTP and WebSocket), waited for at shutdown.
    pub connections: TaskTracker,
    /// Cancelled when the relay starts shutting down.
    shutdown: CancellationToken,
}

impl App {
    /// Starts the shutdown: connections are told to close, `/readyz` answers 503.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }

    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Resolves when the relay starts shutting down.
    pub fn stopping(&self) -> WaitForCancellationFuture<'_> {
        self.shutdown.cancelled()
    }

    /// A token cancelled when the relay starts shutting down, for tasks that do not hold the app.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Whether this node runs a job that one node of a cluster runs at a time: a single node
    /// always does; in a cluster, the node holding the job's lease.
    pub fn runs_here(&self, lease: crate::bus::Lease) -> bool {
        self.bus.as_ref().is_none_or(|bus| bus.holds(lease))
    }

    /// Waits until this node runs the job (at once for a single node).
    pub async fn wait_to_run(&self, lease: crate::bus::Lease) {
        while !self.runs_here(lease) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Stores a presence change in the background (the presence hub has already shown it).
    pub fn store_presence(&self, record: PresenceRecord) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.put_presence(&record).await {
                tracing::warn!(error = %e, "could not store presence");
            }
        });
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("listener: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Directory(#[from] crate::directory::DirectoryError),
    #[error("http client: {0}")]
    Http(String),
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    #[error("--connect-instance-id needs a relay built with the `connect` feature (cargo build --features connect)")]
    NoConnectSync,
}

/// The relay's state for a listener on `addr`: token issuers, the directory file imported
/// into the store, caller IDs and rosters read back, presence seeded from the store.
pub async fn build(
    addr: SocketAddr,
    config: Config,
    store: Arc<dyn Store>,
    clock: Clock,
) -> Result<Arc<App>, StartError> {
    let dev = config.dev_issuer.then(|| {
        let issuer = DevIssuer::new(format!("http://{addr}{DEV_PATH}"));
        Arc::new(issuer.with_supervisors(&config.dev_supervisors, &config.supervisor_group))
    });
    let verifier = verifier(&config, dev.as_ref())?;
    if let Some(path) = &config.directory_file {
        let file = Directory::read_file(path)?;
        tracing::info!(users = file.users.len(), profiles = file.routing_profiles.len(), file = %path.display(), "importing directory");
        store.put_directory(&file.users).await?;
        store.put_routing_profiles(&file.routing_profiles, None).await?;
    }
    let networks = Networks::new(
        network::parse(&config.allowed_networks).unwrap_or_default(),
        network::parse(&config.trusted_proxies).unwrap_or_default(),
    );
    let (profiles, synced_at) = store.routing_profiles().await?;
    let caller_ids = CallerIdDirectory::new(profiles, synced_at);
    let metrics = Metrics::default();
    // The age of the directory served, which may come from another node's or an earlier sync.
    metrics.directory_synced_at_ms.store(synced_at.unwrap_or(0), Ordering::Relaxed);
    let directory = Directory::new(config.roster_by, store.directory().await?);
    let presence = PresenceHub::new(config.presence_grace_ms);
    let seeds: Vec<(String, String, String)> = directory
        .users()
        .into_iter()
        .map(|u| {
            let roster = directory.roster_of(&u.id);
            (u.id, u.display_name, roster)
        })
        .collect();
    presence.load(store.load_presence().await?, &seeds, clock.now_ms());
    // Open and taken help requests outlive a restart: a supervisor connecting later sees them.
    let help = tokio::sync::Mutex::new(HelpDesk::new(store.live_help().await?));

    let limits = Limits {
        max_frame_bytes: config.max_frame_bytes,
        max_text_chars: config.max_text_chars,
        max_text_bytes: Some(config.max_text_chars),
        frames_per_second: config.frames_per_second,
        max_page: config.max_page,
        heartbeat_ms: u32::try_from(config.idle_timeout_ms / 3).unwrap_or(u32::MAX),
    };
    let hub = Hub::new(config.max_connections_per_principal as usize);
    let bus = match &config.redis_url {
        Some(url) => {
            let lease = Duration::from_millis(config.node_lease_ms);
            Some(Arc::new(Bus::new(url, config.redis_ca_file.as_deref(), &config.redis_key_prefix, lease)?))
        }
        None => None,
    };
    let quota = Quota::new(config.principal_requests_per_second, config.principal_requests_per_second * 2);
    let connects = Quota::new(config.principal_connects_per_second, config.principal_connects_per_second * 10);
    let tickets = Tickets::new(config.ws_ticket_ttl_ms);
    Ok(Arc::new(App {
        config,
        store,
        verifier,
        hub,
        presence,
        help,
        directory,
        bus,
        caller_ids,
        networks,
        metrics,
        limits,
        quota,
        connects,
        tickets,
        dev,
        clock,
        actions: std::sync::OnceLock::new(),
        connections: TaskTracker::new(),
        shutdown: CancellationToken::new(),
    }))
}

/// The token verifier for the configured issuer and, in the demo, the dev issuer.
fn verifier(config: &Config, dev: Option<&Arc<DevIssuer>>) -> Result<Verifier, StartError> {
    let ttl = Duration::from_secs(config.jwks_ttl_s);
    let mut issuers = Vec::new();
    if let Some(url) = &config.oidc_issuer {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        issuers.push(Issuer::new(url.clone(), config.oidc_audience.clone(), KeySource::Remote(http), ttl));
    }
    if let Some(dev) = dev {
        issuers.push(Issuer::new(
            dev.issuer().to_owned(),
            vec![DEV_AUDIENCE.to_owned()],
            KeySource::Local(dev.clone()),
            ttl,
        ));
    }
    if issuers.is_empty() {
        tracing::warn!("no token issuer configured: every connection will be refused (see --oidc-issuer)");
    }
    Ok(Verifier::new(
        issuers,
        ClaimNames {
            identity: config.identity_claim.clone(),
            name: config.name_claim.clone(),
            groups: config.group_claim.clone(),
            supervisor_group: config.supervisor_group.clone(),
        },
    ))
}
