//! The status view: every colleague in scope, their state and time in it, search, chat and
//! transfer; a virtualised list (only the rows in view are in the DOM). A colleague known only
//! from Amazon Connect (no extension) has a mark, and the age of Connect's data while it is old.

use std::rc::Rc;

use protocol::Presence;
use yew::html::Scope;
use yew::prelude::*;

use crate::app::result_line;
use crate::format::{self, Age};
use crate::i18n::{state_name, t, t1};
use crate::state::{Effect, PanelState};
use crate::view::{Page, View, ViewProps};
use crate::virtual_list::VirtualList;

/// A roster row's height in px (`.agent` in panel.css is exactly this).
const ROW_HEIGHT: u32 = 52;

/// What a colleague's row shows in the status view and on the floor: the state dot, a mark for an
/// agent known only from Connect, the name, the state with its time (and the age of Connect's
/// data, `as_of`, while it is old), a warning when Connect routes to a CCP that is closed, the
/// contact with its own time, and Chat and Transfer (Transfer only while `on_call`, to someone
/// available with a Connect username whose CCP is open), then `more` actions. `state` is the
/// state in words with those marks, for the row's accessible name.
pub struct AgentCells {
    pub state: String,
    pub main: Html,
    pub actions: Html,
}

/// Everything a row needs besides the presence.
pub struct RowContext {
    /// This panel's CCP has a call that can be transferred.
    pub on_call: bool,
    pub now: protocol::Millis,
    /// When Connect's data was read, while it is old (see `PanelState::connect_as_of`).
    pub as_of: Option<protocol::Millis>,
    pub open: Callback<String>,
    pub transfer: Callback<String>,
}

/// The state in words: `Unknown` (Connect's data too old) by its kind, never a name to trust.
pub fn state_words(p: &Presence) -> String {
    if !p.online {
        t("state_Offline")
    } else if p.state.kind == protocol::StateKind::Unknown {
        t("state_Unknown")
    } else {
        state_name(&p.state.name)
    }
}

/// "as of 2 min ago": how old Connect's data is.
pub fn as_of_words(read_at: protocol::Millis, now: protocol::Millis) -> String {
    match format::age(read_at, now) {
        Age::Seconds(n) => t1("connect_as_of_seconds", &n.to_string()),
        Age::Minutes(n) => t1("connect_as_of_minutes", &n.to_string()),
    }
}

pub fn agent_cells(p: &Presence, cx: RowContext, more: Html) -> AgentCells {
    let RowContext { on_call, now, as_of, open, transfer } = cx;
    let class = format::state_class(p);
    let principal = p.principal.clone();
    let username = p.username.clone().unwrap_or_default();
    let can_transfer =
        on_call && p.online && p.state.kind == protocol::StateKind::Routable && !p.ccp_closed && !username.is_empty();
    let from_connect = p.source == protocol::Source::Connect;
    let age = as_of.filter(|_| from_connect).map(|at| as_of_words(at, now));
    let contact = p.contact.as_ref().map(|c| {
        html! {
            <span class="contact">{" · "}{t(&format!("contact_{}", contact_key(c.state)))}{" "}<time>{format::elapsed(c.since, now)}</time></span>
        }
    });
    let mut state = state_words(p);
    let words = state.clone();
    if p.ccp_closed {
        state = format!("{state}, {}", t("rule_ccp_closed"));
    }
    if from_connect {
        state = format!("{state}, {}", t("connect_source"));
    }
    if let Some(age) = &age {
        state = format!("{state}, {age}");
    }
    let mark = from_connect.then(|| {
        html! {
            <span class="connect-mark" title={t("connect_source")}>
                <span aria-hidden="true">{"C"}</span><span class="visually-hidden">{t("connect_source")}</span>
            </span>
        }
    });
    let main = html! {
        <>
            <span class={classes!("dot", class)} aria-hidden="true"></span>
            {mark}
            <div class="agent-main">
                <span class="agent-name" dir="auto" title={p.display_name.clone()}>{&p.display_name}</span>
                <span class={classes!("agent-state", class)} title={state.clone()}>
                    if p.ccp_closed {
                        <span class="ccp-closed"><span aria-hidden="true">{"⚠ "}</span>{t("ccp_closed_short")}{" · "}</span>
                    }
                    <bdi>{words}</bdi>
                    // How old Connect's data is matters more than the time in state: first.
                    if let Some(age) = age { <span class="connect-age">{" · "}{age}</span> }
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
            {more}
        </div>
    };
    AgentCells { state, main, actions }
}

/// One colleague: name, state and time in it, the contact, Chat and Transfer.
fn agent_row(p: &Presence, index: usize, len: usize, cx: RowContext) -> Html {
    let cells = agent_cells(p, cx, html! {});
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
        let colleagues: Vec<(Presence, Option<protocol::Millis>)> =
            state.colleagues().into_iter().map(|p| (p.clone(), state.connect_as_of(p))).collect();
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
            Some((p, as_of)) => {
                let cx = RowContext {
                    on_call,
                    now,
                    as_of: *as_of,
                    open: link.callback(Msg::Open),
                    transfer: link.callback(Msg::Transfer),
                };
                agent_row(p, i, len, cx)
            }
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
