//! The options page: relay URL and sign-in settings, saved to `chrome.storage.local`. When IT set
//! them by policy the page shows the managed values, read-only.

use protocol::config::{Config, OPTIONS_KEY, Settings};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::chrome;
use crate::i18n::t;

pub enum Msg {
    Loaded(Settings, bool),
    Edit(&'static str, String),
    Save,
    Saved(bool),
}

pub struct Options {
    settings: Settings,
    managed: bool,
    saved: Option<bool>,
}

async fn read(promise: Result<js_sys::Promise, JsValue>, key: Option<&str>) -> Settings {
    let Ok(promise) = promise else { return Settings::default() };
    let Ok(items) = JsFuture::from(promise).await else { return Settings::default() };
    let value = match key {
        Some(key) => js_sys::Reflect::get(&items, &key.into()).unwrap_or(JsValue::UNDEFINED),
        None => items,
    };
    js_sys::JSON::stringify(&value).ok().and_then(|t| serde_json::from_str(&String::from(t)).ok()).unwrap_or_default()
}

impl Component for Options {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        ctx.link().send_future(async {
            let managed = read(chrome::managed_get(&JsValue::NULL), None).await;
            let options = read(chrome::local_get(&OPTIONS_KEY.into()), Some(OPTIONS_KEY)).await;
            let is_managed = Config::merge(&managed, &Settings::default()).managed;
            Msg::Loaded(if is_managed { managed } else { options }, is_managed)
        });
        Self { settings: Settings::default(), managed: false, saved: None }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::Loaded(settings, managed) => {
                self.settings = settings;
                self.managed = managed;
            }
            Msg::Edit(field, value) => {
                let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
                match field {
                    "relay_url" => self.settings.relay_url = value,
                    "issuer" => self.settings.issuer = value,
                    "client_id" => self.settings.client_id = value,
                    _ => self.settings.login_hint = value,
                }
                self.saved = None;
            }
            Msg::Save => {
                let settings = self.settings.clone();
                ctx.link().send_future(async move {
                    let value = serde_json::to_string(&settings).ok().and_then(|t| js_sys::JSON::parse(&t).ok());
                    let Some(value) = value else { return Msg::Saved(false) };
                    let items = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&items, &OPTIONS_KEY.into(), &value);
                    let saved = match chrome::local_set(&items) {
                        Ok(p) => JsFuture::from(p).await.is_ok(),
                        Err(_) => false,
                    };
                    Msg::Saved(saved)
                });
            }
            Msg::Saved(ok) => self.saved = Some(ok),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let field = |name: &'static str, label: &str, value: &Option<String>, placeholder: &str| {
            let oninput = ctx.link().callback(move |e: InputEvent| {
                Msg::Edit(name, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
            });
            html! {
                <>
                    <label for={name}>{label}</label>
                    <input id={name} value={value.clone().unwrap_or_default()} placeholder={placeholder.to_owned()}
                        readonly={self.managed} {oninput} />
                </>
            }
        };
        let onsubmit = ctx.link().callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Save
        });
        html! {
            <form class="options" {onsubmit}>
                <h1>{t("options_title")}</h1>
                if self.managed { <p role="note">{t("options_managed")}</p> }
                {field("relay_url", &t("options_relay"), &self.settings.relay_url, Config::DEFAULT_RELAY)}
                {field("issuer", &t("options_issuer"), &self.settings.issuer, Config::DEFAULT_ISSUER)}
                {field("client_id", &t("options_client"), &self.settings.client_id, Config::DEFAULT_CLIENT)}
                {field("login_hint", &t("options_login_hint"), &self.settings.login_hint, "")}
                if !self.managed { <button type="submit" class="primary">{t("options_save")}</button> }
                if self.saved == Some(true) { <p role="status">{t("options_saved")}</p> }
            </form>
        }
    }
}
