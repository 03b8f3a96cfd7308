//! Simulated colleagues for the demo: each signs in with the relay's development issuer,
//! moves through realistic agent states (including custom Japanese ones and system states
//! during calls), and answers chat after a short pause, in the language it was written in. One
//! of them may ask a supervisor for help now and then (the floor's help requests).

use std::time::Duration;

use protocol::{
    AgentState, Channel, ClientFrame, ContactState, ContactSummary, DirectoryUser, HelpStatus, Millis, ServerFrame,
    StateKind,
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

/// When a colleague who asks for help first does (so a supervisor sees a request within the demo's
/// first minute), how long a request may wait before they withdraw it, and the pause before the
/// next one once it ended.
pub const FIRST_HELP: Duration = Duration::from_secs(20);
const HELP_PATIENCE: Duration = Duration::from_secs(4 * 60);
const HELP_PAUSE: Duration = Duration::from_secs(3 * 60);

/// What a colleague who asks for help asks, in turn: a reason key and a note.
const ASKS: &[(&str, &str)] = &[
    ("complaint", "お客様が返金を強く求めています。モニターをお願いします。"),
    ("product", "Customer asks whether the X200 works with the old charger."),
    ("escalation", "上長との通話を希望されています。"),
];

/// What the colleague does besides changing state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Habits {
    /// Starts in after-call work that began minutes ago and stays in it for a while, so the
    /// supervisor's floor shows an alert early in the demo.
    pub overstays: bool,
    /// Asks a supervisor for help now and then, first after this long ([`FIRST_HELP`] in the demo).
    pub asks_help: Option<Duration>,
    /// Reports Available (since [`CLOSED_AFTER`] ago) once, then closes the CCP: no more
    /// reports, the connection kept for chat.
    pub closes_ccp: bool,
}

/// How long a colleague who closes the CCP has been Available when the demo starts (the demo
/// tells the Connect stand-in the same start).
pub const CLOSED_AFTER: Duration = Duration::from_secs(14 * 60);

/// Runs one colleague until the connection ends; reconnects are the caller's business.
pub async fn run(base: &str, url: &str, user: DirectoryUser, seed: u64, habits: Habits) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let token = tokens::dev_token(&http, base, &user.id, &user.display_name, &[]).await?;
    let (mut client, _) = Client::login(url, &token).await?;
    let mut step = (seed as usize) % STATES.len();
    let mut next_change = tokio::time::Instant::now();
    let mut overstay = habits.overstays;
    // The next moment to ask (none while a request is live), the live request and when to give
    // up on it.
    let mut ask_at = habits.asks_help.map(|first| tokio::time::Instant::now() + first);
    let mut live: Option<(u64, tokio::time::Instant)> = None;
    let mut asked = 0_usize;
    loop {
        let now = tokio::time::Instant::now();
        if ask_at.is_some_and(|at| now >= at) {
            let (reason, note) = ASKS[asked % ASKS.len()];
            asked += 1;
            ask_at = None;
            let reply =
                client.request(|id| ClientFrame::AskHelp { id, reason: reason.into(), note: note.into() }).await?;
            if let ServerFrame::HelpAck { request, .. } = reply {
                live = Some((request.id, now + HELP_PATIENCE));
            } else {
                ask_at = Some(now + HELP_PAUSE);
            }
        }
        if let Some((request, _)) = live.filter(|(_, give_up)| now >= *give_up) {
            live = None;
            ask_at = Some(now + HELP_PAUSE);
            // Nobody came (or someone is still on it): withdrawn if still open, else left be.
            let _ = client.request(|id| ClientFrame::CancelHelp { id, request }).await?;
        }
        if habits.closes_ccp && tokio::time::Instant::now() >= next_change {
            if step == usize::MAX {
                // The CCP closes: presence is Connect's from now on.
                client.request(|id| ClientFrame::ClearPresence { id }).await?;
                next_change = tokio::time::Instant::now() + Duration::from_secs(24 * 3600);
            } else {
                step = usize::MAX;
                let since = crate::now_ms() - CLOSED_AFTER.as_millis() as Millis;
                let state = AgentState { name: "Available".into(), kind: StateKind::Routable };
                let username = user.username.clone();
                client
                    .request(|id| ClientFrame::SetPresence {
                        id,
                        state,
                        since,
                        contact: None,
                        username,
                        contact_id: None,
                    })
                    .await?;
                next_change = tokio::time::Instant::now() + Duration::from_secs(8);
            }
        } else if tokio::time::Instant::now() >= next_change {
            let (state, since, pause) = if std::mem::take(&mut overstay) {
                let since = crate::now_ms() - OVERSTAY_BEFORE.as_millis() as Millis;
                (STATES.iter().find(|s| s.0 == "AfterCallWork").copied().unwrap_or(STATES[0]), since, OVERSTAY_FOR)
            } else {
                step += 1;
                let pause = 6 + (seed.wrapping_mul(step as u64 + 7) % 14);
                (STATES[(step - 1) % STATES.len()], crate::now_ms(), Duration::from_secs(pause))
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
                    contact_id: None,
                })
                .await?;
            next_change = tokio::time::Instant::now() + pause;
        }
        let mut wait = next_change.saturating_duration_since(tokio::time::Instant::now());
        for at in [ask_at, live.map(|(_, give_up)| give_up)].into_iter().flatten() {
            wait = wait.min(at.saturating_duration_since(tokio::time::Instant::now()));
        }
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
            // The request was closed by the supervisor who took it: another one later.
            Event::Frame(ServerFrame::Help { request }) if live.is_some_and(|(id, _)| id == request.id) => {
                if !request.status.live() {
                    live = None;
                    ask_at = Some(tokio::time::Instant::now() + HELP_PAUSE);
                } else if request.status == HelpStatus::Taken {
                    // Taken: no more giving up on it.
                    live = Some((request.id, tokio::time::Instant::now() + Duration::from_secs(3600)));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_follow_the_language() {
        assert!(reply_to("お疲れさまです", "田中").contains("了解"));
        assert!(reply_to("hi there", "Ben").contains("got it"));
    }
}
