//! The caller-ID view: the caller IDs the agent may show (from the relay's directory; the CCP's
//! own queues until the relay has answered), a number field, Call, the answer in words, and the
//! outbound history with one-click redial through the same caller ID.

use protocol::CallOutcome;
use yew::html::Scope;
use yew::prelude::*;

use crate::app::result_line;
use crate::i18n::{t, t1};
use crate::state::{Effect, PanelState};
use crate::view::{Page, View, ViewProps};

pub enum Msg {
    PickQueue(String),
    Phone(String),
    Dial,
    /// Dial this number again through this queue.
    Redial(String, Option<String>),
    OlderCalls,
}

pub struct Caller;

impl View for Caller {
    type Msg = Msg;

    fn change(state: &mut PanelState, msg: Msg, _props: &ViewProps) -> Vec<Effect> {
        match msg {
            Msg::PickQueue(arn) => {
                crate::chrome::remember_caller_id(state.me(), &arn);
                state.pick_queue(arn);
                Vec::new()
            }
            Msg::Phone(phone) => {
                state.phone = phone;
                Vec::new()
            }
            Msg::Dial => state.dial(),
            Msg::Redial(number, queue) => state.redial(number, queue),
            Msg::OlderCalls => state.older_calls(),
        }
    }

    fn view(link: &Scope<Page<Self>>, state: &PanelState, props: &ViewProps) -> Html {
        let relay = state.worker.caller_ids.as_ref().filter(|c| !c.caller_ids.is_empty());
        let default = match (relay, &state.worker.ccp) {
            (Some(ids), _) => ids.default_queue_arn.clone(),
            (None, Some(agent)) => agent.default_queue.clone(),
            (None, None) => return html! { <p class="empty">{t("no_ccp")}</p> },
        };
        caller_form(link, state, default, props.now)
    }
}

fn caller_form(link: &Scope<Page<Caller>>, state: &PanelState, default: Option<String>, now: protocol::Millis) -> Html {
    let selected = state.queue.clone().or_else(|| default.clone());
    let label = |name: &str, number: Option<&str>, arn: &str| {
        let mut label = match number {
            Some(number) => format!("{name} · {number}"),
            None => name.to_owned(),
        };
        if default.as_deref() == Some(arn) {
            label = format!("{label} ({})", t("default_queue"));
        }
        label
    };
    let options: Vec<(String, String)> = match state.worker.caller_ids.as_ref().filter(|c| !c.caller_ids.is_empty()) {
        Some(ids) => ids
            .caller_ids
            .iter()
            .map(|c| (c.queue_arn.clone(), label(&c.queue_name, Some(&c.number), &c.queue_arn)))
            .collect(),
        None => state
            .worker
            .ccp
            .iter()
            .flat_map(|a| &a.queues)
            .map(|q| (q.arn.clone(), label(&q.name, None, &q.arn)))
            .collect(),
    };
    let options = options.into_iter().map(|(arn, text)| {
        html! { <option value={arn.clone()} selected={selected.as_deref() == Some(arn.as_str())}>{text}</option> }
    });
    let onchange =
        link.callback(|e: Event| Msg::PickQueue(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    let oninput =
        link.callback(|e: InputEvent| Msg::Phone(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
    let onsubmit = link.callback(|e: SubmitEvent| {
        e.prevent_default();
        Msg::Dial
    });
    html! {
        <>
            <form class="caller" {onsubmit}>
                <label for="caller-id">{t("caller_id")}</label>
                <select id="caller-id" {onchange}>{for options}</select>
                <label for="phone">{t("phone_number")}</label>
                <input id="phone" type="tel" inputmode="tel" autocomplete="off" placeholder="03-1234-5678"
                    value={state.phone.clone()} {oninput} />
                <button type="submit" class="primary call">{t("call")}</button>
                {result_line(state.dialing.as_ref())}
            </form>
            {history(link, state, now)}
        </>
    }
}

fn history(link: &Scope<Page<Caller>>, state: &PanelState, now: protocol::Millis) -> Html {
    let Some(calls) = state.calls() else { return html! {} };
    let rows = calls.iter().map(|call| {
        let outcome = match call.outcome {
            CallOutcome::Answered => "call_answered",
            CallOutcome::NotAnswered => "call_not_answered",
            CallOutcome::Failed => "call_failed",
            CallOutcome::InProgress => "call_in_progress",
        };
        let duration = call.duration_s.map(|s| format!(" · {}:{:02}", s / 60, s % 60)).unwrap_or_default();
        let via = call.caller_id.as_deref().map(|c| t1("call_via", &crate::format::clean_name(c))).unwrap_or_default();
        let redial = {
            let (number, queue) = (call.number.clone(), call.queue_arn.clone());
            link.callback(move |_| Msg::Redial(number.clone(), queue.clone()))
        };
        html! {
            <li class="call-row" key={call.contact_id.clone()}>
                <div class="call-main">
                    <span class="call-number">{&call.number}</span>
                    <span class="call-meta">{crate::chat::when(call.started_at, now)}{" · "}{via}</span>
                    <span class={classes!("call-outcome", outcome)}>{t(outcome)}{duration}</span>
                </div>
                <button type="button" class="redial" aria-label={t1("redial_label", &call.number)}
                    title={t1("redial_label", &call.number)} onclick={redial}>{t("redial")}</button>
            </li>
        }
    });
    let more = state.more_calls.map(|_| {
            html! { <button type="button" class="more" onclick={link.callback(|_| Msg::OlderCalls)}>{t("more_calls")}</button> }
        });
    html! {
        <section class="history" aria-labelledby="history-title">
            <h2 id="history-title">{t("call_history")}</h2>
            if calls.is_empty() {
                <p class="empty">{t("call_history_empty")}</p>
            } else {
                <ul class="calls" aria-labelledby="history-title">{for rows}</ul>
            }
            {for more}
        </section>
    }
}
