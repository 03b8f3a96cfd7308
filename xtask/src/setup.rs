//! Installs what the Wasm build and the browser tests need, idempotently: the wasm32 target, the
//! wasm-bindgen CLI at the exact version the crates pin, Chromium with its driver, openssl, and the
//! end-to-end suite's npm packages (Playwright's library, never its browsers; the Streams library),
//! the Python tools of `tools/requirements.txt` in a virtual environment of the project's own, and
//! `redis-server`.

use std::process::Command;

use anyhow::bail;

use crate::run;

/// Must equal the `wasm-bindgen = "=..."` pin in the root `Cargo.toml`.
pub const WASM_BINDGEN: &str = "0.2.130";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn answers(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn wasm() -> anyhow::Result<()> {
    let targets = answers("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !targets.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        run::step("setup", "rustup", &["target", "add", "wasm32-unknown-unknown"])?;
    }
    let version = answers("wasm-bindgen", &["--version"]).unwrap_or_default();
    if !version.contains(WASM_BINDGEN) {
        run::step("setup", "cargo", &["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN])?;
    }
    Ok(())
}

pub fn browser() -> anyhow::Result<()> {
    // Japanese text in screenshots needs a CJK font; Debian's Chromium brings none.
    // The panels' few symbols (✋ on Ask for help) need an emoji font.
    let fonts = std::path::Path::new("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc").exists()
        && std::path::Path::new("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").exists();
    // openssl: the package's extension id from its key (`dist --crx`, the rollout tests).
    let openssl = answers("openssl", &["version"]).is_some();
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() || !fonts || !openssl {
        apt(&["chromium", "chromium-driver", "fonts-noto-cjk", "fonts-noto-color-emoji", "openssl"], true)?;
    }
    if answers("node", &["--version"]).is_none() {
        bail!("Node.js (18 or later) is needed for the browser tests: apt-get install -y nodejs npm");
    }
    if !std::path::Path::new("tests/node_modules/playwright-core").exists()
        || !std::path::Path::new("tests/node_modules/amazon-connect-streams").exists()
    {
        run::step("setup", "npm", &["ci", "--prefix", "tests", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

/// Installs Debian's `redis-server` (the cluster's tests, `demo --nodes`, `bench cluster` start
/// their own on loopback) unless it is there.
pub fn redis() -> anyhow::Result<()> {
    if answers("redis-server", &["--version"]).is_some() {
        return Ok(());
    }
    apt(&["redis-server"], true)
}

/// `apt-get install -y packages` (after `apt-get update` when asked), through sudo unless root.
fn apt(packages: &[&str], update: bool) -> anyhow::Result<()> {
    let root = answers("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    let (program, prefix): (&str, Vec<&str>) = if root { ("apt-get", vec![]) } else { ("sudo", vec!["apt-get"]) };
    if update {
        let mut args = prefix.clone();
        args.push("update");
        run::step("setup", program, &args)?;
    }
    let mut args = prefix;
    args.extend(["install", "-y"]);
    args.extend(packages);
    run::step("setup", program, &args)
}

/// The project's Python virtual environment.
pub const PYTHON_ENV: &str = ".tools/python";
/// The DynamoDB-compatible server (moto's, requests applied one at a time) on loopback at
/// `port`, for `demo --store dynamodb` and `bench relay --store dynamodb` (the tests start it
/// themselves), once [`python`] has installed it.
pub fn dynamodb_local(port: u16) -> std::process::Command {
    let mut command = Command::new(format!("{PYTHON_ENV}/bin/python"));
    command
        .args(["tools/dynamodb_local.py", "127.0.0.1", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    command
}
const REQUIREMENTS: &str = "tools/requirements.txt";

/// Installs `tools/requirements.txt` into [`PYTHON_ENV`] unless that very file was installed
/// there last (a copy is kept beside the environment).
pub fn python() -> anyhow::Result<()> {
    let wanted = std::fs::read_to_string(REQUIREMENTS)?;
    let stamp = std::path::Path::new(PYTHON_ENV).join("installed-requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(());
    }
    // Debian's python3 has the venv module without ensurepip, which creating one needs.
    if answers("python3", &["-c", "import ensurepip, venv"]).is_none() {
        apt(&["python3", "python3-venv", "python3-pip"], false)?;
    }
    run::step("setup", "python3", &["-m", "venv", PYTHON_ENV])?;
    let pip = format!("{PYTHON_ENV}/bin/pip");
    run::step("setup", &pip, &["install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS])?;
    std::fs::write(stamp, wanted)?;
    Ok(())
}
