//! The status view: every colleague in scope, their state and time in it, search, chat and
//! transfer; a virtualised list (only the rows in view are in the DOM).

use std::rc::Rc;

use protocol::Presence;
use yew::html::Scope;
use yew::prelude::*;

use crate::app::result_line;
use crate::format;
use crate::i18n::{state_name, t, t1};
use crate::state::{Effect, PanelState};
use crate::view::{Page, View, ViewProps};
use crate::virtual_list::VirtualList;

/// A roster row's height in px (`.agent` in panel.css is exactly this).
const ROW_HEIGHT: u32 = 52;

/// What a colleague's row shows in the status view and on the floor: the state dot, the name,
/// the state with its time and the contact with its own, and Chat and Transfer (Transfer only
/// while `on_call`, to someone available with a Connect username). `state` is the state in words,
/// for the row's accessible name.
pub struct AgentCells {
    pub state: String,
    pub main: Html,
    pub actions: Html,
}

pub fn agent_cells(
    p: &Presence,
    on_call: bool,
    now: protocol::Millis,
    open: Callback<String>,
    transfer: Callback<String>,
) -> AgentCells {
    let class = format::state_class(p);
    let state = if p.online { state_name(&p.state.name) } else { t("state_Offline") };
    let principal = p.principal.clone();
    let username = p.username.clone().unwrap_or_default();
    let can_transfer = on_call && p.online && p.state.kind == protocol::StateKind::Routable && !username.is_empty();
    let contact = p.contact.as_ref().map(|c| {
        html! {
            <span class="contact">{" · "}{t(&format!("contact_{}", contact_key(c.state)))}{" "}<time>{format::elapsed(c.since, now)}</time></span>
        }
    });
    let main = html! {
        <>
            <span class={classes!("dot", class)} aria-hidden="true"></span>
            <div class="agent-main">
                <span class="agent-name" dir="auto" title={p.display_name.clone()}>{&p.display_name}</span>
                <span class={classes!("agent-state", class)}>
                    <bdi>{state.clone()}</bdi>
                    if p.since > 0 { {" · "}<time>{format::elapsed(p.since, now)}</time> }
                    {contact}
                </span>
            </div>
        </>
    };
    let actions = html! {
        <div class="actions">
            <button class="icon" aria-label={t1("chat_with", &p.display_name)} title={t1("chat_with", &p.display_name)}
                onclick={move |_| open.emit(principal.clone())}>{icon_chat()}</button>
            <button class="icon" aria-label={t1("transfer_to", &p.display_name)} title={t1("transfer_to", &p.display_name)}
                disabled={!can_transfer}
                onclick={move |_| transfer.emit(username.clone())}>{icon_transfer()}</button>
        </div>
    };
    AgentCells { state, main, actions }
}

/// One colleague: name, state and time in it, the contact, Chat and Transfer.
fn agent_row(
    link: &Scope<Page<Status>>,
    p: &Presence,
    index: usize,
    len: usize,
    on_call: bool,
    now: protocol::Millis,
) -> Html {
    let cells = agent_cells(p, on_call, now, link.callback(Msg::Open), link.callback(Msg::Transfer));
    html! {
        <li class="agent" key={p.principal.clone()} aria-label={format!("{}: {}", p.display_name, cells.state)}
            aria-setsize={len.to_string()} aria-posinset={(index + 1).to_string()}>
            {cells.main}
            {cells.actions}
        </li>
    }
}

pub enum Msg {
    Search(String),
    /// Chat with this colleague (the chat view opens).
    Open(String),
    /// Transfer the current contact to the colleague with this Connect username.
    Transfer(String),
    Help(crate::help::Msg),
}

pub struct Status;

impl View for Status {
    type Msg = Msg;

    fn change(state: &mut PanelState, msg: Msg, _props: &ViewProps) -> Vec<Effect> {
        match msg {
            Msg::Search(query) => {
                state.search = query;
                Vec::new()
            }
            Msg::Open(peer) => state.open(peer),
            Msg::Transfer(username) => state.transfer(username),
            Msg::Help(msg) => crate::help::change(state, msg),
        }
    }

    fn view(link: &Scope<Page<Self>>, state: &PanelState, props: &ViewProps) -> Html {
        let link = link.clone();
        let colleagues: Vec<Presence> = state.colleagues().into_iter().cloned().collect();
        let on_call = state.on_call();
        let oninput =
            link.callback(|e: InputEvent| Msg::Search(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
        let len = colleagues.len();
        let colleagues = Rc::new(colleagues);
        let now = props.now;
        // An agent asks a supervisor for help here (a supervisor is the one asked).
        let help = (state.worker.me.is_some() && !state.supervisor())
            .then(|| crate::help::agent_card(state, now, &link.callback(Msg::Help)));
        // Only the rows in view are rendered (500 agents today, thousands on a supervisor's floor).
        let row = Callback::from(move |i: usize| match colleagues.get(i) {
            Some(p) => agent_row(&link, p, i, len, on_call, now),
            None => html! {},
        });
        html! {
            <>
                {for help}
                <input type="search" class="search" aria-label={t("search")} placeholder={t("search")}
                    value={state.search.clone()} {oninput} />
                if !state.has_colleagues() {
                    <p class="empty">{t("no_colleagues")}</p>
                } else if len == 0 {
                    <p class="empty" role="status">{t1("no_matches", state.search.trim())}</p>
                }
                <VirtualList class="agents" {len} row_height={ROW_HEIGHT} {row} label={t("colleagues")} />
                {result_line(state.dialing.as_ref())}
            </>
        }
    }
}

pub fn contact_key(state: protocol::ContactState) -> &'static str {
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
