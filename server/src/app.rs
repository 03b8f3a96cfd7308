//! The relay as a whole: shared state, the HTTP routes, start-up and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use protocol::{CloseCode, Limits};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::auth::dev_issuer::{DEV_AUDIENCE, DEV_PATH};
use crate::auth::{ClaimNames, DevIssuer, Issuer, KeySource, Verifier};
use crate::callerids::CallerIdDirectory;
use crate::config::Config;
use crate::directory::Directory;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::network::{self, Networks, Peer};
use crate::presence::PresenceHub;
use crate::quota::Quota;
use crate::store::Store;
use crate::tickets::Tickets;
use crate::{clock, session};

/// Everything a connection handler needs.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    pub hub: Hub,
    pub presence: PresenceHub,
    pub directory: Directory,
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
    shutdown: watch::Sender<bool>,
}

impl App {
    /// Resolves when the relay starts shutting down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn shutting_down(&self) -> bool {
        *self.shutdown.borrow()
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
    #[error("--connect-instance-id needs a relay built with the `connect` feature (cargo build --features connect)")]
    NoConnectSync,
}

/// Runs the relay on `listener` until `shutdown` resolves, then tells every client to
/// reconnect and waits (up to the configured grace) for them to go.
pub async fn run(
    listener: TcpListener,
    config: Config,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let app = build(&listener, config, store).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, dev_issuer = app.dev.is_some(), "relay listening");

    let sweeper = tokio::spawn(sweep(app.clone()));
    let keys = tokio::spawn(refresh_keys(app.clone()));
    let expiry = (app.config.retention_days > 0).then(|| tokio::spawn(expire(app.clone())));
    let sync: Option<tokio::task::JoinHandle<()>> = match app.config.connect_instance_id.clone() {
        None => None,
        #[cfg(feature = "connect")]
        Some(instance_id) => {
            let connect = crate::sync::connect(&app, &instance_id).await;
            Some(tokio::spawn(crate::sync::run(app.clone(), connect)))
        }
        #[cfg(not(feature = "connect"))]
        Some(_) => return Err(StartError::NoConnectSync),
    };
    let workers = tokio::runtime::Handle::current().metrics().num_workers().max(1);
    let mut lanes = Vec::with_capacity(workers);
    let mut lane_tasks = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        lanes.push(tx);
        lane_tasks.push(tokio::spawn(crate::presence::lane(rx, AppMetrics(app.clone()))));
    }
    app.presence.set_lanes(lanes);
    serve(listener, router(app.clone()), shutdown).await;
    tracing::info!("shutting down: asking clients to reconnect");
    app.shutdown.send_replace(true);
    app.hub.close_all(CloseCode::Restarting);
    let deadline = Instant::now() + Duration::from_millis(app.config.shutdown_grace_ms);
    while app.metrics.connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
    keys.abort();
    if let Some(expiry) = expiry {
        expiry.abort();
    }
    if let Some(sync) = sync {
        sync.abort();
    }
    for task in lane_tasks {
        task.abort();
    }
    tracing::info!("relay stopped");
    Ok(())
}

async fn build(listener: &TcpListener, config: Config, store: Arc<dyn Store>) -> Result<Arc<App>, StartError> {
    let addr = listener.local_addr()?;
    let dev = config.dev_issuer.then(|| Arc::new(DevIssuer::new(format!("http://{addr}{DEV_PATH}"))));
    let ttl = Duration::from_secs(config.jwks_ttl_s);
    let mut issuers = Vec::new();
    if let Some(url) = &config.oidc_issuer {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        issuers.push(Issuer::new(url.clone(), config.oidc_audience.clone(), KeySource::Remote(http), ttl));
    }
    if let Some(dev) = &dev {
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
    let verifier = Verifier::new(
        issuers,
        ClaimNames {
            identity: config.identity_claim.clone(),
            name: config.name_claim.clone(),
            groups: config.group_claim.clone(),
            supervisor_group: config.supervisor_group.clone(),
        },
    );

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
    presence.load(store.load_presence().await?, &seeds, clock::now_ms());

    let limits = Limits {
        max_frame_bytes: config.max_frame_bytes,
        max_text_chars: config.max_text_chars,
        max_text_bytes: Some(config.max_text_chars),
        frames_per_second: config.frames_per_second,
        max_page: config.max_page,
        heartbeat_ms: u32::try_from(config.idle_timeout_ms / 3).unwrap_or(u32::MAX),
    };
    let hub = Hub::new(config.max_connections_per_principal as usize);
    let quota = Quota::new(config.principal_requests_per_second, config.principal_requests_per_second * 2);
    let connects = Quota::new(config.principal_connects_per_second, config.principal_connects_per_second * 10);
    let tickets = Tickets::new(config.ws_ticket_ttl_ms);
    Ok(Arc::new(App {
        config,
        store,
        verifier,
        hub,
        presence,
        directory,
        caller_ids,
        networks,
        metrics,
        limits,
        quota,
        connects,
        tickets,
        dev,
        shutdown: watch::Sender::new(false),
    }))
}

/// The metrics of a running relay, for tasks that hold the app.
struct AppMetrics(Arc<App>);

impl AsRef<Metrics> for AppMetrics {
    fn as_ref(&self) -> &Metrics {
        &self.0.metrics
    }
}

/// The relay's routes.
pub fn router(app: Arc<App>) -> Router {
    let mut clients = Router::new().route("/ws", get(websocket)).merge(crate::rest::router(app.clone()));
    if let Some(dev) = &app.dev {
        clients = clients.nest_service(DEV_PATH, dev.clone().router());
    }
    let clients = clients.layer(middleware::from_fn_with_state(app.clone(), allowed_network));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(clients)
        .with_state(app)
}

/// Refuses clients outside `--allowed-networks` with 403 before anything else happens.
async fn allowed_network(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<Peer>().map(|p| p.0.ip());
    let forwarded = request.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let allowed = peer.is_none_or(|peer| app.networks.allows(app.networks.client(peer, forwarded)));
    if allowed {
        return next.run(request).await;
    }
    app.metrics.network_refusals.fetch_add(1, Ordering::Relaxed);
    app.metrics.error(protocol::ErrorCode::Forbidden);
    let body =
        protocol::ErrorBody::new(protocol::ErrorCode::Forbidden, "your network is not allowed to use this relay");
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// Accepts connections until `shutdown`, each served as HTTP/1.1 with upgrades; then tells
/// open HTTP connections to finish their request and close (WebSockets are closed separately).
async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: log, breathe, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small frames must leave at once: Nagle's algorithm would hold a push back until the
        // previous one is acknowledged.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let service = hyper_util::service::TowerToHyperService::new(router.clone().map_request(
            move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(Peer(peer));
                request
            },
        ));
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .with_upgrades();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopped.changed() => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "http connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
}

