//! `connect-fake`: the Connect stand-in as a process, for the demo and the browser tests.
//!
//! `connect-fake [--listen 127.0.0.1:0] [--directory FILE | --users N]` serves a generated
//! instance, or one whose users are a directory file's (user `i` of the file is `u-{i:06}`, the
//! file's `connect_user_id`), prints `connect-fake listening on http://... instance <id>` and
//! serves until
//! killed. Drive it over HTTP: `PUT`/`DELETE /_fake/agents/{user id}`, `GET /_fake/monitors`,
//! `GET /_fake/log` (see `routes.rs`).

use connect_fake::{Behaviour, FakeConnect, INSTANCE_ID, Instance, Shape};

fn main() -> Result<(), String> {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut directory = None;
    let mut users = 12;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = value()?,
            "--directory" => directory = Some(value()?),
            "--users" => users = value()?.parse().map_err(|e| format!("--users: {e}"))?,
            other => return Err(format!("unknown argument {other}; see the module's documentation")),
        }
    }
    let shape = Shape { users, ..Shape::small() };
    let instance = match directory {
        Some(path) => Instance::with_users(&shape, &directory_users(&path)?),
        None => Instance::generate(&shape),
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let fake = FakeConnect::serve(instance, Behaviour::default(), &listen).await.map_err(|e| e.to_string())?;
        println!("connect-fake listening on {} instance {INSTANCE_ID}", fake.url);
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// The users of a directory file (JSON) as the instance's: username, names, routing profile.
fn directory_users(path: &str) -> Result<Vec<(String, String, String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let file: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let users = file["users"].as_array().ok_or(format!("{path}: no users"))?;
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let field = |name: &str| u[name].as_str().unwrap_or_default().to_owned();
            if u["connect_user_id"].as_str().is_some_and(|id| id != format!("u-{i:06}")) {
                return Err(format!("{path}: user {i} must have connect_user_id u-{i:06}"));
            }
            let username = if field("username").is_empty() { field("id") } else { field("username") };
            let name = field("display_name");
            let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
            Ok((username, first.to_owned(), last.to_owned(), field("routing_profile")))
        })
        .collect()
}
