//! The status view: every colleague in scope, their state and time in it, search, chat and
//! transfer; a virtualised list (only the rows in view are in the DOM).

use std::rc::Rc;

use protocol::Presence;
use yew::html::Scope;
use yew::prelude::*;

use crate::app::{App, Msg};
use crate::format;
use crate::i18n::{state_name, t, t1};
use crate::virtual_list::VirtualList;

/// A roster row's height in px (`.agent` in panel.css is exactly this).
const ROW_HEIGHT: u32 = 52;

/// One colleague: name, state and time in it, the contact, Chat and Transfer.
fn agent_row(link: &Scope<App>, p: &Presence, index: usize, len: usize, on_call: bool, now: protocol::Millis) -> Html {
    let class = format::state_class(p);
    let state = if p.online { state_name(&p.state.name) } else { t("state_Offline") };
    let principal = p.principal.clone();
    let username = p.username.clone().unwrap_or_default();
    let can_transfer = on_call && p.online && p.state.kind == protocol::StateKind::Routable && !username.is_empty();
    let contact = p.contact.as_ref().map(|c| {
        html! {
            <span class="contact">{" · "}{t(&format!("contact_{}", contact_key(c.state)))}{" "}{format::elapsed(c.since, now)}</span>
        }
    });
    html! {
        <li class="agent" key={p.principal.clone()} aria-label={format!("{}: {}", p.display_name, state)}
            aria-setsize={len.to_string()} aria-posinset={(index + 1).to_string()}>
            <span class={classes!("dot", class)} aria-hidden="true"></span>
            <div class="agent-main">
                <span class="agent-name" dir="auto" title={p.display_name.clone()}>{&p.display_name}</span>
                <span class={classes!("agent-state", class)}>
                    <bdi>{state}</bdi>
                    if p.since > 0 { {" · "}<time>{format::elapsed(p.since, now)}</time> }
                    {contact}
                </span>
            </div>
            <div class="actions">
                <button class="icon" aria-label={t1("chat_with", &p.display_name)} title={t1("chat_with", &p.display_name)}
                    onclick={link.callback(move |_| Msg::Open(principal.clone()))}>{icon_chat()}</button>
                <button class="icon" aria-label={t1("transfer_to", &p.display_name)} title={t1("transfer_to", &p.display_name)}
                    disabled={!can_transfer}
                    onclick={link.callback(move |_| Msg::Transfer(username.clone()))}>{icon_transfer()}</button>
            </div>
        </li>
    }
}

impl App {
    pub fn status_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().clone();
        let me = self.me().to_owned();
        let mut colleagues: Vec<&Presence> =
            self.state.roster.iter().filter(|p| p.principal != me && format::matches(p, &self.search)).collect();
        colleagues.sort_by(|a, b| format::roster_order(a, b));
        let colleagues: Vec<Presence> = colleagues.into_iter().cloned().collect();
        let on_call = self
            .state
            .ccp
            .as_ref()
            .and_then(|a| a.contact.as_ref())
            .is_some_and(|c| matches!(c.state, protocol::ContactState::Connected | protocol::ContactState::OnHold));
        let oninput =
            link.callback(|e: InputEvent| Msg::Search(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
        let len = colleagues.len();
        let colleagues = Rc::new(colleagues);
        let now = self.now;
        // Only the rows in view are rendered (500 agents today, thousands on a supervisor's floor).
        let row = Callback::from(move |i: usize| match colleagues.get(i) {
            Some(p) => agent_row(&link, p, i, len, on_call, now),
            None => html! {},
        });
        let empty = self.state.roster.iter().all(|p| p.principal == me);
        html! {
            <>
                <input type="search" class="search" aria-label={t("search")} placeholder={t("search")}
                    value={self.search.clone()} {oninput} />
                if empty {
                    <p class="empty">{t("no_colleagues")}</p>
                } else if len == 0 {
                    <p class="empty" role="status">{t1("no_matches", self.search.trim())}</p>
                }
                <VirtualList class="agents" {len} row_height={ROW_HEIGHT} {row} label={t("colleagues")} />
                {self.result_line()}
            </>
        }
    }

    pub fn result_line(&self) -> Html {
        match &self.result {
            Some((ok, text)) => html! {
                <p class={classes!("result", (!ok).then_some("error"))} role="status" aria-live="polite">{text}</p>
            },
            None => html! {},
        }
    }
}

fn contact_key(state: protocol::ContactState) -> &'static str {
    use protocol::ContactState::*;
    match state {
        Incoming => "incoming",
        Connecting => "connecting",
        Connected => "connected",
        OnHold => "on_hold",
        AfterContactWork => "acw",
        Ended => "ended",
        Missed => "missed",
        Error => "error",
    }
}

fn icon_chat() -> Html {
    html! {
        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path d="M2 3h12v8H7l-3 3v-3H2z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
        </svg>
    }
}

fn icon_transfer() -> Html {
    html! {
        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path d="M2 5h10m-3-3 3 3-3 3M14 11H4m3-3-3 3 3 3" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    }
}
