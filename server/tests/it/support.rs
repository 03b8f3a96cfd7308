//! Starts an OIDC issuer and relays for a test, and mints tokens.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use loadgen::Client;
use protocol::{AgentState, ClientFrame, ServerFrame, StateKind};
use serde_json::{Value, json};
use server::Config;
use server::auth::DevIssuer;
use server::clock::Clock;
use server::store::SqliteStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const AUDIENCE: &str = "ccp-sidecar-test";

/// An OIDC provider on loopback: discovery, JWKS, and tokens minted in-process.
pub struct Issuer {
    pub dev: Arc<DevIssuer>,
    pub url: String,
}

impl Issuer {
    pub async fn start() -> Self {
        let (dev, url) = loadgen::security::serve_issuer().await.unwrap();
        Self { dev, url }
    }

    pub fn claims(&self, email: &str) -> Value {
        let now = server::clock::now_ms() / 1000;
        json!({"iss": self.url, "aud": AUDIENCE, "sub": server::auth::dev_issuer::subject_of(email), "email": email, "name": display(email),
               "groups": [], "iat": now, "nbf": now, "exp": now + 3600})
    }

    pub fn token(&self, email: &str) -> String {
        self.dev.sign(&self.claims(email))
    }

    pub fn supervisor_token(&self, email: &str) -> String {
        let mut claims = self.claims(email);
        claims["groups"] = json!(["agents", "supervisors"]);
        self.dev.sign(&claims)
    }

    pub fn token_with(&self, email: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims(email);
        edit(&mut claims);
        self.dev.sign(&claims)
    }
}

/// "aiko@example.com" -> "Aiko".
pub fn display(email: &str) -> String {
    let name = email.split('@').next().unwrap_or(email);
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub struct Relay {
    pub url: String,
    pub base: String,
    pub data: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), server::StartError>>>,
    _dir: Option<Arc<tempfile::TempDir>>,
    /// What expires in the relay goes by this clock, kept across restarts.
    clock: Clock,
}

impl Relay {
    /// A relay trusting `issuer`, with a short presence grace, tweaked by `edit`.
    pub async fn start(issuer: &Issuer, edit: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(issuer, dir.path().to_path_buf());
        edit(&mut config);
        Self::start_with(config, Some(dir)).await
    }

    /// Like [`Relay::start`], with grace periods and token lifetimes going by `clock`, which
    /// the test moves (`Clock::advance`) instead of sleeping.
    pub async fn start_clocked(issuer: &Issuer, clock: &Clock, edit: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(issuer, dir.path().to_path_buf());
        edit(&mut config);
        Self::launch(config, Some(dir), clock.clone()).await
    }

    pub async fn start_with(config: Config, dir: Option<Arc<tempfile::TempDir>>) -> Self {
        Self::launch(config, dir, Clock::system()).await
    }

    /// Like [`Relay::start`], on `store` (another backend).
    pub async fn start_on(
        issuer: &Issuer,
        store: Arc<dyn server::store::Store>,
        edit: impl FnOnce(&mut Config),
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = test_config(issuer, dir.path().to_path_buf());
        edit(&mut config);
        Self::launch_on(config, Some(dir), Clock::system(), store).await
    }

    async fn launch(config: Config, dir: Option<Arc<tempfile::TempDir>>, clock: Clock) -> Self {
        let store = Arc::new(SqliteStore::open(&config.data_dir).unwrap());
        Self::launch_on(config, dir, clock, store).await
    }

    async fn launch_on(
        config: Config,
        dir: Option<Arc<tempfile::TempDir>>,
        clock: Clock,
        store: Arc<dyn server::store::Store>,
    ) -> Self {
        config.validate().unwrap();
        let listener = tokio::net::TcpListener::bind(config.listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let data = config.data_dir.clone();
        let task = tokio::spawn(server::serve::run_with_clock(listener, config, store, clock.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            url: format!("ws://{addr}/ws"),
            base: format!("http://{addr}"),
            data,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
            clock,
        }
    }

    /// Stops gracefully and waits for `run` to return.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task).await.expect("relay stops").unwrap().unwrap();
        }
    }

    /// Stops, then starts a new relay on the same data directory and configuration.
    pub async fn restart(mut self, issuer: &Issuer, edit: impl FnOnce(&mut Config)) -> Self {
        self.stop().await;
        let mut config = test_config(issuer, self.data.clone());
        edit(&mut config);
        Self::launch(config, self._dir.take(), self.clock.clone()).await
    }

    pub async fn login(&self, token: &str) -> Client {
        let (client, _) = Client::login(&self.url, token).await.expect("login");
        client
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base)).await.unwrap().text().await.unwrap()
    }
}

pub fn test_config(issuer: &Issuer, data_dir: PathBuf) -> Config {
    let mut config = Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.data_dir = data_dir;
    config.oidc_issuer = Some(issuer.url.clone());
    config.oidc_audience = vec![AUDIENCE.into()];
    config.presence_grace_ms = 300;
    config.shutdown_grace_ms = 2000;
    config
}

/// Publishes a presence state and waits for the relay's `ok`.
pub async fn set_state(client: &mut Client, name: &str, kind: StateKind, since: i64) {
    let reply = client
        .request(|id| ClientFrame::SetPresence {
            id,
            state: AgentState { name: name.into(), kind },
            since,
            contact: None,
            username: None,
            contact_id: None,
        })
        .await
        .unwrap();
    assert_eq!(reply, ServerFrame::Ok { id: reply_id(&reply) }, "set_presence");
}

pub fn reply_id(frame: &ServerFrame) -> u64 {
    loadgen::client::reply_id(frame).unwrap_or(0)
}

/// Subscribes and returns the whole roster snapshot as one frame (or the error frame).
pub async fn subscribe(client: &mut Client, roster: Option<&str>) -> ServerFrame {
    let first = client
        .request(|id| ClientFrame::Subscribe { id, roster: roster.map(Into::into), rosters: Vec::new() })
        .await
        .unwrap();
    let ServerFrame::Roster { id, roster, mut agents, mut complete } = first else { return first };
    while !complete {
        match client.reply(id).await.unwrap() {
            ServerFrame::Roster { agents: more, complete: last, .. } => {
                agents.extend(more);
                complete = last;
            }
            other => panic!("expected more of the roster, got {other:?}"),
        }
    }
    ServerFrame::Roster { id, roster, agents, complete }
}

/// The next `presence` push for `principal`, skipping others.
pub async fn next_presence_of(client: &mut Client, principal: &str) -> protocol::Presence {
    loop {
        if let ServerFrame::Presence { presence } = client.frame().await.unwrap()
            && presence.principal == principal
        {
            return presence;
        }
    }
}

/// Fails if any frame arrives within `window`.
pub async fn expect_silence(client: &mut Client, window: Duration) {
    if let Ok(event) = tokio::time::timeout(window, client.next()).await {
        panic!("expected silence, got {event:?}");
    }
}

pub fn now_ms() -> i64 {
    server::clock::now_ms()
}

/// Sends a chat message and returns its ack.
pub async fn chat(client: &mut Client, to: &str, client_id: &str, text: &str) -> ServerFrame {
    client
        .request(|id| ClientFrame::SendChat { id, to: to.into(), client_id: client_id.into(), text: text.into() })
        .await
        .unwrap()
}

/// The error code of an `error` frame, or a panic.
pub fn error_code(frame: &ServerFrame) -> protocol::ErrorCode {
    match frame {
        ServerFrame::Error { error, .. } => error.code,
        other => panic!("expected an error, got {other:?}"),
    }
}
