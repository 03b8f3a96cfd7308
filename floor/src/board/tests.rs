use std::collections::{BTreeMap, BTreeSet};

use protocol::{AgentState, Channel, ContactState, ContactSummary, Millis, Presence, Source, StateKind};

use super::{Board, Category, Counts, Query, Row, Sort};
use crate::testing::Rng;
use crate::text::{contains_words, fold};

fn agent(principal: &str, name: &str, team: &str, state: &str, kind: StateKind, since: Millis) -> Presence {
    Presence {
        principal: principal.into(),
        username: Some(principal.split('@').next().unwrap_or_default().into()),
        display_name: name.into(),
        roster: team.into(),
        state: AgentState { name: state.into(), kind },
        since,
        contact: None,
        online: kind != StateKind::Offline,
        source: Source::Extension,
        ccp_closed: false,
    }
}

fn chat(p: Presence) -> Presence {
    Presence { contact: Some(ContactSummary { channel: Channel::Chat, state: ContactState::Connected, since: 0 }), ..p }
}

/// 東京: 佐藤 (available since 10), 鈴木 (休憩 since 5), Kato (on a chat since 30).
/// 大阪: 田中 (offline since 1), Ito (ACW since 20).
fn floor() -> Board {
    use StateKind::*;
    let mut board = Board::new();
    board.upsert(agent("sato@x", "佐藤 愛子", "東京", "Available", Routable, 10));
    board.upsert(agent("suzuki@x", "鈴木 一郎", "東京", "休憩", NotRoutable, 5));
    board.upsert(chat(agent("kato@x", "Kato Ken", "東京", "Available", Routable, 30)));
    board.upsert(agent("tanaka@x", "田中 花子", "大阪", "Offline", Offline, 1));
    board.upsert(agent("ito@x", "Ito Mai", "大阪", "AfterCallWork", System, 20));
    board
}

/// The rows as text: `#team shown` for a header, the principal for an agent.
fn text(board: &Board, rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|row| match row {
            Row::Team { team, shown, collapsed } => {
                format!("#{} {shown}{}", board.team(*team).name, if *collapsed { " (collapsed)" } else { "" })
            }
            Row::Agent(id) => board.agent(*id).unwrap().presence.principal.clone(),
        })
        .collect()
}

fn query() -> Query {
    Query::default()
}

#[test]
fn counts_per_team_and_for_the_floor() {
    let board = floor();
    let total = board.total();
    assert_eq!(total.total(), 5);
    assert_eq!(total.get(&Category::Available), 1);
    assert_eq!(total.get(&Category::OnContact(Channel::Chat)), 1);
    assert_eq!(total.on_contact(), 1);
    assert_eq!(total.get(&Category::NotRoutable("休憩".into())), 1);
    assert_eq!(total.get(&Category::Acw), 1);
    assert_eq!(total.get(&Category::Offline), 1);
    assert_eq!(total.get(&Category::ErrorOrMissed), 0);
    let listed: Vec<(&Category, u32)> = total.iter().collect();
    assert_eq!(listed[0], (&Category::Available, 1));
    assert_eq!(listed.last(), Some(&(&Category::Offline, 1)));
    let teams: Vec<(&str, u32)> = board.teams().map(|t| (t.name.as_str(), t.counts.total())).collect();
    assert_eq!(teams, [("大阪", 2), ("東京", 3)]);
    assert_eq!(board.len(), 5);
}

#[test]
fn an_update_moves_one_agent_between_categories_and_teams() {
    let mut board = floor();
    let version = board.version();
    // The same presence again changes nothing.
    board.upsert(agent("sato@x", "佐藤 愛子", "東京", "Available", StateKind::Routable, 10));
    assert_eq!(board.version(), version);
    board.upsert(agent("sato@x", "佐藤 愛子", "大阪", "MissedCallAgent", StateKind::Error, 40));
    assert!(board.version() > version);
    assert_eq!(board.total().get(&Category::Available), 0);
    assert_eq!(board.total().get(&Category::ErrorOrMissed), 1);
    let teams: Vec<(&str, u32)> = board.teams().map(|t| (t.name.as_str(), t.counts.total())).collect();
    assert_eq!(teams, [("大阪", 3), ("東京", 2)]);
    assert!(board.remove("sato@x"));
    assert!(!board.remove("sato@x"));
    assert!(!board.remove("nobody@x"));
    assert_eq!(board.len(), 4);
    assert_eq!(board.id("sato@x"), None);
    // A removed agent comes back in their old place.
    let id = board.upsert(agent("sato@x", "佐藤 愛子", "東京", "Available", StateKind::Routable, 50));
    assert_eq!(board.id("sato@x"), Some(id));
    assert_eq!(board.len(), 5);
}

