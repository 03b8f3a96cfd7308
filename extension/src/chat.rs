//! The chat view: conversations with unread counts, one conversation's history with paging, and
//! the message box (Enter sends, Shift+Enter breaks the line, IME confirmation does neither; a
//! counter near the relay's limit, and no sending over it), day separators, and messages the
//! worker gave up on, with the reason and Edit / Discard. User text is isolated (`dir="auto"`)
//! and shows bidi controls instead of obeying them.

use yew::html::Scope;
use yew::prelude::*;

use crate::format::{self, EnterKey};
use crate::i18n::{t, t1, tn};
use crate::state::{Effect, Item, PanelState};
use crate::view::{Page, View, ViewProps};

pub enum Msg {
    Open(String),
    /// Back to the list of conversations.
    Close,
    Draft(String),
    Send,
    /// A failed message back into the composer (and forgotten by the worker).
    Edit(String),
    /// A failed message forgotten.
    Discard(String),
    Older,
    Help(crate::help::Msg),
}

pub struct Chat;

impl View for Chat {
    type Msg = Msg;

    fn change(state: &mut PanelState, msg: Msg, props: &ViewProps) -> Vec<Effect> {
        match msg {
            Msg::Open(peer) => state.open(peer),
            Msg::Close => {
                state.close();
                Vec::new()
            }
            Msg::Draft(text) => {
                state.draft = text;
                Vec::new()
            }
            Msg::Send => {
                let stamp = format!("{:x}-{:x}", props.now, (js_sys::Math::random() * 4_294_967_295.0) as u64);
                state.send(&stamp)
            }
            Msg::Edit(client_id) => state.edit(client_id),
            Msg::Discard(client_id) => state.discard(client_id),
            Msg::Older => state.older(),
            Msg::Help(msg) => crate::help::change(state, msg),
        }
    }

    fn view(link: &Scope<Page<Self>>, state: &PanelState, props: &ViewProps) -> Html {
        match state.open.as_deref() {
            Some(peer) => conversation_view(link, state, peer, props.now),
            None => conversation_list(link, state),
        }
    }
}

fn conversation_list(link: &Scope<Page<Chat>>, state: &PanelState) -> Html {
    let conversations = state.conversations();
    let rows = conversations.iter().map(|c| {
            let name = state.display_name(&c.peer);
            let peer = c.peer.clone();
            let preview = c.last.as_ref().map(|m| m.text.lines().next().unwrap_or_default().chars().take(80).collect::<String>());
            let failed = state.failed_to(&c.peer);
            let mut label = name.clone();
            if c.unread > 0 {
                label = format!("{label}, {}", t1("unread_count", &c.unread.to_string()));
            }
            let not_sent = (failed > 0).then(|| t1("not_sent_count", &failed.to_string()));
            if let Some(not_sent) = &not_sent {
                label = format!("{label}, {not_sent}");
            }
            html! {
                <li key={c.peer.clone()}>
                    <button class="conversation" aria-label={label} onclick={link.callback(move |_| Msg::Open(peer.clone()))}>
                        <span class="conv-name" dir="auto" title={name.clone()}>{name}</span>
                        if c.unread > 0 { <span class="badge">{c.unread}</span> }
                        if let Some(not_sent) = not_sent { <span class="not-sent">{not_sent}</span> }
                        <span class="preview" dir="auto">{format::reveal_controls(&preview.unwrap_or_default()).into_owned()}</span>
                    </button>
                </li>
            }
        });
    html! {
        <>
            if conversations.is_empty() {
                <p class="empty">{t("no_conversations")}</p>
            }
            <ul class="conversations" aria-label={t("conversations")}>{for rows}</ul>
        </>
    }
}

