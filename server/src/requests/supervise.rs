//! `monitor_agent` and `set_agent_status`: a supervisor acting in Amazon Connect through the
//! relay. Each is checked here (supervisors only, for an agent of a roster they watch), logged,
//! and done with the supervisor's own Connect user, so Connect's audit shows who listened.

use protocol::{ErrorCode, ServerFrame};

use super::help::watches;
use super::{Ctx, Refusal};
use crate::actions::{ActionError, ConnectActions};

/// What every supervisor action needs: the actions, and the agent's presence and contact.
struct Checked {
    actions: std::sync::Arc<dyn ConnectActions>,
    presence: protocol::Presence,
    contact_id: Option<String>,
}

async fn check(ctx: &Ctx, agent: &str, what: &str) -> Result<Checked, Refusal> {
    let app = &ctx.app;
    if !ctx.identity.supervisor {
        return Err(Refusal::new(ErrorCode::Forbidden, format!("only supervisors may {what}")));
    }
    let Some(actions) = app.actions.get().cloned() else {
        return Err(Refusal::new(ErrorCode::NotConfigured, "this relay does not read Amazon Connect"));
    };
    let Some((presence, contact_id)) = app.presence.shown(agent) else {
        return Err(Refusal::new(ErrorCode::NotFound, format!("no agent {agent}")));
    };
    if !watches(ctx, &presence.roster).await {
        return Err(Refusal::new(ErrorCode::Forbidden, format!("you do not watch {}'s team", presence.display_name)));
    }
    Ok(Checked { actions, presence, contact_id })
}

/// The Connect user id the directory holds for `principal`.
fn connect_user(ctx: &Ctx, principal: &str, whose: &str) -> Result<String, Refusal> {
    ctx.app.directory.user(principal).and_then(|u| u.connect_user_id).ok_or_else(|| {
        Refusal::new(ErrorCode::NotConfigured, format!("the directory holds no Amazon Connect user for {whose}"))
    })
}

fn refused_by_connect(e: ActionError) -> Refusal {
    if e.throttled {
        Refusal::new(ErrorCode::RateLimited, format!("Amazon Connect is busy; retry: {}", e.message))
    } else {
        Refusal::new(ErrorCode::ConnectFailed, e.message)
    }
}

/// Puts the supervisor on `agent`'s current contact, listening (and able to barge in with
/// `barge`): Connect's `MonitorContact` for the supervisor's own Connect user, with the contact
/// the agent's CCP (or Connect's real-time data) reported.
pub async fn monitor(ctx: &Ctx, id: u64, agent: String, barge: bool) -> Result<ServerFrame, Refusal> {
    let Checked { actions, presence, contact_id } = check(ctx, &agent, "listen in").await?;
    let me = connect_user(ctx, &ctx.principal, "you")?;
    let Some(contact_id) = contact_id else {
        return Err(Refusal::new(
            ErrorCode::NoContact,
            format!("{} is on no contact to listen to now", presence.display_name),
        ));
    };
    tracing::info!(supervisor = %ctx.principal, agent, contact = contact_id, barge, "supervisor monitors a contact");
    let monitoring = actions.monitor(&contact_id, &me, barge).await.map_err(|e| {
        tracing::warn!(supervisor = %ctx.principal, agent, error = e.message, "MonitorContact refused");
        refused_by_connect(e)
    })?;
    Ok(ServerFrame::Monitoring { id, agent, contact_id: monitoring, barge })
}

/// Sets `agent`'s Connect agent status to `status` (a status id the feed lists).
pub async fn set_status(ctx: &Ctx, id: u64, agent: String, status: String) -> Result<ServerFrame, Refusal> {
    let Checked { actions, presence, .. } = check(ctx, &agent, "set an agent's status").await?;
    let feed = ctx.app.presence.connect_feed().unwrap_or_default();
    let Some(chosen) = feed.statuses.iter().find(|s| s.id == status) else {
        return Err(Refusal::new(ErrorCode::Invalid, "no such agent status in Amazon Connect"));
    };
    let user = connect_user(ctx, &agent, &presence.display_name)?;
    tracing::info!(supervisor = %ctx.principal, agent, status = chosen.name, "supervisor sets an agent's status");
    actions.set_status(&user, &status).await.map_err(|e| {
        tracing::warn!(supervisor = %ctx.principal, agent, error = e.message, "PutUserStatus refused");
        refused_by_connect(e)
    })?;
    Ok(ServerFrame::Ok { id })
}
