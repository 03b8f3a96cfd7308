//! The caller-ID view: the outbound queues (each with its caller ID) the agent may use, a number
//! field, Call, and the CCP's answer in words.

use yew::prelude::*;

use crate::app::{App, Msg};
use crate::i18n::t;

impl App {
    pub fn caller_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(agent) = &self.state.ccp else {
            return html! { <p class="empty">{t("no_ccp")}</p> };
        };
        let selected = self.queue.clone().or_else(|| agent.default_queue.clone());
        let options = agent.queues.iter().map(|q| {
            let default = agent.default_queue.as_deref() == Some(q.arn.as_str());
            let label = if default { format!("{} ({})", q.name, t("default_queue")) } else { q.name.clone() };
            html! { <option value={q.arn.clone()} selected={selected.as_deref() == Some(q.arn.as_str())}>{label}</option> }
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
            <form class="caller" {onsubmit}>
                <label for="caller-id">{t("caller_id")}</label>
                <select id="caller-id" {onchange}>{for options}</select>
                <label for="phone">{t("phone_number")}</label>
                <input id="phone" type="tel" inputmode="tel" autocomplete="off" placeholder="+81 3-1234-5678"
                    value={self.phone.clone()} {oninput} />
                <button type="submit" class="primary call">{t("call")}</button>
                {self.result_line()}
            </form>
        }
    }
}
