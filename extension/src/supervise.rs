//! A supervisor's actions through Amazon Connect, on screen: Listen in, Barge in (while the agent
//! is on a contact) and Set status… on an agent's floor row, and the line that says how the last
//! one went ("Listening — your CCP has the monitoring contact", or why not, in words). The floor
//! and the help list hand their [`Msg`] to [`change`].

use protocol::{ErrorCode, Presence};
use yew::prelude::*;

use crate::i18n::{t, t1};
use crate::state::{Effect, PanelState, SuperviseAsk, SuperviseOutcome};

pub enum Msg {
    /// Listen in (`false`) or barge in (`true`) on this agent's contact.
    Monitor(String, bool),
    /// Set this agent's status to the status with this id (`""`: the placeholder, nothing).
    SetStatus(String, String),
    /// Close the outcome line.
    Dismiss,
}

pub fn change(state: &mut PanelState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Monitor(agent, barge) => state.monitor(agent, barge),
        Msg::SetStatus(_, status) if status.is_empty() => Vec::new(),
        Msg::SetStatus(agent, status) => state.set_agent_status(agent, status),
        Msg::Dismiss => {
            state.dismiss_supervising();
            Vec::new()
        }
    }
}

/// The actions on an agent's floor row (none on the supervisor's own).
pub fn row_actions(state: &PanelState, p: &Presence, on: &Callback<Msg>) -> Html {
    if !state.supervisor() || p.principal == state.me() {
        return html! {};
    }
    let busy = state.supervise_pending();
    let name = &p.display_name;
    let on_contact = matches!(::floor::Category::of(p), ::floor::Category::OnContact(_));
    let (listen, barge) = (p.principal.clone(), p.principal.clone());
    let statuses = state.connect_statuses();
    // Why the status cannot be set, when it cannot.
    let no_status = if !state.reads_connect() {
        Some(t("supervise_no_connect"))
    } else if statuses.is_empty() {
        Some(t("supervise_no_statuses"))
    } else {
        None
    };
    let agent = p.principal.clone();
    let onchange = on.reform(move |e: Event| {
        let select = e.target_unchecked_into::<web_sys::HtmlSelectElement>();
        let status = select.value();
        // Back to the placeholder: the choice is made, the menu is ready for the next.
        select.set_value("");
        Msg::SetStatus(agent.clone(), status)
    });
    let label = t1("supervise_status_label", name);
    let options = statuses.iter().map(|s| html! { <option value={s.id.clone()}>{s.name.clone()}</option> });
    html! {
        <>
            <button type="button" class="icon" aria-label={t1("supervise_listen_label", name)}
                title={t1("supervise_listen_label", name)} disabled={busy}
                onclick={on.reform(move |_| Msg::Monitor(listen.clone(), false))}>{icon_listen()}</button>
            if on_contact {
                <button type="button" class="icon" aria-label={t1("supervise_barge_label", name)}
                    title={t1("supervise_barge_label", name)} disabled={busy}
                    onclick={on.reform(move |_| Msg::Monitor(barge.clone(), true))}>{icon_barge()}</button>
            }
            <select class="icon status-pick" aria-label={label.clone()}
                title={no_status.clone().unwrap_or(label)} disabled={busy || no_status.is_some()} {onchange}>
                <option value="" selected=true>{t("supervise_set_status")}</option>
                {for options}
            </select>
            if let Some(reason) = no_status {
                <span class="visually-hidden">{reason}</span>
            }
        </>
    }
}

/// How the last request went, under the floor's tools: on its way, done, or why not.
pub fn outcome(state: &PanelState, on: &Callback<Msg>) -> Html {
    let Some(s) = &state.supervising else { return html! {} };
    let name = state.display_name(&s.agent);
    let (text, detail, error) = match &s.outcome {
        SuperviseOutcome::Pending => (t("supervise_pending"), None, false),
        SuperviseOutcome::Listening { barge: false } => (t("supervise_listening"), None, false),
        SuperviseOutcome::Listening { barge: true } => (t("supervise_barging"), None, false),
        SuperviseOutcome::StatusSet => {
            let status = match &s.ask {
                SuperviseAsk::Status(status) => status.as_str(),
                _ => "",
            };
            (t1("supervise_status_set", status), None, false)
        }
        SuperviseOutcome::Refused { code, detail } => {
            let detail = (*code == ErrorCode::ConnectFailed && !detail.is_empty()).then(|| detail.clone());
            (refusal(*code), detail, true)
        }
    };
    let what = match &s.ask {
        SuperviseAsk::Listen => t("supervise_listen"),
        SuperviseAsk::Barge => t("supervise_barge"),
        SuperviseAsk::Status(_) => t("supervise_status"),
    };
    html! {
        <div class={classes!("supervise-result", error.then_some("error"), s.pending().then_some("pending"))}
            role={if error { "alert" } else { "status" }}>
            <span class="supervise-text">
                <bdi class="alert-name">{name}</bdi>{" · "}{what}{": "}{text}
                if let Some(detail) = detail {
                    {" "}<span class="supervise-detail" dir="auto">{format!("({detail})")}</span>
                }
            </span>
            if !s.pending() {
                <button type="button" class="link" onclick={on.reform(|_| Msg::Dismiss)}>{t("floor_dismiss")}</button>
            }
        </div>
    }
}

/// A refusal in words, for what a supervisor asked of Connect.
fn refusal(code: ErrorCode) -> String {
    match code {
        ErrorCode::Forbidden => t("supervise_error_forbidden"),
        ErrorCode::NotConfigured => t("supervise_error_not_configured"),
        ErrorCode::NoContact => t("supervise_error_no_contact"),
        ErrorCode::ConnectFailed => t("supervise_error_connect_failed"),
        ErrorCode::NotFound => t("supervise_error_not_found"),
        ErrorCode::Unavailable | ErrorCode::Internal => t("supervise_error_unavailable"),
        ErrorCode::RateLimited => t("supervise_error_rate_limited"),
        _ => t("supervise_error_other"),
    }
}

fn icon_listen() -> Html {
    html! {
        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path d="M3 10V8a5 5 0 0 1 10 0v2M3 10h2v4H3zM11 10h2v4h-2z" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />
        </svg>
    }
}

fn icon_barge() -> Html {
    html! {
        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path d="M5 2h6v4a3 3 0 0 1-6 0zM8 9v3M5 14h6M13 4l2-1M13 7l2 1" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" />
        </svg>
    }
}
