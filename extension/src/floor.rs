//! The Floor view (supervisors only): every agent of the teams watched, by team in collapsible
//! groups headed by counts per state, a total line for the floor, the active alerts (newest first,
//! with the agent, the rule and for how long; open a chat, dismiss), filters by state and team,
//! search by name, sort by name or by time in state. The rows are a virtual list (team headers
//! and agents share one height), so a floor of thousands renders only what is on screen; the
//! root applies the worker's pushes once per animation frame.
//!
//! An agent over a threshold has an amber or red row, with an icon and words for it, not colour
//! alone. A supervisor listens in, barges in and sets an agent's status from the agent's row
//! (through Amazon Connect, `supervise.rs`); how it went shows under the tools.

use std::rc::Rc;

use ::floor::{Alert, Category, Counts, Row, Severity, Sort};
use protocol::{AlertKey, Presence, Rule};
use yew::html::Scope;
use yew::prelude::*;

use crate::app::result_line;
use crate::format;
use crate::i18n::{state_name, t, t1, tn};
use crate::state::{Effect, PanelState, category_key, channel_key};
use crate::status::{RowContext, agent_cells};
use crate::view::{Page, Shared, View, ViewProps};
use crate::virtual_list::VirtualList;

/// Every row's height in px, team headers and agents alike (`.floor-row` in panel.css).
const ROW_HEIGHT: u32 = 52;

/// Alerts listed at most; the rest are counted ("and 12 more").
const ALERTS_SHOWN: usize = 50;

pub enum Msg {
    Search(String),
    /// A category by its form value (`""`: every state).
    Filter(String),
    /// `name` or `time`.
    Sort(String),
    /// Show or hide a team (`None`: every team).
    Watch(Option<String>, bool),
    /// Collapse or expand a team's group.
    Toggle(String),
    /// Chat with this agent (the chat view opens).
    Open(String),
    /// Transfer the current contact to the agent with this Connect username.
    Transfer(String),
    Dismiss(AlertKey),
    OpenFloor,
    Help(crate::help::Msg),
    Supervise(crate::supervise::Msg),
}

pub struct Floor;

impl View for Floor {
    type Msg = Msg;

    fn change(state: &mut PanelState, msg: Msg, _props: &ViewProps) -> Vec<Effect> {
        match msg {
            Msg::Search(text) => state.floor.search(text),
            Msg::Filter(key) => state.floor.filter(&key),
            Msg::Sort(sort) => state.floor.set_sort(if sort == "time" { Sort::LongestInState } else { Sort::Name }),
            Msg::Watch(team, shown) => return state.watch_team(team.as_deref(), shown),
            Msg::Toggle(team) => state.floor.toggle_team(&team),
            Msg::Open(peer) => return state.open(peer),
            Msg::Transfer(username) => return state.transfer(username),
            Msg::Dismiss(key) => return state.dismiss_alert(key),
            Msg::OpenFloor => return state.open_floor(),
            Msg::Help(msg) => return crate::help::change(state, msg),
            Msg::Supervise(msg) => return crate::supervise::change(state, msg),
        }
        Vec::new()
    }

    fn view(link: &Scope<Page<Self>>, state: &PanelState, props: &ViewProps) -> Html {
        if !state.supervisor() {
            return html! { <p class="empty">{t("floor_supervisors_only")}</p> };
        }
        let rows = state.floor.rows();
        let len = rows.len();
        let (link2, shared, now) = (link.clone(), props.state.clone(), props.now);
        let row = Callback::from(move |i: usize| floor_row(&link2, &shared, &rows, i, now));
        html! {
            <div class="floor">
                {tools(link, state)}
                {crate::supervise::outcome(state, &link.callback(Msg::Supervise))}
                <p class="floor-total">{tn("floor_total", &[&format::grouped(state.floor.board.len()), &counts_text(state.floor.board.total())])}</p>
                {crate::help::floor_requests(state, props.now, &link.callback(Msg::Help))}
                {alerts(link, state, props.now)}
                if state.floor.board.is_empty() {
                    <p class="empty">{t("floor_empty")}</p>
                } else if len == 0 {
                    <p class="empty" role="status">{t("floor_no_matches")}</p>
                }
                <VirtualList class="floor-list" {len} row_height={ROW_HEIGHT} {row} label={t("floor_agents")} />
                {result_line(state.dialing.as_ref())}
            </div>
        }
    }
}