#[test]
fn rows_group_by_team_and_sort_by_name_or_longest_in_state() {
    let board = floor();
    assert_eq!(
        text(&board, &board.rows(&query())),
        ["#大阪 2", "ito@x", "tanaka@x", "#東京 3", "kato@x", "sato@x", "suzuki@x"]
    );
    let longest = Query { sort: Sort::LongestInState, ..query() };
    // The earliest start first; offline agents last.
    assert_eq!(
        text(&board, &board.rows(&longest)),
        ["#大阪 2", "ito@x", "tanaka@x", "#東京 3", "suzuki@x", "sato@x", "kato@x"]
    );
}

#[test]
fn collapsed_teams_show_their_header_alone() {
    let board = floor();
    let q = Query { collapsed: BTreeSet::from(["東京".to_owned()]), ..query() };
    assert_eq!(text(&board, &board.rows(&q)), ["#大阪 2", "ito@x", "tanaka@x", "#東京 3 (collapsed)"]);
    let q = Query { text: "kato".into(), ..q };
    assert_eq!(text(&board, &board.rows(&q)), ["#東京 1 (collapsed)"]);
}

#[test]
fn filters_by_category_team_and_name() {
    let board = floor();
    let q = Query { categories: BTreeSet::from([Category::Acw, Category::NotRoutable("休憩".into())]), ..query() };
    assert_eq!(text(&board, &board.rows(&q)), ["#大阪 1", "ito@x", "#東京 1", "suzuki@x"]);
    let q = Query { teams: BTreeSet::from(["東京".to_owned()]), ..query() };
    assert_eq!(text(&board, &board.rows(&q)), ["#東京 3", "kato@x", "sato@x", "suzuki@x"]);
    // Search: every word, in the name, username or principal; case and width folded.
    let search = |t: &str| text(&board, &board.rows(&Query { text: t.into(), ..query() }));
    assert_eq!(search("佐藤"), ["#東京 1", "sato@x"]);
    assert_eq!(search("ＫＡＴＯ　ken"), ["#東京 1", "kato@x"]);
    assert_eq!(search("tanaka"), ["#大阪 1", "tanaka@x"]);
    assert_eq!(search("佐藤 花子"), Vec::<String>::new());
    assert_eq!(search("  "), text(&board, &board.rows(&query())));
}

#[test]
fn kana_names_match_in_either_script_and_width() {
    let mut board = Board::new();
    board.upsert(agent("a@x", "サトウ アイコ", "t", "Available", StateKind::Routable, 0));
    board.upsert(agent("b@x", "ｽｽﾞｷ ｲﾁﾛｳ", "t", "Available", StateKind::Routable, 0));
    let search = |t: &str| board.rows(&Query { text: t.into(), ..Query::default() }).len();
    assert_eq!(search("さとう"), 2);
    assert_eq!(search("ｻﾄｳ"), 2);
    assert_eq!(search("すずき"), 2);
    assert_eq!(search("スズキ イチロウ"), 2);
    assert_eq!(search("すすき"), 0);
}

const TEAMS: [&str; 4] = ["東京", "大阪", "Support", "札幌"];
const NAMES: [&str; 6] = ["佐藤", "サトウ", "Sato", "鈴木", "ｽｽﾞｷ", "Ito"];