/// `GET /ws`: checks the WebSocket handshake and the Origin, answers 101, and hands the raw
/// TCP stream to [`session::serve`] (the relay does its own framing; see `ws`).
async fn websocket(State(app): State<Arc<App>>, mut request: Request) -> Response {
    let headers = request.headers();
    let has = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    let bad = |status: StatusCode, message: &str| {
        (status, axum::Json(protocol::ErrorBody::new(protocol::ErrorCode::Invalid, message))).into_response()
    };
    if !has(header::CONNECTION, "upgrade") || !has(header::UPGRADE, "websocket") {
        return bad(StatusCode::BAD_REQUEST, "this endpoint speaks WebSocket only");
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
        return (StatusCode::UPGRADE_REQUIRED, [(header::SEC_WEBSOCKET_VERSION, "13")]).into_response();
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return bad(StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing");
    };
    let accept = crate::ws::accept_key(key.as_bytes());
    let origin_ok = match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => app.config.allowed_origins.iter().any(|allowed| origin.as_bytes() == allowed.as_bytes()),
    };
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let upgraded = match upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "upgrade failed");
                return;
            }
        };
        match upgraded.downcast::<hyper_util::rt::TokioIo<tokio::net::TcpStream>>() {
            Ok(parts) => session::serve(app, parts.io.into_inner(), parts.read_buf, origin_ok).await,
            Err(_) => tracing::error!("upgraded connection is not a TCP stream"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match app.store.ping().await {
        Ok(()) => match app.caller_ids.synced_at() {
            // Ready either way: a stale directory is still served. The age tells operators.
            Some(at) => format!("ready\ndirectory_age_s {}\n", (clock::now_ms() - at).max(0) / 1000).into_response(),
            None => "ready\n".into_response(),
        },
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()).into_response()
}

/// Turns agents Offline once their grace period has passed, and stores that.
async fn sweep(app: Arc<App>) {
    let period = Duration::from_millis((app.config.presence_grace_ms / 4).clamp(50, 1000));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for record in app.presence.sweep(clock::now_ms(), &app.metrics) {
            if let Err(e) = app.store.put_presence(&record).await {
                tracing::warn!(error = %e, "could not store presence");
            }
        }
    }
}

/// Fetches the issuers' keys again as they age, so that a key retired at the provider stops
/// being trusted without waiting for a token that names an unknown key.
async fn refresh_keys(app: Arc<App>) {
    let period = Duration::from_secs(app.config.jwks_ttl_s.max(2) / 2);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        app.verifier.refresh_keys(&app.metrics).await;
    }
}

/// Deletes chat messages and calls older than `--retention-days`, at start and every hour, in
/// small batches so that the writer is never held long.
async fn expire(app: Arc<App>) {
    const BATCH: u32 = 2000;
    let keep_ms = i64::from(app.config.retention_days) * 86_400_000;
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let before = clock::now_ms() - keep_ms;
        let (mut messages, mut calls) = (0, 0);
        loop {
            match app.store.expire(before, BATCH).await {
                Ok((m, c)) => {
                    (messages, calls) = (messages + m, calls + c);
                    if m < u64::from(BATCH) && c < u64::from(BATCH) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not delete expired messages; trying again in an hour");
                    break;
                }
            }
        }
        app.metrics.expired_messages.fetch_add(messages, Ordering::Relaxed);
        app.metrics.expired_calls.fetch_add(calls, Ordering::Relaxed);
        if messages + calls > 0 {
            tracing::info!(messages, calls, "deleted what is past the retention period");
        }
    }
}
