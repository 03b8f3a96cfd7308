//! The options page: relay URL and sign-in settings, and a supervisor's alert thresholds (per
//! rule, and per not-routable state by name), saved to `chrome.storage.local`. Each field that
//! IT set by policy shows the managed value, read-only, "set by your organisation"; the others
//! stay editable. The worker and open panels read the new thresholds from storage as soon as
//! they are saved; only a change of the relay settings signs in again. The UI language is
//! chosen here too (the browser's, English or 日本語); the teams of a supervisor's floor only by
//! policy, shown here when set.

use ::floor::thresholds::defaults;
use protocol::alerts::{AlertSettings, Minutes};
use protocol::config::{Config, OPTIONS_KEY, Settings};
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::chrome;
use crate::format::{minutes_text, parse_minutes};
use crate::i18n::{state_name, t, t1};

/// A threshold field of the options page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Contact,
    Hold,
    Acw,
    NotRoutable,
}

impl Threshold {
    const ALL: [Threshold; 4] = [Threshold::Contact, Threshold::Hold, Threshold::Acw, Threshold::NotRoutable];

    fn id(self) -> &'static str {
        match self {
            Threshold::Contact => "contact_minutes",
            Threshold::Hold => "hold_minutes",
            Threshold::Acw => "acw_minutes",
            Threshold::NotRoutable => "not_routable_minutes",
        }
    }

    fn label(self) -> String {
        match self {
            Threshold::Contact => t("options_contact"),
            Threshold::Hold => t("options_hold"),
            Threshold::Acw => t("options_acw"),
            Threshold::NotRoutable => t("options_not_routable"),
        }
    }

    fn default(self) -> Minutes {
        match self {
            Threshold::Contact => defaults::CONTACT,
            Threshold::Hold => defaults::HOLD,
            Threshold::Acw => defaults::ACW,
            Threshold::NotRoutable => defaults::NOT_ROUTABLE,
        }
    }

    fn of(self, alerts: &AlertSettings) -> Option<Minutes> {
        match self {
            Threshold::Contact => alerts.contact_minutes,
            Threshold::Hold => alerts.hold_minutes,
            Threshold::Acw => alerts.acw_minutes,
            Threshold::NotRoutable => alerts.not_routable_minutes,
        }
    }

    fn set(self, alerts: &mut AlertSettings, value: Option<Minutes>) {
        match self {
            Threshold::Contact => alerts.contact_minutes = value,
            Threshold::Hold => alerts.hold_minutes = value,
            Threshold::Acw => alerts.acw_minutes = value,
            Threshold::NotRoutable => alerts.not_routable_minutes = value,
        }
    }
}