fn conversation_view(link: &Scope<Page<Chat>>, state: &PanelState, peer: &str, now: protocol::Millis) -> Html {
    let me = state.me();
    let name = state.display_name(peer);
    let presence = state.presence(peer).map(|p| {
        let class = format::state_class(p);
        html! { <span class={classes!("pill", class)}><bdi>{crate::i18n::state_name(&p.state.name)}</bdi></span> }
    });
    let items = state.items(peer, now);
    let days: Vec<format::Day> = items.iter().map(|i| day(i.at())).collect();
    let marks = format::day_marks(&days, day(now));
    let rows = items.iter().zip(marks).map(|(item, mark)| {
            let separator = mark.separator.then(|| {
                html! {
                    <li class="day-separator" key={format!("day-{}", item.at())}>
                        <time>{day_label(item.at())}</time>
                    </li>
                }
            });
            let title = mark.dated.then(|| full_date(item.at()));
            let row = match item {
                Item::Stored(m) => html! {
                    <li key={m.seq} class={classes!("message", (m.from == me).then_some("mine"))} title={title}>
                        <span class="text" dir="auto">{format::reveal_controls(&m.text).into_owned()}</span>
                        <time class="at">{clock(m.sent_at)}</time>
                    </li>
                },
                Item::Pending(id, text, _) => html! {
                    <li key={id.to_string()} class="message mine pending">
                        <span class="text" dir="auto">{format::reveal_controls(text).into_owned()}</span>
                        <span class="at">{t("sending")}</span>
                    </li>
                },
                Item::Failed(f) => {
                    let (edit, discard) = (f.entry.client_id.clone(), f.entry.client_id.clone());
                    html! {
                        <li key={f.entry.client_id.clone()} class="message mine failed" title={title}>
                            <span class="text" dir="auto">{format::reveal_controls(&f.entry.text).into_owned()}</span>
                            <span class="failure">{t(&format!("error_{}", f.code.as_str()))}</span>
                            <span class="failed-actions">
                                <button class="link" onclick={link.callback(move |_| Msg::Edit(edit.clone()))}>{t("failed_edit")}</button>
                                <button class="link" onclick={link.callback(move |_| Msg::Discard(discard.clone()))}>{t("failed_discard")}</button>
                            </span>
                        </li>
                    }
                }
            };
            html! { <>{for separator}{row}</> }
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
    let oninput =
        link.callback(|e: InputEvent| Msg::Draft(e.target_unchecked_into::<web_sys::HtmlTextAreaElement>().value()));
    let length = format::length(&state.draft, state.max_text_chars());
    let counted = [format::grouped(length.chars), format::grouped(length.max)];
    let counter = if length.over {
        let over = format::grouped(length.chars - length.max);
        html! {
            <p id="compose-length" class="counter over" role="alert">
                {tn("text_too_long", &[&counted[0], &counted[1], &over])}
            </p>
        }
    } else if length.near {
        html! { <p id="compose-length" class="counter">{tn("text_length", &[&counted[0], &counted[1]])}</p> }
    } else {
        html! {}
    };
    html! {
        <div class="conversation-view">
            <div class="conv-head">
                <button class="icon" aria-label={t("back")} onclick={link.callback(|_| Msg::Close)}>{"‹"}</button>
                <h2 class="conv-title" dir="auto" title={name.clone()}>{name.clone()}</h2>
                {presence}
            </div>
            {crate::help::chat_context(state, &link.callback(Msg::Help))}
            if state.more {
                <button class="link older" onclick={link.callback(|_| Msg::Older)}>{t("older")}</button>
            }
            if let Some(code) = state.refused_for(peer) {
                <p class="result error refused" role="alert">{t(&format!("error_{}", code.as_str()))}</p>
            }
            <ol class="messages" aria-label={t1("conversation_with", &name)} aria-live="polite">
                {for rows}
            </ol>
            {counter}
            <div class="compose">
                <textarea aria-label={t1("message_to", &name)} placeholder={t("message_placeholder")} rows="2"
                    aria-describedby={(length.near || length.over).then_some("compose-length")}
                    aria-invalid={length.over.then_some("true")}
                    value={state.draft.clone()} {oninput} {onkeydown} />
                <button class="primary" aria-label={t("send")} disabled={length.over}
                    onclick={link.callback(|_| Msg::Send)}>{t("send")}</button>
            </div>
        </div>
    }
}

fn date(at: protocol::Millis) -> js_sys::Date {
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64))
}

/// The calendar day of `at` in the browser's time zone.
pub fn day(at: protocol::Millis) -> format::Day {
    let d = date(at);
    (d.get_full_year() as i32, d.get_month() + 1, d.get_date())
}

fn options(json: &str) -> wasm_bindgen::JsValue {
    js_sys::JSON::parse(json).unwrap_or_default()
}

/// A day separator's text in the agent's language: 2023/8/4(金), Fri, Aug 4, 2023.
pub fn day_label(at: protocol::Millis) -> String {
    let language = crate::i18n::language();
    let month = if language.starts_with("ja") { "numeric" } else { "short" };
    let options = options(&format!(r#"{{"weekday":"short","year":"numeric","month":"{month}","day":"numeric"}}"#));
    date(at).to_locale_date_string(&language, &options).into()
}

/// The date and time of `at` in full, for a tooltip.
pub fn full_date(at: protocol::Millis) -> String {
    let options = options(r#"{"dateStyle":"full","timeStyle":"short"}"#);
    date(at).to_locale_string(&crate::i18n::language(), &options).into()
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
