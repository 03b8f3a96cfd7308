//! `cargo xtask demo`: the relay on its embedded defaults (SQLite in `.data/demo`, the
//! development issuer, the demo directory) with simulated colleagues who change state and
//! answer chat, and Chromium with the built extension on the CCP simulator, signed in as the
//! demo agent (`tests/demo/browser.js`). Without a display the browser runs headless and the
//! panels' screenshots are written to `.data/demo/screenshots/`. `--store dynamodb` runs the
//! same demo on DynamoDB: moto's DynamoDB-compatible server on loopback, started and stopped
//! with the demo, the relay built with its `dynamodb` feature. `--nodes N` runs N relays on that
//! DynamoDB server joined by a `redis-server` on loopback: the extension signs in on the first,
//! the simulated colleagues on the last, so the cluster carries everything they see of each other.
//!
//! Amazon Connect is played by `connect-fake` on loopback, holding the directory's users: the
//! relay (built with its `connect` feature) reads its real-time data, so the floor also shows a
//! few agents known only from Connect ([`CONNECT_ONLY`]) and one colleague whose CCP closed while
//! Connect keeps them Available ([`CLOSES_CCP`]); a supervisor's listen-in reaches the fake, and
//! the supervisor's simulated CCP plays the monitoring contact.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::run;

const DIRECTORY: &str = "assets/demo/directory.json";
const YOU: &str = "you@example.com";
/// The demo supervisor (in the demo directory), made one by the development issuer.
const SUPERVISOR: &str = "sam.supervisor@example.com";
/// A simulated colleague who overstays in after-call work, so the floor shows an alert early.
const OVERSTAYS: &str = "hiro.ito@example.com";
/// A simulated colleague who asks the supervisor for help now and then (first within a minute).
const ASKS_HELP: &str = "aiko.sato@example.com";
/// A simulated colleague who closes their CCP while Connect keeps them Available: the floor warns.
const CLOSES_CCP: &str = "maria.lopez@example.com";
/// Agents in the demo directory without the extension: Connect's real-time data is all the floor
/// knows of them. Their Connect status and calls, as the demo sets them in the stand-in.
const CONNECT_ONLY: [(&str, &str, Option<&str>); 3] = [
    ("nao.kimura@example.com", "Available", None),
    ("raj.patel@example.com", "Available", Some("CONNECTED")),
    ("emi.mori@example.com", "Lunch", None),
];
/// Where the demo writes its directory when `--agents` asks for more colleagues than it lists.
const GENERATED_DIRECTORY: &str = ".data/demo/directory.json";
/// Your Connect username in the demo directory, as the simulated CCP reports it.
const YOUR_USERNAME: &str = "you";
const SCREENSHOTS: &str = ".data/demo/screenshots";

