//! Help requests on screen: the agent's card in the status view ("Ask for help", the form with a
//! reason and a short note, the request waiting with who was told, "Taro is on it"), the
//! supervisor's list above the floor's alerts (take, close, listen in on the agent, who is helping
//! whom, the agent's contact) with the day's figures per team, and the request shown above the
//! chat a take opened.
//! Each view that shows a part hands its [`Msg`] to [`change`].

use protocol::{ErrorCode, HelpRequest, HelpStatus, Millis};
use yew::prelude::*;

use crate::format;
use crate::i18n::{t, t1, tn};
use crate::state::{AgentHelp, Effect, PanelState};

/// What is done with help requests, in whichever view.
pub enum Msg {
    /// Open or close the agent's form.
    Form(bool),
    Reason(String),
    Note(String),
    Ask,
    Cancel(u64),
    Take(u64),
    Close(u64),
    /// Chat with the agent of a request.
    Chat(String),
    /// Listen in on the contact of the agent of a request the supervisor took.
    Listen(String),
}

pub fn change(state: &mut PanelState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Form(open) => state.show_help_form(open),
        Msg::Reason(reason) => state.help_reason(reason),
        Msg::Note(note) => state.help_note(note),
        Msg::Ask => return state.ask_help(),
        Msg::Cancel(id) => return state.cancel_help(id),
        Msg::Take(id) => return state.take_help(id),
        Msg::Close(id) => return state.close_help(id),
        Msg::Chat(agent) => return state.open(agent),
        Msg::Listen(agent) => return state.monitor(agent, false),
    }
    Vec::new()
}

/// A reason in words: the default reasons translated, a policy's own as written.
pub fn reason_label(reason: &str) -> String {
    if protocol::help::DEFAULT_HELP_REASONS.contains(&reason) {
        t(&format!("help_reason_{reason}"))
    } else {
        reason.to_owned()
    }
}

fn refused(code: Option<ErrorCode>) -> Html {
    match code {
        Some(code) => html! { <p class="result error" role="alert">{t(&format!("error_{}", code.as_str()))}</p> },
        None => html! {},
    }
}

/// The agent's card: the button, the form, or their request.
pub fn agent_card(state: &PanelState, now: Millis, on: &Callback<Msg>) -> Html {
    let online = state.worker.connection == protocol::panel::Connection::Online;
    let body = match state.agent_help() {
        AgentHelp::Idle => html! {
            <button type="button" class="help-ask" disabled={!online} onclick={on.reform(|_| Msg::Form(true))}>
                <span aria-hidden="true">{"✋ "}</span>{t("help_ask")}
            </button>
        },
        AgentHelp::Form(form) => {
            let reasons = state.help_reasons();
            let options = reasons.iter().map(|r| {
                html! { <option value={r.clone()} selected={*r == form.reason}>{reason_label(r)}</option> }
            });
            let chars = form.note.chars().count();
            let max = protocol::help::MAX_NOTE_CHARS;
            let onsubmit = on.reform(|e: SubmitEvent| {
                e.prevent_default();
                Msg::Ask
            });
            html! {
                <form class="help-form" aria-label={t("help_ask")} {onsubmit}>
                    <label class="help-field">{t("help_reason")}
                        <select onchange={on.reform(|e: Event| Msg::Reason(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()))}>
                            {for options}
                        </select>
                    </label>
                    <label class="help-field">{t("help_note")}
                        <textarea rows="2" maxlength={max.to_string()} placeholder={t("help_note_placeholder")}
                            value={form.note.clone()}
                            oninput={on.reform(|e: InputEvent| Msg::Note(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()))} />
                    </label>
                    if chars * 5 >= max * 4 {
                        <p class="counter">{tn("text_length", &[&format::grouped(chars), &format::grouped(max)])}</p>
                    }
                    <div class="help-buttons">
                        <button type="submit" class="primary" disabled={!online}>{t("help_send")}</button>
                        <button type="button" class="link" onclick={on.reform(|_| Msg::Form(false))}>{t("help_form_cancel")}</button>
                    </div>
                </form>
            }
        }
        AgentHelp::Asking => html! { <p class="help-status" role="status">{t("help_asking")}</p> },
        AgentHelp::Open(r, reach) => {
            let id = r.id;
            let told = match reach {
                Some(0) => html! { <p class="help-note warn" role="status">{t("help_nobody")}</p> },
                Some(n) => html! { <p class="help-note">{t1("help_told", &n.to_string())}</p> },
                None => html! {},
            };
            html! {
                <>
                    <p class="help-status" role="status">
                        {t1("help_waiting", &reason_label(&r.reason))}{" · "}<time>{format::elapsed(r.asked_at, now)}</time>
                    </p>
                    {told}
                    <button type="button" class="link" onclick={on.reform(move |_| Msg::Cancel(id))}>{t("help_cancel")}</button>
                </>
            }
        }
        AgentHelp::Taken(r) => {
            let name = r.taken_by_name.clone().or_else(|| r.taken_by.clone()).unwrap_or_default();
            html! { <p class="help-status taken" role="status"><bdi>{t1("help_on_it", &name)}</bdi></p> }
        }
    };
    html! {
        <section class="help-card" aria-label={t("help")}>
            {body}
            {refused(state.help_refused)}
        </section>
    }
}