/// Search, the state filter, the sort, the teams watched and the full-tab floor.
fn tools(link: &Scope<Page<Floor>>, state: &PanelState) -> Html {
    let query = &state.floor.query;
    let oninput =
        link.callback(|e: InputEvent| Msg::Search(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()));
    let onfilter =
        link.callback(|e: Event| Msg::Filter(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    let onsort = link.callback(|e: Event| Msg::Sort(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    let selected = query.categories.iter().next().map(category_key).unwrap_or_default();
    let categories = state.floor.board.total().iter().map(|(c, n)| {
        let key = category_key(c);
        html! { <option value={key.clone()} selected={key == selected}>{format!("{} ({n})", category_label(c))}</option> }
    });
    let teams = state.floor.teams();
    let watching = query.teams.len();
    let team_box = |team: &String| {
        let shown = query.teams.is_empty() || query.teams.contains(team);
        let name = team.clone();
        let onchange = link.callback(move |e: Event| {
            Msg::Watch(Some(name.clone()), e.target_unchecked_into::<web_sys::HtmlInputElement>().checked())
        });
        html! { <li><label><input type="checkbox" checked={shown} {onchange} /><bdi>{team.clone()}</bdi></label></li> }
    };
    let summary = if watching == 0 {
        t("floor_teams_all")
    } else {
        tn("floor_teams_some", &[&watching.to_string(), &teams.len().to_string()])
    };
    html! {
        <div class="floor-tools">
            <input type="search" class="search" aria-label={t("floor_search")} placeholder={t("floor_search")}
                value={query.text.clone()} {oninput} />
            <label class="floor-field">{t("floor_filter")}
                <select onchange={onfilter}>
                    <option value="" selected={selected.is_empty()}>{t("floor_filter_all")}</option>
                    {for categories}
                </select>
            </label>
            <label class="floor-field">{t("floor_sort")}
                <select onchange={onsort}>
                    <option value="name" selected={query.sort == Sort::Name}>{t("floor_sort_name")}</option>
                    <option value="time" selected={query.sort == Sort::LongestInState}>{t("floor_sort_time")}</option>
                </select>
            </label>
            <details class="floor-teams">
                <summary>{summary}</summary>
                <ul aria-label={t("floor_teams")}>{for teams.iter().map(team_box)}</ul>
                if watching > 0 {
                    <button type="button" class="link" onclick={link.callback(|_| Msg::Watch(None, true))}>{t("floor_teams_show_all")}</button>
                }
            </details>
            if !state.floor_page {
                <button type="button" class="link floor-open" onclick={link.callback(|_| Msg::OpenFloor)}>{t("floor_open_tab")}</button>
            }
        </div>
    }
}

/// The active alerts, newest first.
fn alerts(link: &Scope<Page<Floor>>, state: &PanelState, now: protocol::Millis) -> Html {
    let active: Vec<&Alert> = state.floor.active().collect();
    let count = active.len();
    let item = |a: &&Alert| {
        let (peer, key) = (a.key.principal.clone(), a.key.clone());
        let rule = rule_label(&a.key.rule);
        html! {
            <li class={classes!("alert", severity_class(a.severity))} key={format!("{}|{:?}|{}", a.key.principal, a.key.rule, a.key.since)}>
                <span class="alert-icon" aria-hidden="true">{severity_icon(a.severity)}</span>
                <span class="alert-text">
                    <span class="visually-hidden">{severity_label(a.severity)}{" "}</span>
                    <bdi class="alert-name">{a.name.clone()}</bdi>{" · "}{rule}{" · "}
                    <time>{t1("floor_alert_for", &format::elapsed(a.key.since, now))}</time>
                </span>
                <button type="button" class="link" aria-label={t1("floor_alert_chat", &a.name)}
                    onclick={link.callback(move |_| Msg::Open(peer.clone()))}>{t("floor_open_chat")}</button>
                <button type="button" class="link" aria-label={tn("floor_alert_dismiss", &[&a.name, &rule_label(&a.key.rule)])}
                    onclick={link.callback(move |_| Msg::Dismiss(key.clone()))}>{t("floor_dismiss")}</button>
            </li>
        }
    };
    html! {
        <section class="floor-alerts" aria-label={t1("floor_alerts_count", &count.to_string())}>
            <h2>{t("floor_alerts")}{" "}<span class="badge">{count}</span></h2>
            if count == 0 {
                <p class="empty">{t("floor_no_alerts")}</p>
            } else {
                <ul>{for active.iter().take(ALERTS_SHOWN).map(item)}</ul>
                if count > ALERTS_SHOWN {
                    <p class="more">{t1("floor_alerts_more", &(count - ALERTS_SHOWN).to_string())}</p>
                }
            }
        </section>
    }
}

/// Row `i` of the list: a team's header or an agent.
fn floor_row(link: &Scope<Page<Floor>>, shared: &Shared, rows: &Rc<Vec<Row>>, i: usize, now: protocol::Millis) -> Html {
    let state = shared.borrow();
    let (len, pos) = (rows.len().to_string(), (i + 1).to_string());
    match rows.get(i) {
        Some(Row::Team { team, shown, collapsed }) => {
            let team = state.floor.board.team(*team);
            let (name, collapsed) = (team.name.clone(), *collapsed);
            let counts = counts_text(&team.counts);
            html! {
                <li class="floor-row team-row" key={format!("team|{name}")} aria-setsize={len} aria-posinset={pos}>
                    <button type="button" class="team-toggle" aria-expanded={(!collapsed).to_string()}
                        onclick={link.callback(move |_| Msg::Toggle(name.clone()))}>
                        <span aria-hidden="true">{if collapsed { "▸ " } else { "▾ " }}</span>
                        <bdi class="team-name">{team.name.clone()}</bdi>{format!(" ({shown})")}
                    </button>
                    <span class="team-counts" title={counts.clone()}>{counts}</span>
                </li>
            }
        }
        Some(Row::Agent(id)) => match state.floor.board.agent(*id) {
            Some(agent) => agent_row(link, &state, &agent.presence, &len, &pos, now),
            None => html! {},
        },
        None => html! {},
    }
}

/// One agent: the row the status view has (name, state and time in it, the contact with its own
/// time, Chat and Transfer) with an alert mark.
fn agent_row(
    link: &Scope<Page<Floor>>,
    state: &PanelState,
    p: &Presence,
    len: &str,
    pos: &str,
    now: protocol::Millis,
) -> Html {
    let cx = RowContext {
        on_call: state.on_call(),
        now,
        as_of: state.connect_as_of(p),
        open: link.callback(Msg::Open),
        transfer: link.callback(Msg::Transfer),
    };
    let more = crate::supervise::row_actions(state, p, &link.callback(Msg::Supervise));
    let cells = agent_cells(p, cx, more);
    let severity = state.floor.alerts.severity(&p.principal);
    let alert = severity.map(|s| {
        html! {
            <span class={classes!("alert-mark", severity_class(s))} title={severity_label(s)}>
                <span aria-hidden="true">{severity_icon(s)}</span>
                <span class="visually-hidden">{severity_label(s)}</span>
            </span>
        }
    });
    let label = match severity {
        Some(s) => format!("{}: {}, {}", p.display_name, cells.state, severity_label(s)),
        None => format!("{}: {}", p.display_name, cells.state),
    };
    html! {
        <li class={classes!("floor-row", "agent", severity.map(severity_class))} key={p.principal.clone()}
            aria-label={label} aria-setsize={len.to_owned()} aria-posinset={pos.to_owned()}>
            {cells.main}
            {crate::help::row_mark(state, &p.principal)}
            {alert}
            {cells.actions}
        </li>
    }
}

/// "Available 3 · Voice 2 · 休憩 1 · Offline 4": each category with anyone in it.
fn counts_text(counts: &Counts) -> String {
    counts.iter().map(|(c, n)| format!("{} {n}", category_label(c))).collect::<Vec<_>>().join(" · ")
}

fn category_label(category: &Category) -> String {
    match category {
        Category::Available => t("cat_available"),
        Category::OnContact(channel) => t(&format!("cat_contact_{}", channel_key(*channel))),
        Category::Acw => t("cat_acw"),
        Category::NotRoutable(name) => state_name(name),
        Category::ErrorOrMissed => t("cat_error"),
        Category::Offline => t("cat_offline"),
        Category::Other => t("cat_other"),
    }
}

/// What an alert is about, in words ("On hold too long", "In 休憩 too long").
pub fn rule_label(rule: &Rule) -> String {
    let state = match rule {
        Rule::NotRoutable { state } => state_name(state),
        _ => String::new(),
    };
    t1(&format!("rule_{}", rule.as_str()), &state)
}

fn severity_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Amber => "amber",
        Severity::Red => "red",
    }
}

fn severity_icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Amber => "⚠",
        Severity::Red => "‼",
    }
}

fn severity_label(severity: Severity) -> String {
    match severity {
        Severity::Amber => t("severity_amber"),
        Severity::Red => t("severity_red"),
    }
}
