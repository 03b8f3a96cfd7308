//! The directory: who exists, their display names, and which roster each belongs to.
//!
//! Loaded from the store at start (after importing `--directory-file`, if given), kept in
//! memory for lookups on every connection.

use std::collections::HashMap;
use std::path::Path;
use std::sync::RwLock;

use protocol::{DirectoryFile, DirectoryUser};

use crate::config::RosterBy;

/// The roster everyone is in with `--roster-by single`, and the one for people the directory
/// does not place.
pub const ALL: &str = "all";
pub const UNASSIGNED: &str = "unassigned";

pub struct Directory {
    by_id: RwLock<HashMap<String, DirectoryUser>>,
    roster_by: RosterBy,
}

/// Why a directory file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read directory file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("directory file {0}: {1}")]
    Parse(String, String),
}

impl Directory {
    pub fn new(roster_by: RosterBy, users: Vec<DirectoryUser>) -> Self {
        let by_id = users.into_iter().map(|u| (u.id.clone(), u)).collect();
        Self { by_id: RwLock::new(by_id), roster_by }
    }

    /// Reads a directory file: JSON (`{"users": [...], "routing_profiles": [...]}`) or TOML
    /// (`[[users]]`, `[[routing_profiles]]`), by extension. Caller-ID numbers must be E.164.
    pub fn read_file(path: &Path) -> Result<DirectoryFile, DirectoryError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DirectoryError::Read(name.clone(), e))?;
        Self::parse(&name, &text, path.extension().is_some_and(|e| e == "toml"))
    }

    /// Parses and checks the text of a directory file named `name` (for messages): TOML when
    /// `is_toml`, JSON otherwise. What `read_file` does once it has the text; the
    /// `config_file` fuzz target feeds it any text.
    pub fn parse(name: &str, text: &str, is_toml: bool) -> Result<DirectoryFile, DirectoryError> {
        let name = name.to_owned();
        let file: DirectoryFile = if is_toml {
            toml::from_str(text).map_err(|e| DirectoryError::Parse(name.clone(), e.to_string()))?
        } else {
            serde_json::from_str(text).map_err(|e| DirectoryError::Parse(name.clone(), e.to_string()))?
        };
        let mut seen = std::collections::HashSet::new();
        for user in &file.users {
            if user.id.is_empty() {
                return Err(DirectoryError::Parse(name, "a user has an empty id".into()));
            }
            if !seen.insert(&user.id) {
                return Err(DirectoryError::Parse(name, format!("user {:?} appears twice", user.id)));
            }
        }
        let mut profiles = std::collections::HashSet::new();
        for profile in &file.routing_profiles {
            if !profiles.insert(&profile.id) {
                return Err(DirectoryError::Parse(name, format!("routing profile {:?} appears twice", profile.id)));
            }
            for caller_id in &profile.caller_ids {
                let e164 = crate::numbers::normalize(&caller_id.number, phonenumber::country::Id::US);
                if !caller_id.number.starts_with('+') || e164.as_deref() != Ok(caller_id.number.as_str()) {
                    return Err(DirectoryError::Parse(
                        name,
                        format!(
                            "caller ID {:?} of queue {:?} is not a valid E.164 number",
                            caller_id.number, caller_id.queue_name
                        ),
                    ));
                }
            }
        }
        Ok(file)
    }

    /// Replaces every user (a new read of the directory).
    pub fn replace(&self, users: Vec<DirectoryUser>) {
        if let Ok(mut by_id) = self.by_id.write() {
            *by_id = users.into_iter().map(|u| (u.id.clone(), u)).collect();
        }
    }

    pub fn user(&self, id: &str) -> Option<DirectoryUser> {
        self.by_id.read().ok()?.get(id).cloned()
    }

    pub fn users(&self) -> Vec<DirectoryUser> {
        self.by_id.read().map(|m| m.values().cloned().collect()).unwrap_or_default()
    }

    /// The roster a principal belongs to.
    pub fn roster_of(&self, id: &str) -> String {
        let field = |u: &DirectoryUser| match self.roster_by {
            RosterBy::Single => Some(ALL.to_owned()),
            RosterBy::Team => u.team.clone(),
            RosterBy::RoutingProfile => u.routing_profile.clone(),
            RosterBy::HierarchyGroup => u.hierarchy_group.clone(),
        };
        if self.roster_by == RosterBy::Single {
            return ALL.to_owned();
        }
        self.user(id).as_ref().and_then(field).unwrap_or_else(|| UNASSIGNED.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, team: Option<&str>) -> DirectoryUser {
        DirectoryUser {
            id: id.into(),
            username: None,
            display_name: id.into(),
            team: team.map(Into::into),
            routing_profile: Some("rp".into()),
            hierarchy_group: None,
            connect_user_id: None,
        }
    }

    #[test]
    fn rosters_follow_the_configured_field() {
        let users = vec![user("a", Some("tokyo")), user("b", None)];
        let by_team = Directory::new(RosterBy::Team, users.clone());
        assert_eq!(by_team.roster_of("a"), "tokyo");
        assert_eq!(by_team.roster_of("b"), UNASSIGNED);
        assert_eq!(by_team.roster_of("stranger"), UNASSIGNED);
        assert_eq!(Directory::new(RosterBy::RoutingProfile, users.clone()).roster_of("b"), "rp");
        assert_eq!(Directory::new(RosterBy::Single, users).roster_of("stranger"), ALL);
    }

    #[test]
    fn files_with_duplicates_or_unknown_fields_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        std::fs::write(&path, r#"{"users": [{"id": "a", "display_name": "A"}, {"id": "a", "display_name": "B"}]}"#)
            .unwrap();
        assert!(Directory::read_file(&path).unwrap_err().to_string().contains("twice"));
        std::fs::write(&path, r#"{"users": [{"id": "a", "display_name": "A", "tema": "x"}]}"#).unwrap();
        assert!(Directory::read_file(&path).unwrap_err().to_string().contains("tema"));
        let toml = dir.path().join("d.toml");
        std::fs::write(&toml, "[[users]]\nid = \"a\"\ndisplay_name = \"愛\"\nteam = \"t\"\n").unwrap();
        assert_eq!(Directory::read_file(&toml).unwrap().users[0].display_name, "愛");
    }
}
