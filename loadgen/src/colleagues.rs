//! Simulated colleagues for the demo: each signs in with the relay's development issuer,
//! moves through realistic agent states (including custom Japanese ones and system states
//! during calls), and answers chat after a short pause, in the language it was written in.

use std::time::Duration;

use protocol::{
    AgentState, Channel, ClientFrame, ContactState, ContactSummary, DirectoryUser, Millis, ServerFrame, StateKind,
};

use crate::client::Event;
use crate::{Client, tokens};

/// The states a colleague cycles through, with an optional contact.
const STATES: &[(&str, StateKind, Option<ContactState>)] = &[
    ("Available", StateKind::Routable, None),
    ("CallingCustomer", StateKind::System, Some(ContactState::Connecting)),
    ("Busy", StateKind::System, Some(ContactState::Connected)),
    ("AfterCallWork", StateKind::System, Some(ContactState::AfterContactWork)),
    ("Available", StateKind::Routable, None),
    ("管理業務中", StateKind::NotRoutable, None),
    ("Available", StateKind::Routable, None),
    ("休憩", StateKind::NotRoutable, None),
    ("Lunch", StateKind::NotRoutable, None),
];

/// How long an overstaying colleague has been in after-call work when the demo starts, and how
/// long they stay: past the supervisor's default threshold (5 min) within the demo's first
/// minute, then red, then back to work.
const OVERSTAY_BEFORE: Duration = Duration::from_secs(4 * 60 + 30);
const OVERSTAY_FOR: Duration = Duration::from_secs(6 * 60);

/// Runs one colleague until the connection ends; reconnects are the caller's business. One who
/// `overstays` starts in after-call work that began minutes ago and stays in it for a while,
/// so the supervisor's floor shows an alert early in the demo.
pub async fn run(base: &str, url: &str, user: DirectoryUser, seed: u64, overstays: bool) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let token = tokens::dev_token(&http, base, &user.id, &user.display_name, &[]).await?;
    let (mut client, _) = Client::login(url, &token).await?;
    let mut step = (seed as usize) % STATES.len();
    let mut next_change = tokio::time::Instant::now();
    let mut overstay = overstays;
    loop {
        if tokio::time::Instant::now() >= next_change {
            let (state, since, pause) = if std::mem::take(&mut overstay) {
                let since = now_ms() - OVERSTAY_BEFORE.as_millis() as Millis;
                (STATES.iter().find(|s| s.0 == "AfterCallWork").copied().unwrap_or(STATES[0]), since, OVERSTAY_FOR)
            } else {
                step += 1;
                let pause = 6 + (seed.wrapping_mul(step as u64 + 7) % 14);
                (STATES[(step - 1) % STATES.len()], now_ms(), Duration::from_secs(pause))
            };
            let (name, kind, contact) = state;
            let contact = contact.map(|state| ContactSummary { channel: Channel::Voice, state, since });
            let username = user.username.clone();
            client
                .request(|id| ClientFrame::SetPresence {
                    id,
                    state: AgentState { name: name.into(), kind },
                    since,
                    contact,
                    username,
                })
                .await?;
            next_change = tokio::time::Instant::now() + pause;
        }
        let wait = next_change.saturating_duration_since(tokio::time::Instant::now());
        let Ok(event) = tokio::time::timeout(wait.min(Duration::from_secs(15)), client.next()).await else {
            client.request(|id| ClientFrame::Ping { id }).await?;
            continue;
        };
        match event? {
            Event::Frame(ServerFrame::Chat { message }) if message.to == user.id => {
                tokio::time::sleep(Duration::from_millis(800)).await;
                let text = reply_to(&message.text, &user.display_name);
                let client_id = format!("reply-{}-{}", message.seq, message.client_id);
                let to = message.from.clone();
                client.request(|id| ClientFrame::SendChat { id, to, client_id, text }).await?;
                let (peer, seq) = (message.from, message.seq);
                client.request(|id| ClientFrame::MarkRead { id, peer, seq }).await?;
            }
            Event::Frame(_) => {}
            Event::Closed(code, reason) => anyhow::bail!("closed {code} ({reason})"),
        }
    }
}

/// A short answer, in Japanese when the message has Japanese in it.
pub fn reply_to(text: &str, me: &str) -> String {
    let japanese = text.chars().any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'));
    if japanese {
        format!("{me}です。了解しました、すぐ確認します。")
    } else {
        format!("{me} here: got it, I'll take a look.")
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_the_language() {
        assert!(reply_to("お疲れさまです", "田中").contains("了解"));
        assert!(reply_to("hi there", "Ben").contains("got it"));
    }
}