/// The development extension id, fixed by the `"key"` in `manifest/manifest.json`.
const EXTENSION_ORIGIN: &str = "chrome-extension://goibjmhfiabeppgigcbjfjgoghionflh";

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:8787".to_owned();
    let mut seconds: Option<u64> = None;
    let mut agents: Option<usize> = None;
    let mut dynamodb = false;
    let mut nodes = 1usize;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--listen" => listen = rest.next().context("--listen needs an address")?.clone(),
            "--seconds" => seconds = Some(rest.next().context("--seconds needs a number")?.parse()?),
            "--agents" => agents = Some(rest.next().context("--agents needs a number")?.parse()?),
            "--store" => match rest.next().map(String::as_str) {
                Some("dynamodb") => dynamodb = true,
                Some("sqlite") => dynamodb = false,
                _ => bail!("--store is sqlite or dynamodb"),
            },
            "--nodes" => nodes = rest.next().context("--nodes needs a number")?.parse()?,
            other => bail!("unknown demo option {other}"),
        }
    }
    if !(1..=5).contains(&nodes) {
        bail!("--nodes is 1 to 5");
    }
    // Nodes share one store: several need DynamoDB (each SQLite file would hold other messages).
    dynamodb |= nodes > 1;
    crate::dist::build()?;
    crate::setup::browser()?;
    let features = if dynamodb { "server/connect,server/dynamodb" } else { "server/connect" };
    let build = ["build", "--release", "-p", "server", "-p", "loadgen", "-p", "connect-fake", "--features", features];
    run::step("build", "cargo", &build)?;
    // With --store dynamodb: moto's DynamoDB-compatible server on loopback, the tables created
    // by the relay, the relay's AWS credentials static ones it accepts; stopped with the demo.
    let mut local_dynamodb = None;
    let mut store_args: Vec<String> = Vec::new();
    if dynamodb {
        crate::setup::python()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let server = crate::setup::dynamodb_local(port).spawn().context("starting the local DynamoDB server")?;
        local_dynamodb = Some(server);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("the local DynamoDB server did not answer on port {port}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        store_args = ["--store", "dynamodb", "--dynamodb-table-prefix", "demo-", "--dynamodb-create-tables"]
            .map(str::to_owned)
            .into();
        store_args.extend(["--dynamodb-endpoint".to_owned(), format!("http://127.0.0.1:{port}")]);
    }
    let base = format!("http://{listen}");
    let directory = match agents {
        Some(n) => more_colleagues(n)?,
        None => DIRECTORY.to_owned(),
    };
    // However the demo ends, the local DynamoDB server goes with it.
    let _dynamodb = local_dynamodb.map(KillOnDrop);
    let (_connect, connect_url, connect_instance) = start_connect(&directory)?;
    let connect_args: Vec<String> = [
        "--connect-instance-id",
        &connect_instance,
        "--connect-endpoint",
        &connect_url,
        "--connect-region",
        "ap-northeast-1",
        "--connect-sync-interval-s",
        "0",
        "--connect-poll-s",
        "2",
    ]
    .map(str::to_owned)
    .into();
    let mut _redis = None;
    let mut cluster_args: Vec<String> = Vec::new();
    if nodes > 1 {
        crate::setup::redis()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let server = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .context("starting redis-server")?;
        _redis = Some(KillOnDrop(server));
        cluster_args = vec!["--redis-url".to_owned(), format!("redis://127.0.0.1:{port}")];
    }
    // The first node on --listen (the extension's), the others on free ports.
    let mut addresses = vec![listen.clone()];
    for _ in 1..nodes {
        addresses.push(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.to_string());
    }
    let mut relays = Vec::new();
    for (i, address) in addresses.iter().enumerate() {
        let data_dir = if i == 0 { ".data/demo".to_owned() } else { format!(".data/demo/node{}", i + 1) };
        let mut relay = Command::new("target/release/ccp-sidecar-relay")
            .args(["--listen", address, "--data-dir", &data_dir, "--dev-issuer", "--dev-supervisors", SUPERVISOR])
            .args(["--directory-file", &directory, "--roster-by", "team"])
            .args(["--allowed-origins", EXTENSION_ORIGIN])
            .args(&store_args)
            .args(&cluster_args)
            .args(&connect_args)
            .envs([("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"), ("AWS_REGION", "us-east-1")])
            .spawn()
            .context("starting the relay")?;
        wait_ready(&mut relay, &format!("http://{address}"))?;
        relays.push(relay);
    }
    if nodes > 1 {
        wait_cluster(&listen, nodes)?;
    }
    let colleagues_base = format!("http://{}", addresses[nodes - 1]);
    let mut skip = format!("{YOU},{SUPERVISOR}");
    for (agent, _, _) in CONNECT_ONLY {
        skip.push(',');
        skip.push_str(agent);
    }
    let mut colleagues = Command::new("target/release/colleagues")
        .args(["--relay", &colleagues_base, "--directory", &directory, "--skip", &skip])
        .args(["--overstay", OVERSTAYS, "--asks-help", ASKS_HELP, "--closes-ccp", CLOSES_CCP])
        .spawn()
        .context("starting the simulated colleagues")?;

    println!();
    for (i, address) in addresses.iter().enumerate().skip(1) {
        println!("relay node {} on http://{address} (the simulated colleagues' node)", i + 1);
    }
    if nodes > 1 {
        println!("  the nodes are joined by {}: see each node's /readyz and /metrics", cluster_args[1]);
    }
    println!("CCP Sidecar relay listening on {base}");
    println!("  WebSocket:    ws://{listen}/ws");
    println!("  health:       {base}/healthz   metrics: {base}/metrics");
    println!("  dev issuer:   {base}/dev/oidc  (demo only; refused off loopback)");
    println!("  a token for you ({YOU}):");
    println!(
        "    curl -s -X POST {base}/dev/oidc/token -H 'content-type: application/json' -d '{{\"email\":\"{YOU}\"}}'"
    );
    println!("  simulated colleagues are changing state and will answer chat. Ctrl-C stops.");
    println!("  Amazon Connect stand-in: {connect_url} (its requests: {connect_url}/_fake/log)");
    println!();
    let mut browser = Command::new("node")
        .args(["tests/demo/browser.js", &base, YOU, YOUR_USERNAME, SCREENSHOTS, SUPERVISOR, &connect_url])
        .env("SIDECAR_CHROMIUM", crate::setup::CHROMIUM)
        .spawn()
        .context("starting Chromium with the extension (node tests/demo/browser.js)")?;

    let started = Instant::now();
    loop {
        for relay in &mut relays {
            if let Some(status) = relay.try_wait()? {
                stop(&mut colleagues);
                terminate(&mut browser)?;
                terminate_all(&mut relays)?;
                bail!("a relay exited ({status})");
            }
        }
        if let Some(status) = browser.try_wait()? {
            stop(&mut colleagues);
            terminate_all(&mut relays)?;
            if status.success() {
                println!("demo stopped: the browser was closed");
                return Ok(());
            }
            bail!("the demo browser exited ({status})");
        }
        if seconds.is_some_and(|s| started.elapsed() >= Duration::from_secs(s)) {
            terminate(&mut browser)?;
            stop(&mut colleagues);
            terminate_all(&mut relays)?;
            println!("demo stopped after {} s", started.elapsed().as_secs());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A child process killed when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

/// The demo directory with generated colleagues added up to `agents` simulated ones, in four
/// teams (a floor of a few hundred); written to [`GENERATED_DIRECTORY`], whose path it returns.
fn more_colleagues(agents: usize) -> anyhow::Result<String> {
    let mut file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(DIRECTORY)?)?;
    let users = file["users"].as_array_mut().context("the demo directory lists no users")?;
    let listed = users
        .iter()
        .filter(|u| u["id"] != YOU && u["id"] != SUPERVISOR && !CONNECT_ONLY.iter().any(|(id, _, _)| u["id"] == *id))
        .count();
    // Two in three Japanese names (family name first), the others English.
    let ja_family = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"];
    let ja_given = ["陽翔", "結衣", "蓮", "葵", "湊", "陽葵", "大翔", "凛", "悠真", "美咲", "翔太", "さくら"];
    let en_family = ["Smith", "Garcia", "Kim", "Nguyen", "Brown", "Silva", "Chen", "Patel", "Lopez", "Khan"];
    let en_given = ["Emma", "Liam", "Noah", "Mia", "Priya", "Omar", "Lucas", "Sofia", "Arjun", "Chloe"];
    let teams = ["tokyo", "osaka", "nagoya", "fukuoka"];
    for i in 0..agents.saturating_sub(listed) {
        // The how-manyth Japanese or English name this is.
        let (ja, en) = (i - i / 3, i / 3);
        let name = if i % 3 < 2 {
            format!("{} {}", ja_family[ja % ja_family.len()], ja_given[(ja / ja_family.len()) % ja_given.len()])
        } else {
            format!("{} {}", en_given[en % en_given.len()], en_family[(en / en_given.len()) % en_family.len()])
        };
        // The stand-in names user `n` of the file `u-{n:06}`.
        let connect_user_id = format!("u-{:06}", users.len());
        users.push(serde_json::json!({
            "connect_user_id": connect_user_id, "id": format!("agent{i:04}@example.com"), "username": format!("agent{i:04}"), "display_name": name,
            "team": teams[i % teams.len()], "routing_profile": "Basic",
        }));
    }
    std::fs::create_dir_all(".data/demo")?;
    std::fs::write(GENERATED_DIRECTORY, serde_json::to_string_pretty(&file)?)?;
    Ok(GENERATED_DIRECTORY.to_owned())
}

/// `connect-fake` on a free loopback port holding `directory`'s users, the demo's Connect-only
/// agents and the colleague who closes their CCP set in its real-time data. Returns the process
/// and its URL and instance id.
fn start_connect(directory: &str) -> anyhow::Result<(KillOnDrop, String, String)> {
    use std::io::BufRead as _;
    let mut child = Command::new("target/release/connect-fake")
        .args(["--listen", "127.0.0.1:0", "--directory", directory])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting connect-fake")?;
    let stdout = child.stdout.take().context("connect-fake's output")?;
    let child = KillOnDrop(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let (url, instance) = line
        .trim()
        .strip_prefix("connect-fake listening on ")
        .and_then(|rest| rest.split_once(" instance "))
        .context("connect-fake did not start")?;
    let (url, instance) = (url.to_owned(), instance.to_owned());
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(directory)?)?;
    let users = file["users"].as_array().context("the demo directory lists no users")?;
    let connect_id = |email: &str| {
        users.iter().find(|u| u["id"] == email).and_then(|u| u["connect_user_id"].as_str()).map(str::to_owned)
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let minutes = |m: i64| now - m * 60_000;
    let mut agents: Vec<(&str, serde_json::Value)> = CONNECT_ONLY
        .iter()
        .enumerate()
        .map(|(i, (email, status, call))| {
            let contacts: Vec<serde_json::Value> = call
                .iter()
                .map(|state| serde_json::json!({"contact_id": format!("demo-call-{i}"), "state": state, "since_ms": minutes(4)}))
                .collect();
            (*email, serde_json::json!({"status": status, "since_ms": minutes(3 + 7 * i as i64), "contacts": contacts}))
        })
        .collect();
    agents.push((CLOSES_CCP, serde_json::json!({"status": "Available", "since_ms": minutes(14), "contacts": []})));
    let host = url.trim_start_matches("http://");
    for (email, body) in agents {
        let id = connect_id(email).with_context(|| format!("{email} has no connect_user_id in {directory}"))?;
        let response = http_request(host, "PUT", &format!("/_fake/agents/{id}"), Some(&body.to_string()));
        if !response.as_deref().is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            bail!("connect-fake did not take {email}'s real-time data: {response:?}");
        }
    }
    Ok((child, url, instance))
}

fn wait_ready(relay: &mut Child, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let host = base.trim_start_matches("http://");
    while Instant::now() < deadline {
        if let Some(status) = relay.try_wait()? {
            bail!("the relay exited during start-up ({status}); is {host} already in use? try --listen 127.0.0.1:PORT");
        }
        if http_ok(host, "/readyz") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the relay did not become ready on {host}")
}

fn http_ok(host: &str, path: &str) -> bool {
    http_get(host, path).is_some_and(|r| r.starts_with("HTTP/1.1 200"))
}

/// A minimal HTTP GET, so xtask needs no HTTP client: the whole response.
fn http_get(host: &str, path: &str) -> Option<String> {
    http_request(host, "GET", path, None)
}

/// A minimal HTTP request with an optional JSON body: the whole response.
fn http_request(host: &str, method: &str, path: &str, json: Option<&str>) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let body = json.unwrap_or_default();
    let content_type = if json.is_some() { "content-type: application/json\r\n" } else { "" };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{content_type}content-length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    Some(response)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn terminate_all(children: &mut [Child]) -> anyhow::Result<()> {
    for child in children {
        terminate(child)?;
    }
    Ok(())
}

/// Waits until the first node's `/readyz` says every node has joined.
fn wait_cluster(listen: &str, nodes: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let wanted = format!("cluster up nodes {nodes}\n");
    while Instant::now() < deadline {
        if http_get(listen, "/readyz").is_some_and(|r| r.contains(&wanted)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the {nodes} relay nodes did not join one cluster within 20 s")
}

fn terminate(child: &mut Child) -> anyhow::Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status()?;
    child.wait()?;
    Ok(())
}