pub enum Msg {
    /// Policy's settings and the options page's own.
    Loaded(Box<(Settings, Settings)>),
    Edit(&'static str, String),
    Minutes(Threshold, String),
    Missed(bool),
    StateName(usize, String),
    StateMinutes(usize, String),
    AddState,
    RemoveState(usize),
    Language(String),
    Save,
    Saved(bool),
}

pub struct Options {
    /// What policy sets (read-only here).
    managed: Settings,
    /// What this page saves.
    settings: Settings,
    /// The threshold fields as typed, by [`Threshold::ALL`]'s order.
    minutes: [String; 4],
    /// The options page's own per-state entries, as typed: name and minutes.
    states: Vec<(String, String)>,
    /// A field that is not a number of minutes (by id): not saved until corrected.
    invalid: Option<String>,
    saved: Option<bool>,
}

fn policy_alerts(managed: &Settings) -> AlertSettings {
    managed.alerts.clone().unwrap_or_default()
}

impl Options {
    /// The alert settings as typed, or the id of the first field that is not a number.
    fn alerts(&self) -> Result<AlertSettings, String> {
        let mut alerts = self.settings.alerts.clone().unwrap_or_default();
        for (field, text) in Threshold::ALL.iter().zip(&self.minutes) {
            field.set(&mut alerts, parse_minutes(text).map_err(|_| field.id().to_owned())?);
        }
        let mut states = std::collections::BTreeMap::new();
        for (i, (name, text)) in self.states.iter().enumerate() {
            let minutes = parse_minutes(text).map_err(|_| format!("state-minutes-{i}"))?;
            if let (false, Some(minutes)) = (name.trim().is_empty(), minutes) {
                states.insert(name.trim().to_owned(), minutes);
            }
        }
        alerts.not_routable = Some(states).filter(|s| !s.is_empty());
        Ok(alerts)
    }
}

impl Component for Options {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        ctx.link().send_future(async {
            let (managed, options) = chrome::settings().await;
            Msg::Loaded(Box::new((managed, options)))
        });
        Self {
            managed: Settings::default(),
            settings: Settings::default(),
            minutes: Default::default(),
            states: Vec::new(),
            invalid: None,
            saved: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Self::Message) -> bool {
        match msg {
            Msg::Loaded(loaded) => {
                let (managed, settings) = *loaded;
                let alerts = settings.alerts.clone().unwrap_or_default();
                self.minutes = Threshold::ALL.map(|f| f.of(&alerts).map(minutes_text).unwrap_or_default());
                self.states = alerts
                    .not_routable
                    .iter()
                    .flatten()
                    .map(|(name, minutes)| (name.clone(), minutes_text(*minutes)))
                    .collect();
                self.managed = managed;
                self.settings = settings;
            }
            Msg::Edit(field, value) => {
                let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
                match field {
                    "relay_url" => self.settings.relay_url = value,
                    "issuer" => self.settings.issuer = value,
                    "client_id" => self.settings.client_id = value,
                    "default_country" => self.settings.default_country = value,
                    _ => self.settings.login_hint = value,
                }
            }
            Msg::Minutes(field, text) => {
                if let Some(at) = Threshold::ALL.iter().position(|f| *f == field) {
                    self.minutes[at] = text;
                }
            }
            Msg::Language(lang) => self.settings.ui_language = protocol::locale::language(&lang).map(str::to_owned),
            Msg::Missed(on) => {
                self.settings.alerts.get_or_insert_with(AlertSettings::default).missed_or_error = Some(on);
            }
            Msg::StateName(i, name) => {
                if let Some(entry) = self.states.get_mut(i) {
                    entry.0 = name;
                }
            }
            Msg::StateMinutes(i, text) => {
                if let Some(entry) = self.states.get_mut(i) {
                    entry.1 = text;
                }
            }
            Msg::AddState => self.states.push((String::new(), String::new())),
            Msg::RemoveState(i) => {
                if i < self.states.len() {
                    self.states.remove(i);
                }
            }
            Msg::Save => {
                let alerts = match self.alerts() {
                    Ok(alerts) => alerts,
                    Err(field) => {
                        self.invalid = Some(field);
                        return true;
                    }
                };
                let country = self.settings.default_country.as_deref().map(protocol::config::country_code);
                if let Some(None) = country {
                    self.invalid = Some("default_country".to_owned());
                    return true;
                }
                self.invalid = None;
                let mut settings = self.settings.clone();
                settings.default_country = country.flatten();
                settings.alerts = Some(alerts).filter(|a| *a != AlertSettings::default());
                ctx.link().send_future(async move {
                    let value = serde_json::to_string(&settings).ok().and_then(|t| js_sys::JSON::parse(&t).ok());
                    let Some(value) = value else { return Msg::Saved(false) };
                    let items = js_sys::Object::new();
                    let _ = js_sys::Reflect::set(&items, &OPTIONS_KEY.into(), &value);
                    let saved = match chrome::local_set(&items) {
                        Ok(p) => JsFuture::from(p).await.is_ok(),
                        Err(_) => false,
                    };
                    // A new language: this page again, in it.
                    if saved
                        && crate::i18n::wanted().await != crate::i18n::chosen()
                        && let Some(w) = web_sys::window()
                    {
                        let _ = w.location().reload();
                    }
                    Msg::Saved(saved)
                });
                return false;
            }
            Msg::Saved(ok) => {
                self.saved = Some(ok);
                return true;
            }
        }
        self.saved = None;
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let locked_note =
            |id: &str| html! { <span class="locked" id={format!("{id}-locked")}>{t("options_locked")}</span> };
        let field =
            |name: &'static str, label: &str, mine: &Option<String>, policy: &Option<String>, placeholder: &str| {
                let oninput = link.callback(move |e: InputEvent| {
                    Msg::Edit(name, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
                });
                let locked = policy.is_some();
                let value = if locked { policy.clone() } else { mine.clone() };
                html! {
                    <>
                        <label for={name}>{label}</label>
                        <input id={name} value={value.unwrap_or_default()} placeholder={placeholder.to_owned()}
                            readonly={locked} aria-describedby={locked.then(|| format!("{name}-locked"))} {oninput} />
                        if locked { {locked_note(name)} }
                    </>
                }
            };
        let policy = policy_alerts(&self.managed);
        let threshold = |(at, f): (usize, &Threshold)| {
            let f = *f;
            let (id, locked) = (f.id(), f.of(&policy));
            let oninput = link.callback(move |e: InputEvent| {
                Msg::Minutes(f, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
            });
            let value = match locked {
                Some(m) => minutes_text(m),
                None => self.minutes[at].clone(),
            };
            html! {
                <>
                    <label for={id}>{f.label()}</label>
                    <input id={id} inputmode="decimal" value={value} readonly={locked.is_some()}
                        placeholder={t1("options_default", &minutes_text(f.default()))}
                        aria-invalid={(self.invalid.as_deref() == Some(id)).then_some("true")}
                        aria-describedby={locked.is_some().then(|| format!("{id}-locked"))} {oninput} />
                    if locked.is_some() { {locked_note(id)} }
                    if self.invalid.as_deref() == Some(id) { <p class="error" role="alert">{t("options_invalid")}</p> }
                </>
            }
        };
        let missed_policy = policy.missed_or_error;
        let missed = missed_policy
            .or(self.settings.alerts.as_ref().and_then(|a| a.missed_or_error))
            .unwrap_or(defaults::MISSED_OR_ERROR);
        let onmissed =
            link.callback(|e: Event| Msg::Missed(e.target_unchecked_into::<web_sys::HtmlInputElement>().checked()));
        let policy_state = |(name, minutes): (&String, &Minutes)| {
            html! {
                <li class="state-entry">
                    <input value={state_name(name)} readonly={true} aria-label={t("options_state_name")} />
                    <input value={minutes_text(*minutes)} readonly={true} aria-label={t("options_state_minutes")} />
                    {locked_note("state")}
                </li>
            }
        };
        let own_state = |(i, (name, text)): (usize, &(String, String))| {
            let on_name = link.callback(move |e: InputEvent| {
                Msg::StateName(i, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
            });
            let on_minutes = link.callback(move |e: InputEvent| {
                Msg::StateMinutes(i, e.target_unchecked_into::<web_sys::HtmlInputElement>().value())
            });
            let invalid = self.invalid.as_deref() == Some(format!("state-minutes-{i}").as_str());
            html! {
                <li class="state-entry">
                    <input value={name.clone()} aria-label={t("options_state_name")} placeholder="休憩" oninput={on_name} />
                    <input value={text.clone()} inputmode="decimal" aria-label={t("options_state_minutes")}
                        aria-invalid={invalid.then_some("true")} oninput={on_minutes} />
                    <button type="button" class="link" aria-label={t1("options_remove_state", name)}
                        onclick={link.callback(move |_| Msg::RemoveState(i))}>{"×"}</button>
                    if invalid { <p class="error" role="alert">{t("options_invalid")}</p> }
                </li>
            }
        };
        let onsubmit = link.callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Save
        });
        let m = &self.managed;
        let s = &self.settings;
        let language_locked = m.ui_language.is_some();
        let language = m.ui_language.clone().or(s.ui_language.clone()).unwrap_or_default();
        let onlanguage =
            link.callback(|e: Event| Msg::Language(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
        // Each language named in itself, as language menus do.
        let languages = [("", t("options_language_auto")), ("en", "English".to_owned()), ("ja", "日本語".to_owned())];
        html! {
            <form class="options" {onsubmit}>
                <h1>{t("options_title")}</h1>
                <fieldset>
                    <legend>{t("options_relay_section")}</legend>
                    {field("relay_url", &t("options_relay"), &s.relay_url, &m.relay_url, Config::DEFAULT_RELAY)}
                    {field("issuer", &t("options_issuer"), &s.issuer, &m.issuer, Config::DEFAULT_ISSUER)}
                    {field("client_id", &t("options_client"), &s.client_id, &m.client_id, Config::DEFAULT_CLIENT)}
                    {field("login_hint", &t("options_login_hint"), &s.login_hint, &m.login_hint, "")}
                    {field("default_country", &t("options_country"), &s.default_country, &m.default_country, "JP")}
                    if self.invalid.as_deref() == Some("default_country") {
                        <p class="error" role="alert">{t("options_country_invalid")}</p>
                    }
                </fieldset>
                <fieldset>
                    <legend>{t("options_display")}</legend>
                    <label for="ui_language">{t("options_language")}</label>
                    <select id="ui_language" disabled={language_locked} onchange={onlanguage}
                        aria-describedby={language_locked.then(|| "ui_language-locked".to_owned())}>
                        {for languages.into_iter().map(|(value, name)| html! {
                            <option value={value} selected={language == value}>{name}</option>
                        })}
                    </select>
                    if language_locked { {locked_note("ui_language")} }
                </fieldset>
                <fieldset>
                    <legend>{t("options_alerts")}</legend>
                    <p class="help">{t("options_alerts_help")}</p>
                    if let Some(teams) = &m.roster {
                        <p class="help" id="roster">
                            {t1("options_roster", &teams.join(", "))}{" "}{locked_note("roster")}
                        </p>
                    }
                    {for Threshold::ALL.iter().enumerate().map(threshold)}
                    <label class="check">
                        <input type="checkbox" checked={missed} disabled={missed_policy.is_some()} onchange={onmissed}
                            aria-describedby={missed_policy.is_some().then(|| "missed-locked".to_owned())} />
                        {t("options_missed")}
                    </label>
                    if missed_policy.is_some() { {locked_note("missed")} }
                    <h2 class="help">{t("options_states")}</h2>
                    <ul class="states">
                        {for policy.not_routable.iter().flatten().map(policy_state)}
                        {for self.states.iter().enumerate().map(own_state)}
                    </ul>
                    <button type="button" class="link" onclick={link.callback(|_| Msg::AddState)}>{t("options_add_state")}</button>
                </fieldset>
                <button type="submit" class="primary">{t("options_save")}</button>
                if self.saved == Some(true) { <p role="status">{t("options_saved")}</p> }
                <p class="help version">{crate::i18n::t1("options_version", &crate::chrome::version())}</p>
            </form>
        }
    }
}