/// A supervisor's requests, open first (the longest waiting on top), then those being helped.
pub fn floor_requests(state: &PanelState, now: Millis, on: &Callback<Msg>) -> Html {
    let requests = state.floor_help();
    let me = state.me();
    let open = requests.iter().filter(|r| r.status == HelpStatus::Open).count();
    let busy = state.supervise_pending();
    let item = |r: &&HelpRequest| {
        let (id, agent, listen) = (r.id, r.agent.clone(), r.agent.clone());
        let contact = state.presence(&r.agent).and_then(|p| p.contact.as_ref()).map(|c| {
            html! { <span class="help-contact">{" · "}{t(&format!("contact_{}", crate::status::contact_key(c.state)))}</span> }
        });
        let action = match (r.status, r.taken_by.as_deref()) {
            (HelpStatus::Open, _) => html! {
                <button type="button" class="primary small" aria-label={t1("help_take_label", &r.display_name)}
                    onclick={on.reform(move |_| Msg::Take(id))}>{t("help_take")}</button>
            },
            (_, Some(taker)) if taker == me => html! {
                <>
                    <button type="button" class="link" aria-label={t1("floor_alert_chat", &r.display_name)}
                        onclick={on.reform(move |_| Msg::Chat(agent.clone()))}>{t("floor_open_chat")}</button>
                    <button type="button" class="link" aria-label={t1("supervise_listen_label", &r.display_name)}
                        disabled={busy} onclick={on.reform(move |_| Msg::Listen(listen.clone()))}>{t("supervise_listen")}</button>
                    <button type="button" class="link" aria-label={t1("help_close_label", &r.display_name)}
                        onclick={on.reform(move |_| Msg::Close(id))}>{t("help_close")}</button>
                </>
            },
            _ => html! {
                <span class="help-taker"><bdi>{t1("help_on_it", r.taken_by_name.as_deref().unwrap_or_default())}</bdi></span>
            },
        };
        let waited = match r.taken_at {
            Some(at) => t1("help_waited", &format::elapsed(r.asked_at, at)),
            None => format::elapsed(r.asked_at, now),
        };
        html! {
            <li class={classes!("help-request", (r.status == HelpStatus::Open).then_some("open"))} key={r.id.to_string()}>
                <span class="help-text">
                    <bdi class="alert-name">{r.display_name.clone()}</bdi>{" · "}{reason_label(&r.reason)}{" · "}<time>{waited}</time>{contact}
                    if !r.note.is_empty() {
                        <span class="help-note-text" dir="auto">{format::reveal_controls(&r.note).into_owned()}</span>
                    }
                </span>
                {action}
            </li>
        }
    };
    html! {
        <section class="floor-help" aria-label={t1("help_requests_count", &open.to_string())}>
            <h2>{t("help_requests")}{" "}<span class={classes!("badge", (open == 0).then_some("quiet"))}>{open}</span></h2>
            if requests.is_empty() {
                <p class="empty">{t("help_none")}</p>
            } else {
                <ul>{for requests.iter().map(item)}</ul>
            }
            {refused(state.help_refused)}
            {day_figures(state)}
        </section>
    }
}

/// "Today: 5 requests · longest wait 2:10", and per team the count, median and longest wait.
fn day_figures(state: &PanelState) -> Html {
    let figures = state.day_figures();
    let total = state.day_total();
    let wait = |ms: Option<Millis>| ms.map(|ms| format::elapsed(0, ms)).unwrap_or_else(|| "–".into());
    let rows = figures.iter().filter(|s| s.asked > 0).map(|s| {
        html! {
            <tr key={s.roster.clone()}>
                <th scope="row"><bdi>{s.roster.clone()}</bdi></th>
                <td>{s.asked}</td>
                <td>{wait(s.median_wait_ms)}</td>
                <td>{wait(s.longest_wait_ms)}</td>
            </tr>
        }
    });
    html! {
        <details class="help-day">
            <summary>{tn("help_today", &[&total.asked.to_string(), &wait(total.longest_wait_ms)])}</summary>
            if total.asked > 0 {
                <table>
                    <thead><tr>
                        <th scope="col">{t("help_team")}</th><th scope="col">{t("help_asked")}</th>
                        <th scope="col">{t("help_median_wait")}</th><th scope="col">{t("help_longest_wait")}</th>
                    </tr></thead>
                    <tbody>{for rows}</tbody>
                </table>
            }
        </details>
    }
}

/// Above a chat a take opened: the request, its note, and Close.
pub fn chat_context(state: &PanelState, on: &Callback<Msg>) -> Html {
    let Some(r) = state.chat_help() else { return html! {} };
    let id = r.id;
    html! {
        <div class="help-context" role="note">
            <span class="help-text">
                {t1("help_context", &reason_label(&r.reason))}
                if !r.note.is_empty() {
                    {" · "}<span dir="auto">{format::reveal_controls(&r.note).into_owned()}</span>
                }
            </span>
            <button type="button" class="link" aria-label={t1("help_close_label", &r.display_name)}
                onclick={on.reform(move |_| Msg::Close(id))}>{t("help_close_request")}</button>
        </div>
    }
}

/// On an agent's floor row: who is helping them, or that they are waiting.
pub fn row_mark(state: &PanelState, agent: &str) -> Html {
    match state.help_of(agent) {
        Some(r) if r.status == HelpStatus::Open => html! {
            <span class="help-mark open" title={t("help_row_waiting")}><span aria-hidden="true">{"✋"}</span>
                <span class="visually-hidden">{t("help_row_waiting")}</span></span>
        },
        Some(r) => {
            let text = t1("help_on_it", r.taken_by_name.as_deref().unwrap_or_default());
            html! { <span class="help-mark taken" title={text.clone()}><bdi>{text}</bdi></span> }
        }
        None => html! {},
    }
}
