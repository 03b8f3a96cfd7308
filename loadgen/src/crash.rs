//! The crash run: several clients send chat as fast as the relay acknowledges, the relay is
//! killed with SIGKILL mid-storm and restarted on the same data directory, the clients
//! reconnect and resend what was not acknowledged (same client ids, as the extension's outbox
//! does), and then every conversation's history is read back.
//!
//! Success: every acknowledged message is in history exactly once, every resent one too, and
//! sequence numbers are contiguous.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use protocol::{ClientFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use crate::process::RelayProcess;
use crate::{Client, tokens};

/// What the crash run found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CrashReport {
    /// Messages acknowledged before the kill.
    pub acked_before_kill: usize,
    /// Messages sent but not acknowledged when the relay died, resent after the restart.
    pub resent: usize,
    /// Distinct messages in history afterwards.
    pub in_history: usize,
    /// Acknowledged or resent messages missing from history.
    pub lost: usize,
    /// Client ids stored more than once.
    pub duplicated: usize,
    /// Conversations whose sequence numbers are not 1..=n.
    pub gaps: usize,
}

const RELAY_ARGS: &[&str] =
    &["--dev-issuer", "--frames-per-second", "100000", "--principal-requests-per-second", "100000"];

fn sender(i: usize) -> String {
    format!("storm-{i}@example.com")
}

fn sink(i: usize) -> String {
    format!("sink-{i}@example.com")
}

fn text_of(client_id: &str) -> String {
    format!("storm message {client_id}")
}

#[derive(Default)]
struct Ledger {
    sent: Vec<String>,
    acked: HashMap<String, u64>,
}

/// Runs the crash scenario with `senders` clients and a storm of `storm` before the kill.
pub async fn run(binary: &Path, data_dir: &Path, senders: usize, storm: Duration) -> anyhow::Result<CrashReport> {
    run_on(binary, data_dir, &[], &[], senders, storm).await
}

/// [`run`] with more relay arguments and environment (another store, say: `--store dynamodb`
/// and its endpoint and credentials).
pub async fn run_on(
    binary: &Path,
    data_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    senders: usize,
    storm: Duration,
) -> anyhow::Result<CrashReport> {
    let args: Vec<&str> = RELAY_ARGS.iter().chain(args).copied().collect();
    let relay = RelayProcess::start_with_env(binary, data_dir, &args, env, None).await?;
    let http = reqwest::Client::new();
    let ledgers: Vec<Arc<Mutex<Ledger>>> = (0..senders).map(|_| Arc::default()).collect();
    let mut tasks = Vec::new();
    for (i, ledger) in ledgers.iter().enumerate() {
        let token = tokens::dev_token(&http, &relay.base, &sender(i), &sender(i), &[]).await?;
        let (client, _) = Client::login(&relay.url, &token).await?;
        tasks.push(tokio::spawn(storm_until_dead(client, i, ledger.clone())));
    }
    tokio::time::sleep(storm).await;
    relay.kill9()?;
    for task in tasks {
        let _ = task.await;
    }

    let mut report = CrashReport::default();
    let relay = RelayProcess::start_with_env(binary, data_dir, &args, env, None).await?;
    for (i, ledger) in ledgers.iter().enumerate() {
        let token = tokens::dev_token(&http, &relay.base, &sender(i), &sender(i), &[]).await?;
        let (mut client, _) = Client::login(&relay.url, &token).await?;
        let unacked: Vec<String> = {
            let ledger = ledger.lock().map_err(|_| anyhow::anyhow!("ledger poisoned"))?;
            report.acked_before_kill += ledger.acked.len();
            ledger.sent.iter().filter(|id| !ledger.acked.contains_key(*id)).cloned().collect()
        };
        report.resent += unacked.len();
        for client_id in unacked {
            let text = text_of(&client_id);
            let ack = client
                .request(|id| ClientFrame::SendChat { id, to: sink(i), client_id: client_id.clone(), text })
                .await?;
            if let ServerFrame::ChatAck { seq, .. } = ack
                && let Ok(mut ledger) = ledger.lock()
            {
                ledger.acked.insert(client_id, seq);
            }
        }
        let history = read_all(&mut client, &sink(i)).await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for m in &history {
            *counts.entry(m.client_id.clone()).or_default() += 1;
        }
        report.in_history += counts.len();
        report.duplicated += counts.values().filter(|n| **n > 1).count();
        let mut seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
        seqs.sort_unstable();
        if seqs != (1..=seqs.len() as u64).collect::<Vec<_>>() {
            report.gaps += 1;
        }
        let ledger = ledger.lock().map_err(|_| anyhow::anyhow!("ledger poisoned"))?;
        report.lost += ledger.acked.keys().filter(|id| !counts.contains_key(*id)).count();
    }
    relay.terminate()?;
    Ok(report)
}

/// Sends as fast as acks come back, up to 32 in flight, until the connection dies.
async fn storm_until_dead(client: Client, i: usize, ledger: Arc<Mutex<Ledger>>) {
    let mut ws = client.into_stream();
    let mut next = 0_u64;
    let mut in_flight: HashMap<u64, String> = HashMap::new();
    loop {
        while in_flight.len() < 32 {
            next += 1;
            let client_id = format!("{i}-{next}");
            let frame = ClientFrame::SendChat {
                id: next,
                to: sink(i),
                client_id: client_id.clone(),
                text: text_of(&client_id),
            };
            let Ok(text) = serde_json::to_string(&frame) else { return };
            if let Ok(mut ledger) = ledger.lock() {
                ledger.sent.push(client_id.clone());
            }
            in_flight.insert(next, client_id);
            if ws.send(Message::text(text)).await.is_err() {
                return;
            }
        }
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if let Ok(ServerFrame::ChatAck { id, seq, .. }) = protocol::decode_server(&text)
                    && let Some(client_id) = in_flight.remove(&id)
                    && let Ok(mut ledger) = ledger.lock()
                {
                    ledger.acked.insert(client_id, seq);
                }
            }
            Some(Ok(_)) => {}
            None | Some(Err(_)) => return,
        }
    }
}

/// Every message of the conversation with `peer`, paging history from the newest.
/// Every message of the conversation with `peer`, newest first, page by page.
pub async fn read_all(client: &mut Client, peer: &str) -> anyhow::Result<Vec<protocol::ChatMessage>> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let page =
            client.request(|id| ClientFrame::History { id, peer: peer.to_owned(), before, limit: Some(100) }).await?;
        let ServerFrame::History { messages, more, .. } = page else {
            anyhow::bail!("expected history, got {page:?}");
        };
        before = messages.last().map(|m| m.seq);
        all.extend(messages);
        if !more {
            return Ok(all);
        }
    }
}
