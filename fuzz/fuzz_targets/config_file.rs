//! The relay's files: the TOML config file that `--config` names (`config::parse_file_text`,
//! then `Config::validate`, as `Config::load_from` does) and the directory file of
//! `--directory-file`, JSON or TOML (`Directory::parse`, as `Directory::read_file` does, which
//! also checks every caller ID with libphonenumber).
//!
//! What it proves, for any text: neither parser nor the checks panic; they answer with a
//! configuration or a message. A directory that is accepted keeps every user's id non-empty and
//! unique, and written back as JSON it is accepted again, unchanged.
//!
//! Input: byte 0 chooses the parser (config, directory JSON, directory TOML); the rest is the
//! file's text.

#![no_main]

use std::sync::OnceLock;

use clap::CommandFactory as _;
use libfuzzer_sys::fuzz_target;
use server::config::{self, Config};
use server::directory::Directory;

/// The flags and environment of a relay started with `--config` alone (none of them set).
fn no_flags() -> &'static clap::ArgMatches {
    static MATCHES: OnceLock<clap::ArgMatches> = OnceLock::new();
    MATCHES.get_or_init(|| Config::command().try_get_matches_from(["ccp-sidecar-relay"]).expect("no flags parse"))
}

fuzz_target!(|data: &[u8]| {
    let [kind, rest @ ..] = data else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match kind % 3 {
        0 => {
            if let Ok(config) = config::parse_file_text(no_flags(), text) {
                let _ = config.validate();
            }
        }
        kind => {
            let Ok(file) = Directory::parse("fuzz", text, kind == 2) else { return };
            let mut ids = std::collections::HashSet::new();
            assert!(file.users.iter().all(|u| !u.id.is_empty() && ids.insert(&u.id)), "empty or repeated id accepted");
            let json = serde_json::to_string(&file).expect("a directory encodes");
            let back = Directory::parse("fuzz", &json, false).unwrap_or_else(|e| panic!("written back, refused: {e}"));
            assert_eq!(back, file, "round trip through {json}");
        }
    }
});
