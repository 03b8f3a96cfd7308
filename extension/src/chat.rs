//! The chat view: conversations with unread counts, one conversation's history with paging, and
//! the message box (Enter sends, Shift+Enter breaks the line, IME confirmation does neither).

use yew::prelude::*;

use crate::app::{App, Msg};
use crate::format::{self, EnterKey};
use crate::i18n::{t, t1};

impl App {
    pub fn chat_view(&self, ctx: &Context<Self>) -> Html {
        match &self.open {
            Some(peer) => self.conversation_view(ctx, peer),
            None => self.conversation_list(ctx),
        }
    }

    fn conversation_list(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let mut conversations = self.state.conversations.clone();
        conversations.sort_by(|a, b| b.last.as_ref().map(|m| m.sent_at).cmp(&a.last.as_ref().map(|m| m.sent_at)));
        let rows = conversations.into_iter().map(|c| {
            let name = self.display_name(&c.peer);
            let peer = c.peer.clone();
            let preview = c.last.as_ref().map(|m| m.text.lines().next().unwrap_or_default().chars().take(80).collect::<String>());
            let label = if c.unread > 0 { format!("{name}, {}", t1("unread_count", &c.unread.to_string())) } else { name.clone() };
            html! {
                <li key={c.peer.clone()}>
                    <button class="conversation" aria-label={label} onclick={link.callback(move |_| Msg::Open(peer.clone()))}>
                        <span class="conv-name">{name}</span>
                        if c.unread > 0 { <span class="badge">{c.unread}</span> }
                        <span class="preview">{preview.unwrap_or_default()}</span>
                    </button>
                </li>
            }
        });
        html! {
            <>
                if self.state.conversations.is_empty() {
                    <p class="empty">{t("no_conversations")}</p>
                }
                <ul class="conversations" aria-label={t("conversations")}>{for rows}</ul>
            </>
        }
    }

    fn conversation_view(&self, ctx: &Context<Self>, peer: &str) -> Html {
        let link = ctx.link();
        let me = self.me();
        let name = self.display_name(peer);
        let state = self.state.roster.iter().find(|p| p.principal == peer).map(|p| {
            let class = format::state_class(p);
            html! { <span class={classes!("pill", class)}>{crate::i18n::state_name(&p.state.name)}</span> }
        });
        let messages = self.messages.values().map(|m| {
            let mine = m.from == me;
            html! {
                <li key={m.seq} class={classes!("message", mine.then_some("mine"))}>
                    <span class="text">{&m.text}</span>
                    <time class="at">{clock(m.sent_at)}</time>
                </li>
            }
        });
        let pending = self
            .state
            .outbox
            .iter()
            .filter(|e| e.to == peer)
            .map(|e| (e.client_id.clone(), e.text.clone()))
            .chain(
                self.unconfirmed
                    .iter()
                    .filter(|u| u.to == peer && !self.state.outbox.iter().any(|e| e.client_id == u.client_id))
                    .map(|u| (u.client_id.clone(), u.text.clone())),
            )
            .map(|(id, text)| {
                html! {
                    <li key={id} class="message mine pending">
                        <span class="text">{text}</span><span class="at">{t("sending")}</span>
                    </li>
                }
            });
        let onkeydown = link.batch_callback(|e: KeyboardEvent| {
            match format::enter_key(&e.key(), e.shift_key(), e.is_composing(), e.key_code()) {
                EnterKey::Send => {
                    e.prevent_default();
                    Some(Msg::Send)
                }
                EnterKey::Default => None,
            }
        });
        let oninput = link
            .callback(|e: InputEvent| Msg::Draft(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()));
        html! {
            <div class="conversation-view">
                <div class="conv-head">
                    <button class="icon" aria-label={t("back")} onclick={link.callback(|_| Msg::Close)}>{"‹"}</button>
                    <h2 class="conv-title">{name.clone()}</h2>
                    {state}
                </div>
                if self.more {
                    <button class="link older" onclick={link.callback(|_| Msg::Older)}>{t("older")}</button>
                }
                <ol class="messages" aria-label={t1("conversation_with", &name)} aria-live="polite">
                    {for messages}{for pending}
                </ol>
                <div class="compose">
                    <textarea aria-label={t1("message_to", &name)} placeholder={t("message_placeholder")} rows="2"
                        value={self.draft.clone()} {oninput} {onkeydown} />
                    <button class="primary" aria-label={t("send")} onclick={link.callback(|_| Msg::Send)}>{t("send")}</button>
                </div>
            </div>
        }
    }
}

pub fn clock(at: protocol::Millis) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    format!("{}:{:02}", date.get_hours(), date.get_minutes())
}

/// The local time of `at`, with the month and day when it was not today.
pub fn when(at: protocol::Millis, now: protocol::Millis) -> String {
    let (date, today) = (js_sys::Date::new(&(at as f64).into()), js_sys::Date::new(&(now as f64).into()));
    if date.to_date_string() == today.to_date_string() {
        clock(at)
    } else {
        format!("{}/{} {}", date.get_month() + 1, date.get_date(), clock(at))
    }
}
