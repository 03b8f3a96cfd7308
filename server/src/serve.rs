//! Serving: [`run`] (what `main` and the tests call), the routes (`/ws`, `/api/v1`,
//! `/healthz`, `/readyz`, `/metrics`, `/dev/oidc`, `/extension/` with `--extension-dir`), the accept loop (HTTP/1.1 through hyper,
//! upgrades handed to [`session`] as raw TCP streams) and the graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use protocol::CloseCode;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::auth::dev_issuer::DEV_PATH;
use crate::clock::{self, Clock};
use crate::config::Config;
use crate::jobs::Jobs;
use crate::network::Peer;
use crate::session;
use crate::state::{self, App, StartError};
use crate::store::Store;

/// Runs the relay on `listener` until `shutdown` resolves, then tells every client to
/// reconnect and waits (up to the configured grace) for them to go.
pub async fn run(
    listener: TcpListener,
    config: Config,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    run_with_clock(listener, config, store, Clock::system(), shutdown).await
}

/// [`run`] with what expires going by `clock` (tests move a manual one instead of sleeping).
pub async fn run_with_clock(
    listener: TcpListener,
    config: Config,
    store: Arc<dyn Store>,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let addr = listener.local_addr()?;
    let app = state::build(addr, config, store, clock).await?;
    tracing::info!(%addr, dev_issuer = app.dev.is_some(), "relay listening");
    let jobs = Jobs::start(&app).await?;
    accept(listener, router(app.clone()), &app, shutdown).await;
    tracing::info!("shutting down: asking clients to reconnect");
    app.shut_down();
    app.hub.close_all(CloseCode::Restarting);
    app.connections.close();
    let grace = Duration::from_millis(app.config.shutdown_grace_ms);
    if tokio::time::timeout(grace, app.connections.wait()).await.is_err() {
        tracing::warn!(left = app.connections.len(), "connections still open after the shutdown grace");
    }
    jobs.stop().await;
    tracing::info!("relay stopped");
    Ok(())
}

/// The relay's routes.
pub fn router(app: Arc<App>) -> Router {
    let mut clients = Router::new().route("/ws", get(websocket)).merge(crate::rest::router(app.clone()));
    if let Some(dev) = &app.dev {
        clients = clients.nest_service(DEV_PATH, dev.clone().router());
    }
    if let Some(dir) = &app.config.extension_dir {
        let packages = Router::new().route("/{name}", get(crate::packages::handler)).with_state(Arc::new(dir.clone()));
        clients = clients.nest(crate::packages::EXTENSION_PATH, packages);
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
    app.metrics.network_refusals.inc();
    app.metrics.error(protocol::ErrorCode::Forbidden);
    let body =
        protocol::ErrorBody::new(protocol::ErrorCode::Forbidden, "your network is not allowed to use this relay");
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

/// Accepts connections until `shutdown`, each served as HTTP/1.1 with upgrades in a task of
/// `app.connections`; once the relay shuts down, open HTTP connections finish their request
/// and close (WebSockets close on their own).
async fn accept(listener: TcpListener, router: Router, app: &Arc<App>, shutdown: impl Future<Output = ()>) {
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
        let app = app.clone();
        app.connections.clone().spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                () = app.stopping() => {
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
    app.connections.clone().spawn(async move {
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
        Ok(()) => {
            // Ready either way: a stale directory is still served, and a node that lost Redis
            // still serves its own connections (were every node to leave the load balancer
            // together, nobody would be served). The lines tell operators.
            let mut body = String::from("ready\n");
            if let Some(at) = app.caller_ids.synced_at() {
                body.push_str(&format!("directory_age_s {}\n", (clock::now_ms() - at).max(0) / 1000));
            }
            if let Some(bus) = &app.bus {
                match bus.is_up() {
                    true => body.push_str(&format!("cluster up nodes {}\n", bus.nodes())),
                    false => body.push_str("cluster down: Redis does not answer; serving this node's connections\n"),
                }
            }
            body.into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    if let Some(sent) = app.store.requests() {
        let counted = app.metrics.store_requests.get();
        app.metrics.store_requests.inc_by(sent.saturating_sub(counted));
    }
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], app.metrics.render()).into_response()
}
