//! The alert thresholds in force: managed policy over the options page over the defaults, field
//! by field, and which fields policy fixes (the options page shows those as set by the
//! organisation, read-only).
//!
//! The per-state map merges entry by entry: policy's `休憩` wins over the options page's `休憩`,
//! and the options page may add states policy does not name. A state's own entry wins over the
//! general not-routable threshold, wherever each comes from. State names match after
//! [`fold`] (case, width, kana) and trimming, as an administrator may type
//! `break` for the CCP's `Break`.
//!
//! A threshold of `0` turns its rule off (a state such as `研修` may be long by design).

use std::collections::{BTreeMap, BTreeSet};

use protocol::alerts::{AlertSettings, Minutes};
use protocol::config::Settings;
use protocol::{Millis, Rule};

use crate::text::fold;

/// The defaults, as a contact-center supervisor would expect them with nothing configured:
///
/// - **Contact 15 min**: two to three times a typical voice handle time (5–7 min); a call that
///   long may need help, and chats, which run longer, are still under it most of the time.
/// - **Hold 3 min**: callers grow restless after a minute or two on hold and guidance is to
///   check back about every minute, so three minutes without a return is worth a look.
/// - **After-contact work 5 min**: wrap-up usually takes well under two minutes; five means an
///   agent is stuck or forgot to leave it.
/// - **Not routable 30 min**: longer than any usual break (10–15 min); states that are long by
///   design (lunch, training, 管理業務中) get their own entry from the administrator.
/// - **Missed contacts and error states at once**: an agent in `MissedCallAgent` takes no
///   contacts until someone notices.
///
/// Amber at the threshold, red at twice it (missed and error: red at once).
pub mod defaults {
    use protocol::alerts::Minutes;

    pub const CONTACT: Minutes = Minutes::whole(15);
    pub const HOLD: Minutes = Minutes::whole(3);
    pub const ACW: Minutes = Minutes::whole(5);
    pub const NOT_ROUTABLE: Minutes = Minutes::whole(30);
    pub const MISSED_OR_ERROR: bool = true;
}

/// The thresholds in force. A [`Minutes`] of zero is a rule turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    pub contact: Minutes,
    pub hold: Minutes,
    pub acw: Minutes,
    /// Any not-routable state without its own entry.
    pub not_routable: Minutes,
    /// By folded state name: the name as written and its threshold.
    states: BTreeMap<String, (String, Minutes)>,
    pub missed_or_error: bool,
    /// What policy fixes.
    pub locked: Locked,
}

/// The fields managed policy sets; the options page shows them read-only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locked {
    pub contact: bool,
    pub hold: bool,
    pub acw: bool,
    pub not_routable: bool,
    pub missed_or_error: bool,
    /// Per-state entries policy sets, by folded name.
    states: BTreeSet<String>,
}

impl Locked {
    /// Whether policy sets the entry of the state `name`.
    pub fn state(&self, name: &str) -> bool {
        self.states.contains(&key(name))
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self::resolve(None, None)
    }
}

fn key(name: &str) -> String {
    fold(name.trim())
}

impl Thresholds {
    /// Policy over options over the defaults, field by field (and state by state).
    pub fn resolve(policy: Option<&AlertSettings>, options: Option<&AlertSettings>) -> Self {
        let empty = AlertSettings::default();
        let (policy, options) = (policy.unwrap_or(&empty), options.unwrap_or(&empty));
        fn pick<T: Copy>(p: Option<T>, o: Option<T>, default: T) -> (T, bool) {
            (p.or(o).unwrap_or(default), p.is_some())
        }
        let (contact, contact_locked) = pick(policy.contact_minutes, options.contact_minutes, defaults::CONTACT);
        let (hold, hold_locked) = pick(policy.hold_minutes, options.hold_minutes, defaults::HOLD);
        let (acw, acw_locked) = pick(policy.acw_minutes, options.acw_minutes, defaults::ACW);
        let (not_routable, nr_locked) =
            pick(policy.not_routable_minutes, options.not_routable_minutes, defaults::NOT_ROUTABLE);
        let (missed_or_error, moe_locked) =
            pick(policy.missed_or_error, options.missed_or_error, defaults::MISSED_OR_ERROR);

        fn entries(s: &AlertSettings) -> impl Iterator<Item = (String, (String, Minutes))> + '_ {
            let named = s.not_routable.iter().flatten().filter(|(name, _)| !name.trim().is_empty());
            named.map(|(name, m)| (key(name), (name.trim().to_owned(), *m)))
        }
        // Options first, then policy over them.
        let mut states: BTreeMap<String, (String, Minutes)> = entries(options).collect();
        let mut locked_states = BTreeSet::new();
        for (k, entry) in entries(policy) {
            locked_states.insert(k.clone());
            states.insert(k, entry);
        }
        Self {
            contact,
            hold,
            acw,
            not_routable,
            states,
            missed_or_error,
            locked: Locked {
                contact: contact_locked,
                hold: hold_locked,
                acw: acw_locked,
                not_routable: nr_locked,
                missed_or_error: moe_locked,
                states: locked_states,
            },
        }
    }

    /// From the managed and the options page's settings as stored.
    pub fn from_settings(managed: &Settings, options: &Settings) -> Self {
        Self::resolve(managed.alerts.as_ref(), options.alerts.as_ref())
    }

    /// The not-routable state `name`'s threshold: its own entry, else the general one.
    pub fn not_routable_for(&self, name: &str) -> Minutes {
        self.states.get(&key(name)).map_or(self.not_routable, |(_, m)| *m)
    }

    /// The per-state entries in force, by name as written (for the options page).
    pub fn states(&self) -> impl Iterator<Item = (&str, Minutes)> {
        self.states.values().map(|(name, m)| (name.as_str(), *m))
    }

    /// How long `rule`'s state may last before it alerts, in milliseconds: `Some(0)` alerts at
    /// once, `None` never (the rule is off).
    pub fn for_rule(&self, rule: &Rule) -> Option<Millis> {
        let minutes = match rule {
            Rule::LongContact => self.contact,
            Rule::LongHold => self.hold,
            Rule::LongAcw => self.acw,
            Rule::NotRoutable { state } => self.not_routable_for(state),
            Rule::Missed | Rule::ErrorState => return self.missed_or_error.then_some(0),
            // Contacts routed to a CCP nobody has open: always, at once.
            Rule::CcpClosed => return Some(0),
        };
        (!minutes.is_off()).then_some(minutes.millis() as Millis)
    }
}

#[cfg(test)]
mod tests;
