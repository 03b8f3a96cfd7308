//! One WebSocket connection speaking the relay protocol, for tools and tests.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{ClientFrame, PROTOCOL_VERSION, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long helpers wait for an expected frame.
pub const WAIT: Duration = Duration::from_secs(10);

/// What arrives on a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Frame(ServerFrame),
    /// The relay closed the connection with this code and reason (1006 when it just went away).
    Closed(u16, String),
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    stash: VecDeque<ServerFrame>,
    closed: Option<(u16, String)>,
}

impl Client {
    /// Opens a WebSocket to `url` (`ws://host:port/ws`), sending `origin` if given.
    pub async fn connect(url: &str, origin: Option<&str>) -> anyhow::Result<Self> {
        let mut request = url.into_client_request()?;
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", HeaderValue::from_str(origin)?);
        }
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(4096);
        let (ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        Ok(Self { ws, next_id: 1, stash: VecDeque::new(), closed: None })
    }

    /// Connects and authenticates; returns the client and the `welcome` frame.
    pub async fn login(url: &str, token: &str) -> anyhow::Result<(Self, ServerFrame)> {
        let mut client = Self::connect(url, None).await?;
        let welcome = client.hello(token).await?;
        match welcome {
            ServerFrame::Welcome { .. } => Ok((client, welcome)),
            other => bail!("expected welcome, got {other:?}"),
        }
    }

    /// Sends `hello` and returns the relay's first answer.
    pub async fn hello(&mut self, token: &str) -> anyhow::Result<ServerFrame> {
        let hello = ClientFrame::Hello {
            protocol: PROTOCOL_VERSION,
            token: Some(token.to_owned()),
            ticket: None,
            client: Some("loadgen".into()),
        };
        self.send(&hello).await?;
        match self.next().await? {
            Event::Frame(frame) => Ok(frame),
            Event::Closed(code, reason) => bail!("closed {code} ({reason}) before welcome"),
        }
    }

    /// A fresh request id.
    pub fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> anyhow::Result<()> {
        self.send_raw(serde_json::to_string(frame)?).await
    }

    pub async fn send_raw(&mut self, text: String) -> anyhow::Result<()> {
        self.ws.send(Message::text(text)).await.context("sending")
    }

    /// A WebSocket-level ping (not the protocol's `ping` frame).
    pub async fn send_ws_ping(&mut self) -> anyhow::Result<()> {
        self.ws.send(Message::Ping(Vec::new().into())).await.context("sending")
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.ws.send(Message::binary(bytes)).await.context("sending")
    }

    /// The next event: a stashed frame first, then the socket.
    pub async fn next(&mut self) -> anyhow::Result<Event> {
        if let Some(frame) = self.stash.pop_front() {
            return Ok(Event::Frame(frame));
        }
        self.read().await
    }

    async fn read(&mut self) -> anyhow::Result<Event> {
        if let Some((code, reason)) = &self.closed {
            return Ok(Event::Closed(*code, reason.clone()));
        }
        loop {
            match self.ws.next().await {
                None => return Ok(self.close_event(1006, String::new())),
                Some(Err(e)) => return Ok(self.close_event(1006, e.to_string())),
                Some(Ok(Message::Text(text))) => {
                    let frame = protocol::decode_server(&text).map_err(|e| anyhow!("bad server frame: {e}: {text}"))?;
                    return Ok(Event::Frame(frame));
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| (f.code.into(), f.reason.to_string()));
                    return Ok(self.close_event(code, reason));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    fn close_event(&mut self, code: u16, reason: String) -> Event {
        self.closed = Some((code, reason.clone()));
        Event::Closed(code, reason)
    }

    /// The next frame within [`WAIT`]; an error if the connection closed instead.
    pub async fn frame(&mut self) -> anyhow::Result<ServerFrame> {
        match tokio::time::timeout(WAIT, self.next()).await.context("waiting for a frame")?? {
            Event::Frame(frame) => Ok(frame),
            Event::Closed(code, reason) => bail!("closed {code} ({reason})"),
        }
    }

    /// Sends a request built with a fresh id and waits for the reply with that id, keeping
    /// pushes that arrive meanwhile for [`Client::next`].
    pub async fn request(&mut self, make: impl FnOnce(u64) -> ClientFrame) -> anyhow::Result<ServerFrame> {
        let id = self.id();
        self.send(&make(id)).await?;
        self.reply(id).await
    }

    /// Waits for the reply with `id`, stashing everything else.
    pub async fn reply(&mut self, id: u64) -> anyhow::Result<ServerFrame> {
        let wait = async {
            loop {
                match self.read().await? {
                    Event::Frame(frame) if reply_id(&frame) == Some(id) => return Ok(frame),
                    Event::Frame(frame) => self.stash.push_back(frame),
                    Event::Closed(code, reason) => bail!("closed {code} ({reason}) while waiting for reply {id}"),
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.context("waiting for a reply")?
    }

    /// Subscribes to a roster and collects its snapshot frames. Returns the roster name and
    /// agents, or the error frame as an error.
    pub async fn subscribe(&mut self, roster: Option<&str>) -> anyhow::Result<(String, Vec<protocol::Presence>)> {
        let id = self.id();
        self.send(&ClientFrame::Subscribe { id, roster: roster.map(str::to_owned), rosters: Vec::new() }).await?;
        let mut all = Vec::new();
        loop {
            match self.reply(id).await? {
                ServerFrame::Roster { roster, agents, complete, .. } => {
                    all.extend(agents);
                    if complete {
                        return Ok((roster, all));
                    }
                }
                other => bail!("subscribe refused: {other:?}"),
            }
        }
    }

    /// Waits for the relay to close the connection and returns the code, skipping frames.
    pub async fn closed(&mut self) -> anyhow::Result<(u16, String)> {
        let wait = async {
            loop {
                if let Event::Closed(code, reason) = self.next().await? {
                    return Ok((code, reason));
                }
            }
        };
        tokio::time::timeout(WAIT, wait).await.context("waiting for close")?
    }

    /// The raw WebSocket, for tools that read and write concurrently.
    pub fn into_stream(self) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        self.ws
    }

    /// Closes from the client side.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The `id` a server frame answers, if it is a reply.
pub fn reply_id(frame: &ServerFrame) -> Option<u64> {
    match frame {
        ServerFrame::Ok { id }
        | ServerFrame::Pong { id }
        | ServerFrame::Roster { id, .. }
        | ServerFrame::ChatAck { id, .. }
        | ServerFrame::Conversations { id, .. }
        | ServerFrame::Synced { id, .. }
        | ServerFrame::History { id, .. }
        | ServerFrame::HelpAck { id, .. }
        | ServerFrame::HelpRequests { id, .. }
        | ServerFrame::Monitoring { id, .. } => Some(*id),
        ServerFrame::Error { id, .. } => *id,
        ServerFrame::Welcome { .. }
        | ServerFrame::Presence { .. }
        | ServerFrame::Chat { .. }
        | ServerFrame::ReadMarker { .. }
        | ServerFrame::Help { .. }
        | ServerFrame::ConnectFeed { .. } => None,
    }
}
