//! `cargo xtask dist --crx --key KEY.pem [--version X.Y.Z] [--update-url URL] [--from DIR]
//! [--out DIR]`: the organisation's signed package of the extension, and the update manifest
//! Chrome reads to install and update it.
//!
//! The unpacked build (`dist/extension/`, built first unless `--from` names one) is copied, its
//! manifest given the version and `update_url` and stripped of the development `key` (the
//! package's id follows from the signing key), and packed into a CRX3 by Chromium's own packer
//! (`--pack-extension`). Beside the package: `updates.xml` (gupdate protocol 2.0) naming the id,
//! the version and the package's URL (the update URL's directory), for the relay's
//! `--extension-dir` or any static host.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::{dist, setup};

/// Where packages go unless `--out` says otherwise.
pub const OUT: &str = "dist/package";

struct Options {
    key: PathBuf,
    version: Option<String>,
    update_url: Option<String>,
    from: Option<PathBuf>,
    out: PathBuf,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let (mut key, mut version, mut update_url, mut from, mut out) = (None, None, None, None, PathBuf::from(OUT));
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().with_context(|| format!("{arg} needs a value")).cloned();
        match arg.as_str() {
            "--crx" => {}
            "--key" => key = Some(PathBuf::from(value()?)),
            "--version" => version = Some(value()?),
            "--update-url" => update_url = Some(value()?),
            "--from" => from = Some(PathBuf::from(value()?)),
            "--out" => out = PathBuf::from(value()?),
            other => bail!("unknown dist option {other}"),
        }
    }
    let key = key.context(
        "--key KEY.pem is required: the organisation's signing key (make one once with \
         `openssl genrsa -out sidecar-key.pem 2048` and keep it; see docs/rollout.md)",
    )?;
    if let Some(v) = &version
        && !valid_version(v)
    {
        bail!("--version {v}: Chrome versions are one to four numbers 0–65535 separated by dots (1.4.0)");
    }
    if let Some(url) = &update_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        bail!("--update-url {url}: an http(s) URL of updates.xml");
    }
    Ok(Options { key, version, update_url, from, out })
}

/// Chrome's version format: one to four dot-separated integers of at most 65535, no leading zeros.
pub fn valid_version(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u32>().is_ok_and(|n| n <= 65535)
        })
}

/// The extension id a key gives: the SHA-256 of its public key (DER), first 16 bytes, each
/// nibble as a letter `a`–`p`.
pub fn extension_id(key: &Path) -> anyhow::Result<String> {
    let public = Command::new("openssl")
        .args(["pkey", "-pubout", "-outform", "DER", "-in"])
        .arg(key)
        .output()
        .context("running openssl (apt install openssl)")?;
    if !public.status.success() {
        bail!("openssl could not read the key {}: {}", key.display(), String::from_utf8_lossy(&public.stderr).trim());
    }
    let mut digest = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    {
        use std::io::Write as _;
        digest.stdin.take().context("openssl stdin")?.write_all(&public.stdout)?;
    }
    let hash = digest.wait_with_output()?.stdout;
    if hash.len() != 32 {
        bail!("openssl dgst gave {} bytes, not a SHA-256", hash.len());
    }
    Ok(id_of_hash(&hash))
}

/// The id from a public key's SHA-256.
pub fn id_of_hash(hash: &[u8]) -> String {
    hash[..16].iter().flat_map(|b| [b >> 4, b & 15]).map(|n| char::from(b'a' + n)).collect()
}

/// The update manifest for one package.
pub fn updates_xml(id: &str, version: &str, codebase: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n\
         <gupdate xmlns='http://www.google.com/update2/response' protocol='2.0'>\n  \
         <app appid='{id}'>\n    <updatecheck codebase='{codebase}' version='{version}' />\n  </app>\n\
         </gupdate>\n"
    )
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    let key =
        std::fs::canonicalize(&options.key).with_context(|| format!("reading the key {}", options.key.display()))?;
    let from = match &options.from {
        Some(dir) => dir.clone(),
        None => {
            dist::build()?;
            PathBuf::from(dist::DIST)
        }
    };
    std::fs::create_dir_all(&options.out)?;
    let out = std::fs::canonicalize(&options.out)?;
    let stage = out.join("ccp-sidecar");
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    dist::copy_dir(&from, &stage)?;

    let manifest_path = stage.join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
    let object = manifest.as_object_mut().context("manifest.json is not an object")?;
    object.remove("key");
    if let Some(version) = &options.version {
        object.insert("version".into(), version.clone().into());
    }
    if let Some(url) = &options.update_url {
        object.insert("update_url".into(), url.clone().into());
    }
    let version = object.get("version").and_then(|v| v.as_str()).context("the manifest has no version")?.to_owned();
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)?;

    // Chromium's packer writes `<dir>.crx` beside the directory (and refuses to overwrite a key).
    let crx = out.join("ccp-sidecar.crx");
    let _ = std::fs::remove_file(&crx);
    let packed = Command::new(setup::CHROMIUM)
        .args(["--headless", "--no-sandbox", "--no-message-box"])
        .arg(format!("--pack-extension={}", stage.display()))
        .arg(format!("--pack-extension-key={}", key.display()))
        .output()
        .context("running Chromium's packer")?;
    if !packed.status.success() || !crx.exists() {
        bail!(
            "Chromium could not pack the extension ({}): {}",
            packed.status,
            String::from_utf8_lossy(&packed.stderr).trim()
        );
    }
    let name = format!("ccp-sidecar-{version}.crx");
    std::fs::rename(&crx, out.join(&name))?;
    // Chromium writes it for its owner alone; a web server's user must read it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(out.join(&name), std::fs::Permissions::from_mode(0o644))?;
    }
    std::fs::remove_dir_all(&stage)?;

    let id = extension_id(&key)?;
    println!("xtask: {} (id {id}, version {version})", out.join(&name).display());
    if let Some(url) = &options.update_url {
        let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
        std::fs::write(out.join("updates.xml"), updates_xml(&id, &version, &format!("{base}/{name}")))?;
        println!("xtask: {} (Chrome checks {url})", out.join("updates.xml").display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_follow_chromes_format() {
        for ok in ["1", "0.1.0", "1.2.3.4", "65535.0"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in ["", "1.", "1..2", "01.2", "1.2.3.4.5", "65536", "1.a", "v1.2"] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    #[test]
    fn the_id_is_the_hash_in_letters_a_to_p() {
        let hash: Vec<u8> = (0u8..32).collect();
        assert_eq!(id_of_hash(&hash), "aaabacadaeafagahaiajakalamanaoap");
    }

    #[test]
    fn the_update_manifest_names_the_id_version_and_package() {
        let xml = updates_xml("abc", "1.2.0", "https://relay.example.com/extension/ccp-sidecar-1.2.0.crx");
        assert!(xml.contains("<app appid='abc'>"));
        assert!(xml.contains("codebase='https://relay.example.com/extension/ccp-sidecar-1.2.0.crx' version='1.2.0'"));
        assert!(xml.contains("protocol='2.0'"));
    }
}
