//! `ask_help`, `cancel_help`, `take_help`, `close_help` and `help_requests`: the rules of
//! [`crate::help`] applied to the connection's principal, the store and the supervisors watching.
//!
//! Changes are made one at a time under the help desk's lock, each stored before it is
//! acknowledged and announced, so two supervisors taking one request are decided in order and
//! the second is told who has it. The agent is always the connection's principal, and a
//! supervisor "watches" a roster while a subscription of theirs (on any connection) covers it.

use std::collections::HashSet;

use protocol::cluster::NodeEvent;
use protocol::{ErrorCode, HelpRequest, Millis, ServerFrame};

use super::{Ctx, Refusal, Reply};
use crate::help::{self, Action, Actor, Outcome};
use crate::hub::Outbox;
use crate::presence::Watched;
use crate::store::NewHelp;

/// Asks the supervisors watching the sender's roster for help. While the sender's last request is
/// still open, asking again answers with it (`duplicate`), so a resend never asks twice.
pub async fn ask(ctx: &Ctx, id: u64, reason: String, note: String) -> Result<Reply, Refusal> {
    help::check_ask(&reason, &note)?;
    let app = &ctx.app;
    let mut desk = app.help.lock().await;
    if let Some(open) = desk.open_of(&ctx.principal) {
        let (_, supervisors) = audience(ctx, open).await;
        return Ok(ack(id, open.clone(), supervisors, true).into());
    }
    let new = NewHelp {
        agent: ctx.principal.to_string(),
        display_name: ctx.display_name.clone(),
        roster: ctx.roster.clone(),
        reason: reason.trim().to_owned(),
        note,
        asked_at: app.clock.now_ms(),
    };
    let request = app.store.add_help(new).await?;
    desk.apply(request.clone());
    Ok(announce(ctx, id, request).await)
}

/// Cancels, takes or closes request `request`, as the rules allow the sender.
pub async fn change(ctx: &Ctx, id: u64, request: u64, action: Action) -> Result<Reply, Refusal> {
    let app = &ctx.app;
    let mut desk = app.help.lock().await;
    let current = match desk.get(request) {
        Some(live) => live.clone(),
        None => {
            app.store.help(request).await?.ok_or_else(|| Refusal::new(ErrorCode::NotFound, "no such help request"))?
        }
    };
    let supervisor = ctx.identity.supervisor;
    let watches = supervisor && watches(ctx, &current.roster).await;
    let actor = Actor { principal: &ctx.principal, display_name: &ctx.display_name, supervisor, watches };
    match help::decide(&current, action, &actor, app.clock.now_ms())? {
        Outcome::Unchanged(current) => {
            let (_, supervisors) = audience(ctx, &current).await;
            Ok(ack(id, current, supervisors, true).into())
        }
        Outcome::Changed(next) => {
            if !app.store.update_help(&next).await? {
                // Another writer moved it first (only possible with several relays on one
                // store): take what is stored, and let the client try again against it.
                if let Some(stored) = app.store.help(request).await? {
                    desk.apply(stored);
                }
                return Err(Refusal::new(ErrorCode::Unavailable, "the help request changed meanwhile; retry"));
            }
            desk.apply(next.clone());
            Ok(announce(ctx, id, next).await)
        }
    }
}

/// The live requests the sender may see and, for a supervisor naming `since`, the figures of
/// each watched roster since then.
pub async fn list(ctx: &Ctx, id: u64, since: Option<Millis>) -> Result<ServerFrame, Refusal> {
    let app = &ctx.app;
    if let Some(since) = since {
        help::check_since(since, app.clock.now_ms())?;
    }
    let watched = if ctx.identity.supervisor { app.presence.watched_by(&ctx.principal) } else { Watched::default() };
    let requests = app.help.lock().await.visible(&ctx.principal, |roster| watched.covers(roster));
    let stats = match since {
        Some(since) if !watched.is_empty() => {
            let asked = app.store.help_asked_since(since).await?;
            help::stats(&asked, |roster| watched.covers(roster), &watched.rosters)
        }
        _ => Vec::new(),
    };
    Ok(ServerFrame::HelpRequests { id, requests, stats })
}

fn ack(id: u64, request: HelpRequest, supervisors: u32, duplicate: bool) -> ServerFrame {
    ServerFrame::HelpAck { id, request: Box::new(request), supervisors, duplicate }
}

/// Whether the sender's supervisor subscriptions cover `roster`, on this node or (a cluster)
/// another.
/// Whether the sender, a supervisor, watches `roster` (a subscription on any node covers it).
pub async fn watches(ctx: &Ctx, roster: &str) -> bool {
    let app = &ctx.app;
    if app.presence.watched_by(&ctx.principal).covers(roster) {
        return true;
    }
    match &app.bus {
        Some(bus) => bus.watchers_elsewhere(roster).await.iter().any(|p| **p == *ctx.principal),
        None => false,
    }
}

/// The ack of a stored change, then the `help` push to everyone who sees the request (on the
/// other nodes of a cluster, each node finds its own).
async fn announce(ctx: &Ctx, id: u64, request: HelpRequest) -> Reply {
    let (connections, supervisors) = audience(ctx, &request).await;
    if let Some(bus) = &ctx.app.bus {
        bus.publish(NodeEvent::Help { node: bus.node, request: Box::new(request.clone()) });
    }
    let push = ServerFrame::Help { request: Box::new(request.clone()) };
    Reply::from(ack(id, request, supervisors, false)).then_push_to(push, connections)
}

/// Who sees `request` now: every connection of the agent and every supervisor connection whose
/// subscription covers its roster, each once and without the one that asked; and how many
/// supervisors (people, the agent aside) that reaches, on every node.
async fn audience(ctx: &Ctx, request: &HelpRequest) -> (Vec<Outbox>, u32) {
    let app = &ctx.app;
    let watchers = app.presence.watchers(&request.roster);
    let elsewhere = match &app.bus {
        Some(bus) => bus.watchers_elsewhere(&request.roster).await,
        None => Vec::new(),
    };
    let supervisors = watchers
        .iter()
        .map(|w| &*w.principal)
        .chain(elsewhere.iter().map(String::as_str))
        .filter(|p| *p != request.agent)
        .collect::<HashSet<_>>()
        .len();
    let count = u32::try_from(supervisors).unwrap_or(u32::MAX);
    let mut seen = HashSet::from([ctx.conn]);
    let connections = app
        .hub
        .connections(&request.agent)
        .into_iter()
        .chain(watchers.into_iter().map(|w| w.outbox))
        .filter(|o| seen.insert(o.id))
        .collect();
    (connections, count)
}
