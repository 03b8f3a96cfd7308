//! `subscribe`, `set_presence` and `clear_presence`.

use protocol::cluster::NodeEvent;
use protocol::{AgentState, ContactSummary, ErrorCode, Millis, ServerFrame};

use super::{Answer, Ctx, Refusal, Reply};
use crate::presence::{Applied, EVERY_ROSTER, Report, remote_report};

/// Most rosters in one subscription.
const MAX_ROSTERS: usize = 64;
/// Longest roster name accepted.
const MAX_ROSTER_BYTES: usize = 320;
/// Longest state name or Connect username accepted.
const MAX_NAME_CHARS: usize = 128;
/// Longest contact id accepted (Connect's are 36-character UUIDs).
const MAX_CONTACT_ID_BYTES: usize = 256;
/// How far in the future a state's start may lie (clock skew between the CCP and the relay).
const MAX_FUTURE_MS: Millis = 5 * 60 * 1000;

/// Subscribes to the principal's own roster, other rosters, one or several (supervisors), or
/// all (`*`, supervisors). The session registers it and writes the snapshot (see
/// [`Answer::Roster`]).
pub fn subscribe(ctx: &Ctx, id: u64, roster: Option<String>, rosters: Vec<String>) -> Result<Reply, Refusal> {
    let rosters = match (roster, rosters.is_empty()) {
        (Some(_), false) => return Err(Refusal::new(ErrorCode::Invalid, "name either roster or rosters, not both")),
        (Some(roster), true) => vec![roster],
        (None, true) => vec![ctx.roster.clone()],
        (None, false) => rosters,
    };
    if rosters.len() > MAX_ROSTERS {
        return Err(Refusal::new(ErrorCode::TooLarge, format!("at most {MAX_ROSTERS} rosters in one subscription")));
    }
    if rosters.iter().any(|r| r.is_empty() || r.len() > MAX_ROSTER_BYTES) {
        return Err(Refusal::new(ErrorCode::Invalid, "a roster name is 1 to 320 bytes"));
    }
    if !ctx.identity.supervisor && rosters.iter().any(|r| *r != ctx.roster) {
        return Err(Refusal::new(ErrorCode::Forbidden, "only supervisors may see other rosters"));
    }
    let rosters = if rosters.iter().any(|r| r == EVERY_ROSTER) {
        vec![EVERY_ROSTER.to_owned()]
    } else {
        let mut seen = std::collections::HashSet::new();
        rosters.into_iter().filter(|r| seen.insert(r.clone())).collect()
    };
    Ok(Reply { answer: Answer::Roster { id, rosters }, push: None })
}

/// Publishes the sender's own presence. The principal is the connection's; nothing in the
/// frame can name another agent.
pub fn set(
    ctx: &Ctx,
    id: u64,
    state: AgentState,
    since: Millis,
    contact: Option<ContactSummary>,
    username: Option<String>,
    contact_id: Option<String>,
) -> Result<ServerFrame, Refusal> {
    let now = ctx.app.clock.now_ms();
    let invalid = |m: &str| Err(Refusal::new(ErrorCode::Invalid, m));
    if state.name.trim().is_empty() || state.name.chars().count() > MAX_NAME_CHARS {
        return invalid("state name must be 1 to 128 characters");
    }
    if username.as_ref().is_some_and(|u| u.is_empty() || u.chars().count() > MAX_NAME_CHARS) {
        return invalid("username must be 1 to 128 characters");
    }
    if let Some(reported) = &username
        && !protocol::same_agent(&ctx.principal, ctx.username.as_deref(), reported)
    {
        return Err(Refusal::new(
            ErrorCode::IdentityMismatch,
            format!("the CCP is logged in as {reported}, not as {}", ctx.principal),
        ));
    }
    if contact_id.as_ref().is_some_and(|c| c.is_empty() || c.len() > MAX_CONTACT_ID_BYTES) {
        return invalid("contact_id must be 1 to 256 bytes");
    }
    // A contact id without a contact is dropped: there is nothing to listen to.
    let contact_id = contact_id.filter(|_| contact.is_some());
    let in_range = |t: Millis| t > 0 && t <= now + MAX_FUTURE_MS;
    if !in_range(since) || contact.as_ref().is_some_and(|c| !in_range(c.since)) {
        return invalid("since must be a time in milliseconds since the epoch, not in the future");
    }
    let app = &ctx.app;
    let report = Report { state, since, contact, username, contact_id };
    // Applied here first, then published: a node joining again announces what the hub holds,
    // so nothing published can be missing from it.
    let published = app.bus.as_ref().map(|bus| {
        let remote =
            remote_report((bus.node, ctx.conn), &ctx.principal, &ctx.display_name, &ctx.roster, report.clone());
        (bus, remote)
    });
    match app.presence.report(&ctx.principal, ctx.conn, report, now, &app.metrics) {
        Applied::Accepted(Some(record)) => app.store_presence(record),
        // A stale report is not an error: another tab or device already reported a newer
        // state. The client learns the current one from its roster.
        Applied::Accepted(None) | Applied::Stale => {}
    }
    if let Some((bus, report)) = published {
        bus.publish(NodeEvent::Report(report));
    }
    Ok(ServerFrame::Ok { id })
}

/// No CCP of the sender's reports on this connection any more: presence follows the CCP, so
/// the agent goes Offline after the grace period unless one reports again.
pub fn clear(ctx: &Ctx, id: u64) -> ServerFrame {
    let app = &ctx.app;
    if let Some(record) = app.presence.clear(&ctx.principal, ctx.conn, app.clock.now_ms(), &app.metrics) {
        app.store_presence(record);
    }
    if let Some(bus) = &app.bus {
        bus.publish(NodeEvent::Clear { node: bus.node, conn: ctx.conn, principal: ctx.principal.to_string() });
    }
    ServerFrame::Ok { id }
}
