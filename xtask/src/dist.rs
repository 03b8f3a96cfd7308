//! `cargo xtask dist`: builds the worker and the panel for wasm32, runs wasm-bindgen, and
//! assembles the unpacked extension in `dist/extension/`.

use std::fs;
use std::path::Path;

use anyhow::Context as _;

use crate::{run, setup};

pub const DIST: &str = "dist/extension";

pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

pub fn build() -> anyhow::Result<()> {
    setup::wasm()?;
    run::step(
        "wasm build",
        "cargo",
        &["build", "--profile", "wasm", "--target", "wasm32-unknown-unknown", "-p", "worker", "-p", "extension"],
    )?;
    let out = Path::new(DIST);
    if out.exists() {
        fs::remove_dir_all(out)?;
    }
    fs::create_dir_all(out.join("pkg"))?;
    for krate in ["worker", "extension"] {
        let wasm = format!("target/wasm32-unknown-unknown/wasm/{krate}.wasm");
        run::step(
            "wasm-bindgen",
            "wasm-bindgen",
            &[
                "--target",
                "web",
                "--no-typescript",
                "--remove-name-section",
                "--remove-producers-section",
                "--out-dir",
                "dist/extension/pkg",
                &wasm,
            ],
        )?;
    }
    for file in [
        "manifest/manifest.json",
        "manifest/schema.json",
        "extension/panel.html",
        "extension/options.html",
        "extension/floor.html",
        "assets/panel.css",
    ] {
        let name = Path::new(file).file_name().context("file name")?;
        fs::copy(file, out.join(name)).with_context(|| format!("copying {file}"))?;
    }
    for file in ["hook.js", "content.js", "worker.js", "panel.js", "options.js", "floor.js"] {
        fs::copy(Path::new("extension/js").join(file), out.join(file)).with_context(|| format!("copying {file}"))?;
    }
    copy_dir(Path::new("assets/_locales"), &out.join("_locales"))?;
    copy_dir(Path::new("assets/icons"), &out.join("icons"))?;
    eprintln!("xtask: the unpacked extension is in {DIST}/");
    Ok(())
}
