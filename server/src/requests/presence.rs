//! `subscribe`, `set_presence` and `clear_presence`.

use protocol::{AgentState, ContactSummary, ErrorCode, Millis, ServerFrame};

use super::Refusal;
use crate::clock;
use crate::presence::{Applied, Report};
use crate::session::Session;

/// Longest state name or Connect username accepted.
const MAX_NAME_CHARS: usize = 128;
/// How far in the future a state's start may lie (clock skew between the CCP and the relay).
const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;
/// The roster name that means every roster (supervisors only).
pub const EVERY_ROSTER: &str = "*";

/// Agents per `roster` frame: about 1.5 KiB, so that a client can process a large roster in
/// small steps.
pub const ROSTER_CHUNK: usize = 6;

/// Subscribes to the principal's own roster, another roster (supervisors), or all (`*`).
/// The snapshot is written by the presence hub itself (see `PresenceHub::subscribe`).
pub fn subscribe(session: &Session, id: u64, roster: Option<String>) -> Result<(), Refusal> {
    let roster = roster.unwrap_or_else(|| session.roster.clone());
    let allowed = roster == session.roster || session.identity.supervisor;
    if !allowed {
        return Err(Refusal::new(ErrorCode::Forbidden, "only supervisors may see other rosters"));
    }
    let scope = (roster != EVERY_ROSTER).then_some(roster.as_str());
    session.app.presence.subscribe(&session.outbox, scope, &session.app.metrics, |agents| {
        let chunks = agents.len().div_ceil(ROSTER_CHUNK).max(1);
        let mut agents = agents.into_iter();
        (1..=chunks)
            .map(|n| ServerFrame::Roster {
                id,
                roster: roster.clone(),
                agents: agents.by_ref().take(ROSTER_CHUNK).collect(),
                complete: n == chunks,
            })
            .collect()
    });
    Ok(())
}

/// Publishes the sender's own presence. The principal is the connection's; nothing in the
/// frame can name another agent.
pub fn set(
    session: &Session,
    id: u64,
    state: AgentState,
    since: Millis,
    contact: Option<ContactSummary>,
    username: Option<String>,
) -> Result<ServerFrame, Refusal> {
    let now = clock::now_ms();
    let invalid = |m: &str| Err(Refusal::new(ErrorCode::Invalid, m));
    if state.name.trim().is_empty() || state.name.chars().count() > MAX_NAME_CHARS {
        return invalid("state name must be 1 to 128 characters");
    }
    if username.as_ref().is_some_and(|u| u.is_empty() || u.chars().count() > MAX_NAME_CHARS) {
        return invalid("username must be 1 to 128 characters");
    }
    if let Some(reported) = &username
        && !protocol::same_agent(&session.principal, session.username.as_deref(), reported)
    {
        return Err(Refusal::new(
            ErrorCode::IdentityMismatch,
            format!("the CCP is logged in as {reported}, not as {}", session.principal),
        ));
    }
    let in_range = |t: Millis| t > 0 && t <= now + MAX_FUTURE_MS;
    if !in_range(since) || contact.as_ref().is_some_and(|c| !in_range(c.since)) {
        return invalid("since must be a time in milliseconds since the epoch, not in the future");
    }
    let app = &session.app;
    let report = Report { state, since, contact, username };
    match app.presence.report(&session.principal, session.outbox.id, report, now, &app.metrics) {
        Applied::Accepted(Some(record)) => store(app, record),
        // A stale report is not an error: another tab or device already reported a newer
        // state. The client learns the current one from its roster.
        Applied::Accepted(None) | Applied::Stale => {}
    }
    Ok(ServerFrame::Ok { id })
}

/// No CCP of the sender's reports on this connection any more: presence follows the CCP, so
/// the agent goes Offline after the grace period unless one reports again.
pub fn clear(session: &Session, id: u64) -> ServerFrame {
    let app = &session.app;
    if let Some(record) = app.presence.clear(&session.principal, session.outbox.id, clock::now_ms(), &app.metrics) {
        store(app, record);
    }
    ServerFrame::Ok { id }
}

/// Stores a presence change in the background (the hub has already shown it).
pub fn store(app: &crate::app::App, record: crate::store::PresenceRecord) {
    let store = app.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store.put_presence(&record).await {
            tracing::warn!(error = %e, "could not store presence");
        }
    });
}
