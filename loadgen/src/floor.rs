//! The supervisor floor's load for `cargo xtask bench extension`: thousands of agents signed in
//! to a relay the benchmark started (its development issuer and a directory of the agents), each
//! in a state, then a steady rate of state changes spread over them, while the benchmark watches
//! a supervisor's full-tab floor. Agent 0 is the probe: its changes come from the benchmark (a
//! line on stdin), and the moment each is sent is printed, so the benchmark can time it to its
//! row on screen.

use std::time::Duration;

use anyhow::Context as _;
use protocol::{AgentState, Channel, ClientFrame, ContactState, ContactSummary, Millis, StateKind};
use tokio::io::AsyncBufReadExt as _;
use tokio::sync::mpsc;

use crate::{Client, tokens};

/// States the agents move through, with a contact for some.
const STATES: &[(&str, StateKind, Option<ContactState>)] = &[
    ("Available", StateKind::Routable, None),
    ("Busy", StateKind::System, Some(ContactState::Connected)),
    ("Busy", StateKind::System, Some(ContactState::OnHold)),
    ("AfterCallWork", StateKind::System, Some(ContactState::AfterContactWork)),
    ("休憩", StateKind::NotRoutable, None),
    ("管理業務中", StateKind::NotRoutable, None),
    ("Lunch", StateKind::NotRoutable, None),
];

pub struct FloorLoad {
    /// `http://host:port` of a relay with `--dev-issuer`.
    pub base: String,
    /// Principals of the agents; the first is the probe.
    pub agents: Vec<String>,
    pub changes_per_s: u32,
    pub connect_concurrency: usize,
}

/// A presence change for one agent.
fn change(
    name: &str,
    kind: StateKind,
    contact: Option<ContactState>,
    since: Millis,
) -> impl FnOnce(u64) -> ClientFrame + use<> {
    let state = AgentState { name: name.into(), kind };
    let contact = contact.map(|state| ContactSummary { channel: Channel::Voice, state, since });
    move |id| ClientFrame::SetPresence { id, state, since, contact, username: None, contact_id: None }
}

type Change = Box<dyn FnOnce(u64) -> ClientFrame + Send>;

/// One agent: sends the changes it is given, pings when idle, reads every reply.
async fn agent(mut client: Client, mut changes: mpsc::UnboundedReceiver<Change>) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), changes.recv()).await {
            Ok(Some(change)) => {
                client.request(change).await?;
            }
            Ok(None) => return Ok(()),
            Err(_) => {
                client.request(|id| ClientFrame::Ping { id }).await?;
            }
        }
    }
}

/// Signs every agent in, puts each in a state, prints `floor-load ready`, then changes states at
/// the rate asked until stdin closes. A stdin line `probe STATE` sets the probe's state and
/// prints `probe-sent STATE MILLIS` (the wall clock just before sending).
pub async fn run(load: FloorLoad) -> anyhow::Result<()> {
    let url = format!("{}/ws", load.base.replacen("http", "ws", 1));
    let http = reqwest::Client::new();
    let mut senders = Vec::with_capacity(load.agents.len());
    let mut tasks = Vec::with_capacity(load.agents.len());
    for (n, chunk) in load.agents.chunks(load.connect_concurrency.max(1)).enumerate() {
        let logins = chunk.iter().map(|principal| {
            let (http, base, url) = (http.clone(), load.base.clone(), url.clone());
            async move {
                let token = tokens::dev_token(&http, &base, principal, principal, &[]).await?;
                let (client, _) = Client::login(&url, &token).await?;
                anyhow::Ok(client)
            }
        });
        for (i, client) in futures_util::future::join_all(logins).await.into_iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel::<Change>();
            let index = n * load.connect_concurrency + i;
            let (name, kind, contact) = STATES[index % STATES.len()];
            // Each in their state for a while already (a floor mid-shift), minutes apart.
            let since = crate::now_ms() - (index as Millis % 600) * 1000;
            let _ = tx.send(Box::new(change(name, kind, contact, since)));
            senders.push(tx);
            tasks.push(tokio::spawn(agent(client.context("an agent could not sign in")?, rx)));
        }
    }
    println!("floor-load ready agents={}", load.agents.len());

    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut rng, mut owed, per_tick) = (0x9E37_79B9_7F4A_7C15_u64, 0.0_f64, f64::from(load.changes_per_s) / 100.0);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                owed += per_tick;
                while owed >= 1.0 && senders.len() > 1 {
                    owed -= 1.0;
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let who = 1 + (rng as usize % (senders.len() - 1));
                    let (name, kind, contact) = STATES[(rng >> 32) as usize % STATES.len()];
                    let _ = senders[who].send(Box::new(change(name, kind, contact, crate::now_ms())));
                }
            }
            line = stdin.next_line() => {
                let Some(line) = line? else { break };
                if let Some(state) = line.strip_prefix("probe ").map(str::to_owned) {
                    let at = crate::now_ms();
                    println!("probe-sent {state} {at}");
                    let _ = senders[0].send(Box::new(change(&state, StateKind::NotRoutable, None, at)));
                }
            }
        }
    }
    drop(senders);
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}