fn random_presence(rng: &mut Rng, principal: &str) -> Presence {
    use StateKind::*;
    let (state, kind) = [
        ("Available", Routable),
        ("休憩", NotRoutable),
        ("管理業務中", NotRoutable),
        ("AfterCallWork", System),
        ("Busy", System),
        ("MissedCallAgent", Error),
        ("Offline", Offline),
        ("Odd", System),
    ][rng.below(8) as usize];
    let mut p = agent(principal, rng.pick(&NAMES), rng.pick(&TEAMS), state, kind, rng.below(50) as Millis);
    if rng.below(3) == 0 {
        let contact =
            [ContactState::Incoming, ContactState::Connected, ContactState::OnHold, ContactState::AfterContactWork];
        let state = contact[rng.below(4) as usize];
        p.contact = Some(ContactSummary { channel: Channel::ALL[rng.below(4) as usize], state, since: 0 });
    }
    p.online = kind != Offline && rng.below(10) > 0;
    p
}

/// The rows for `query`, computed from nothing but the presences (and the board's ids, which
/// break ties).
fn recomputed(board: &Board, presences: &BTreeMap<String, Presence>, query: &Query) -> Vec<Row> {
    let words = fold(&query.text);
    let filtering = !query.categories.is_empty() || !words.trim().is_empty();
    let mut teams: BTreeMap<&str, Vec<&Presence>> = BTreeMap::new();
    for p in presences.values() {
        teams.entry(p.roster.as_str()).or_default().push(p);
    }
    let mut rows = Vec::new();
    for (name, mut members) in teams {
        if !query.teams.is_empty() && !query.teams.contains(name) {
            continue;
        }
        let id = |p: &Presence| board.id(&p.principal).unwrap();
        match query.sort {
            Sort::Name => members.sort_by_key(|p| (fold(&p.display_name), id(p))),
            Sort::LongestInState => members.sort_by_key(|p| (Category::of(p) == Category::Offline, p.since, id(p))),
        }
        let shown: Vec<&Presence> = members
            .into_iter()
            .filter(|p| query.categories.is_empty() || query.categories.contains(&Category::of(p)))
            .filter(|p| {
                let hay = fold(&format!("{} {} {}", p.display_name, p.username.as_deref().unwrap_or(""), p.principal));
                contains_words(&hay, &words)
            })
            .collect();
        if shown.is_empty() && filtering {
            continue;
        }
        let team = board.teams.iter().position(|t| t.name == name).unwrap();
        let collapsed = query.collapsed.contains(name);
        rows.push(Row::Team { team: super::TeamId(team as u32), shown: shown.len() as u32, collapsed });
        if !collapsed {
            rows.extend(shown.iter().map(|p| Row::Agent(id(p))));
        }
    }
    rows
}

#[test]
fn incremental_updates_agree_with_a_full_recompute() {
    let mut rng = Rng(0xF100_2B0A);
    let mut board = Board::new();
    let mut presences: BTreeMap<String, Presence> = BTreeMap::new();
    let queries = [
        Query::default(),
        Query { sort: Sort::LongestInState, ..Query::default() },
        Query { text: "さとう".into(), ..Query::default() },
        Query { categories: BTreeSet::from([Category::Acw, Category::OnContact(Channel::Voice)]), ..Query::default() },
        Query {
            teams: BTreeSet::from(["東京".to_owned(), "札幌".to_owned()]),
            collapsed: BTreeSet::from(["札幌".to_owned()]),
            sort: Sort::LongestInState,
            ..Query::default()
        },
    ];
    for step in 0..4_000 {
        let principal = format!("agent{}@x", rng.below(60));
        if rng.below(8) == 0 {
            assert_eq!(board.remove(&principal), presences.remove(&principal).is_some());
        } else {
            let p = random_presence(&mut rng, &principal);
            board.upsert(p.clone());
            presences.insert(principal, p);
        }
        let mut total = Counts::default();
        let mut teams: BTreeMap<&str, Counts> = BTreeMap::new();
        for p in presences.values() {
            total.add(&Category::of(p));
            teams.entry(p.roster.as_str()).or_default().add(&Category::of(p));
        }
        assert_eq!(board.total(), &total, "step {step}");
        let counted: BTreeMap<&str, Counts> = board.teams().map(|t| (t.name.as_str(), t.counts.clone())).collect();
        assert_eq!(counted, teams, "step {step}");
        if step % 10 == 0 {
            for q in &queries {
                assert_eq!(board.rows(q), recomputed(&board, &presences, q), "step {step}, {q:?}");
            }
        }
    }
}
