//! The relay as a whole: shared state, the HTTP routes, start-up and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use protocol::{CloseCode, Limits};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::dev_issuer::{DEV_AUDIENCE, DEV_PATH};
use crate::auth::{ClaimNames, DevIssuer, Issuer, KeySource, Verifier};
use crate::config::Config;
use crate::directory::Directory;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::presence::PresenceHub;
use crate::store::Store;
use crate::{clock, session};

/// Everything a connection handler needs.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub verifier: Verifier,
    pub hub: Hub,
    pub presence: PresenceHub,
    pub directory: Directory,
    pub metrics: Metrics,
    pub limits: Limits,
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
    let router = router(app.clone());
    let stopping = app.clone();
    // Small frames must leave at once: Nagle's algorithm would hold a presence change back
    // until the previous one is acknowledged.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: asking clients to reconnect");
            stopping.shutdown.send_replace(true);
            stopping.hub.close_all(CloseCode::Restarting);
        })
        .await?;
    let deadline = Instant::now() + Duration::from_millis(app.config.shutdown_grace_ms);
    while app.metrics.connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sweeper.abort();
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
        let users = Directory::read_file(path)?;
        tracing::info!(users = users.len(), file = %path.display(), "importing directory");
        store.put_directory(&users).await?;
    }
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
    presence.load(store.load_presence().await?, &seeds);

    let limits = Limits {
        max_frame_bytes: config.max_frame_bytes,
        max_text_bytes: config.max_text_bytes,
        frames_per_second: config.frames_per_second,
        max_page: config.max_page,
        heartbeat_ms: u32::try_from(config.idle_timeout_ms / 3).unwrap_or(u32::MAX),
    };
    let hub = Hub::new(config.send_queue as usize, config.max_connections_per_principal as usize);
    Ok(Arc::new(App {
        config,
        store,
        verifier,
        hub,
        presence,
        directory,
        metrics: Metrics::default(),
        limits,
        dev,
        shutdown: watch::Sender::new(false),
    }))
}

/// The relay's routes.
pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if let Some(dev) = &app.dev {
        router = router.nest_service(DEV_PATH, dev.clone().router());
    }
    router.with_state(app)
}

async fn websocket(State(app): State<Arc<App>>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    let origin_ok = match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => app.config.allowed_origins.iter().any(|allowed| origin.as_bytes() == allowed.as_bytes()),
    };
    let buffer = app.config.ws_buffer_bytes as usize;
    let max_frame = app.config.max_frame_bytes as usize;
    upgrade
        .read_buffer_size(buffer)
        .write_buffer_size(buffer)
        // Frames are small (roster snapshots come in chunks, history pages are capped by
        // requests::chat::REPLY_BUDGET_BYTES, conversation previews are short), so the write
        // buffer stays near its size; this is the hard cap for the rare large reply.
        .max_write_buffer_size(1024 * 1024 + max_frame)
        // Frames up to four times the limit are read and refused with an error frame; larger
        // ones close the connection with 1009 before they are buffered.
        .max_message_size(max_frame * 4)
        .max_frame_size(max_frame * 4)
        .on_upgrade(move |socket| session::serve(app, socket, origin_ok))
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.shutting_down() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    match app.store.ping().await {
        Ok(()) => "ready\n".into_response(),
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
