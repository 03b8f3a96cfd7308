//! Supervisor alerts: the thresholds IT or a supervisor sets ([`AlertSettings`], part of
//! [`crate::config::Settings`]) and the names of an alert episode ([`Rule`], [`AlertKey`]) that
//! the panel and the worker exchange (a dismissal names its episode).
//!
//! Thresholds are minutes, whole or fractional ([`Minutes`]): `15` is a quarter of an hour and
//! `0.05` is three seconds, which the end-to-end tests use. `0` turns a rule off. A value that is
//! not a number of minutes (negative, a string, ...) counts as not set, so a bad alert setting
//! never costs the relay URL beside it: settings are decoded as a whole, and a failed decode
//! falls back to the defaults.

use std::collections::BTreeMap;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::Millis;
use crate::tagged::tagged_enum;

/// A threshold as settings write it: a number of minutes ≥ 0, fractions allowed. Kept as whole
/// milliseconds (so it is exact and `Eq`), at most [`Minutes::MAX`] (larger values are taken as
/// that: "never", in practice).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minutes {
    millis: u64,
}

impl Minutes {
    /// One year.
    pub const MAX: Minutes = Minutes { millis: 366 * 24 * 60 * 60_000 };

    pub const fn whole(minutes: u32) -> Self {
        Self::from_millis(minutes as u64 * 60_000)
    }

    pub const fn from_millis(millis: u64) -> Self {
        Self { millis: if millis > Self::MAX.millis { Self::MAX.millis } else { millis } }
    }

    pub const fn millis(self) -> u64 {
        self.millis
    }

    /// `0`: the rule it sets is off.
    pub const fn is_off(self) -> bool {
        self.millis == 0
    }
}

impl Serialize for Minutes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.millis.is_multiple_of(60_000) {
            s.serialize_u64(self.millis / 60_000)
        } else {
            s.serialize_f64(self.millis as f64 / 60_000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Minutes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Minutes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of minutes, 0 or more")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Minutes, E> {
                Ok(Minutes::from_millis(v.saturating_mul(60_000)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Minutes, E> {
                u64::try_from(v).map_err(|_| E::custom("a negative number of minutes")).and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Minutes, E> {
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(E::custom("not a number of minutes, 0 or more"));
                }
                // Float to integer casts saturate; `MAX` clamps the rest.
                Ok(Minutes::from_millis((v * 60_000.0).round() as u64))
            }
        }
        d.deserialize_any(V)
    }
}

/// Alert thresholds from one source (managed policy or the options page); every field may be
/// missing, and a missing one comes from the next source, then from the defaults (the `floor`
/// crate merges them). Unknown fields are ignored and an invalid value counts as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// On a contact (connected or on hold) longer than this.
    #[serde(deserialize_with = "lenient_minutes", skip_serializing_if = "Option::is_none")]
    pub contact_minutes: Option<Minutes>,
    /// A contact on hold longer than this.
    #[serde(deserialize_with = "lenient_minutes", skip_serializing_if = "Option::is_none")]
    pub hold_minutes: Option<Minutes>,
    /// In after-contact work longer than this.
    #[serde(deserialize_with = "lenient_minutes", skip_serializing_if = "Option::is_none")]
    pub acw_minutes: Option<Minutes>,
    /// In a not-routable state without its own entry in `not_routable` longer than this.
    #[serde(deserialize_with = "lenient_minutes", skip_serializing_if = "Option::is_none")]
    pub not_routable_minutes: Option<Minutes>,
    /// Per not-routable state, by its name as the CCP shows it (`休憩`: 30, `管理業務中`: 60).
    /// Entries merge one by one; an invalid entry is dropped alone.
    #[serde(deserialize_with = "lenient_map", skip_serializing_if = "Option::is_none")]
    pub not_routable: Option<BTreeMap<String, Minutes>>,
    /// A missed contact or an error state alerts at once.
    #[serde(deserialize_with = "lenient_bool", skip_serializing_if = "Option::is_none")]
    pub missed_or_error: Option<bool>,
}

/// Any JSON value, kept only if it is a scalar: what the lenient fields below read, so that a
/// value of the wrong type is consumed and dropped instead of failing its container, without
/// buffering it (`serde_json::Value`'s deserializer costs both Wasm modules about 10 KB).
pub(crate) enum Scalar {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Signed(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl Scalar {
    fn minutes(self) -> Option<Minutes> {
        let millis = match self {
            Scalar::Unsigned(v) => v.saturating_mul(60_000),
            Scalar::Signed(v) => u64::try_from(v).ok()?.saturating_mul(60_000),
            // Float to integer casts saturate; `Minutes::MAX` clamps the rest.
            Scalar::Float(v) if v >= 0.0 && v.is_finite() => (v * 60_000.0).round() as u64,
            _ => return None,
        };
        Some(Minutes::from_millis(millis))
    }
}

fn lenient_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Minutes>, D::Error> {
    Ok(Scalar::deserialize(d)?.minutes())
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Bool(b) => Some(b),
        _ => None,
    })
}

/// A map of state names to minutes; an invalid entry is dropped alone, anything but a map is
/// `None`.
fn lenient_map<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BTreeMap<String, Minutes>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<BTreeMap<String, Minutes>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("state names and minutes")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = BTreeMap::new();
            while let Some((name, value)) = map.next_entry::<String, Scalar>()? {
                if let Some(minutes) = value.minutes() {
                    entries.insert(name, minutes);
                }
            }
            Ok(Some(entries))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq)
        }
    }
    d.deserialize_any(OrNone(V))
}

/// Alert settings, or `None` for anything but an object (whose fields are lenient themselves).
pub(crate) fn lenient_alerts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AlertSettings>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<AlertSettings>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("alert settings")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            AlertSettings::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            skip_seq(seq)
        }
    }
    d.deserialize_any(OrNone(V))
}

/// A list of strings, or `None` for anything else (a list with anything but strings in it too).
pub(crate) fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Vec<String>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of strings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut all = Some(Vec::new());
            while let Some(item) = seq.next_element::<Scalar>()? {
                match (item, &mut all) {
                    (Scalar::Text(text), Some(list)) => list.push(text),
                    _ => all = None,
                }
            }
            Ok(all)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(OrNone(V))
}

/// A country as ISO 3166 alpha-2 letters (`JP`, `us` read as `US`), or `None` for anything else.
pub(crate) fn lenient_country<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Text(text) => crate::config::country_code(&text),
        _ => None,
    })
}

/// A UI language the extension speaks (`ja`, `en-US` read as `en`), or `None` for anything
/// else (`auto` included).
pub(crate) fn lenient_language<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Scalar::deserialize(d)? {
        Scalar::Text(text) => crate::locale::language(&text).map(str::to_owned),
        _ => None,
    })
}

/// Reads a list to its end and makes it `None` (a list where a map belongs).
fn skip_seq<'de, A: SeqAccess<'de>, T>(mut seq: A) -> Result<Option<T>, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(None)
}

/// A visitor that reads containers as `V` does (`V` says what a map and a list are) and makes
/// every scalar `None`.
struct OrNone<V>(V);

impl<'de, T, V: Visitor<'de, Value = Option<T>>> Visitor<'de> for OrNone<V> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

tagged_enum! {
    /// What an alert is about. Decoded tag first (`tagged.rs`): the worker reads it in a
    /// dismissal and from storage, where serde's buffering decoder would cost its Wasm.
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Rule {
        /// On a contact (connected or on hold) too long.
        LongContact,
        /// A contact on hold too long.
        LongHold,
        /// In after-contact work too long.
        LongAcw,
        /// In the not-routable state `state` too long.
        NotRoutable { state: String },
        /// A missed contact (`MissedCallAgent`, or the contact reported missed).
        Missed,
        /// Any other error state (`FailedConnectAgent`, `FailedConnectCustomer`, ...).
        ErrorState,
        /// Connect shows the agent routable, in a state that began before their CCP with the
        /// extension closed: contacts will be routed to nobody. At once.
        CcpClosed,
    }
}

impl Rule {
    /// The rule's tag (`long_hold`), for the names of its messages (`rule_long_hold`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::LongContact => "long_contact",
            Self::LongHold => "long_hold",
            Self::LongAcw => "long_acw",
            Self::NotRoutable { .. } => "not_routable",
            Self::Missed => "missed",
            Self::ErrorState => "error_state",
            Self::CcpClosed => "ccp_closed",
        }
    }

    /// Every rule's tag, for checks that each has its messages.
    pub const TAGS: [&'static str; 7] =
        ["long_contact", "long_hold", "long_acw", "not_routable", "missed", "error_state", "ccp_closed"];
}

/// One episode of an alert: one occurrence of a state, named by the agent, the rule and when
/// the state (or the contact's state) began. A later occurrence of the same rule is another
/// episode, so dismissing one never silences the next.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertKey {
    pub principal: String,
    pub rule: Rule,
    pub since: Millis,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn minutes_are_whole_or_fractional_and_never_negative() {
        let read = |v: serde_json::Value| serde_json::from_value::<Minutes>(v).ok().map(Minutes::millis);
        assert_eq!(read(json!(15)), Some(900_000));
        assert_eq!(read(json!(0.05)), Some(3_000));
        assert_eq!(read(json!(0)), Some(0));
        assert_eq!(read(json!(1e300)), Some(Minutes::MAX.millis()));
        assert_eq!(read(json!(u64::MAX)), Some(Minutes::MAX.millis()));
        assert_eq!(read(json!(-1)), None);
        assert_eq!(read(json!(-0.5)), None);
        assert_eq!(read(json!("15")), None);
        assert_eq!(serde_json::to_value(Minutes::whole(15)).unwrap(), json!(15));
        assert_eq!(serde_json::to_value(Minutes::from_millis(3_000)).unwrap(), json!(0.05));
        assert!(Minutes::whole(0).is_off() && !Minutes::from_millis(1).is_off());
    }

    #[test]
    fn an_invalid_value_counts_as_missing_and_spares_the_rest() {
        let settings: AlertSettings = serde_json::from_value(json!({
            "contact_minutes": "long", "hold_minutes": -3, "acw_minutes": 5, "not_routable_minutes": 0.5,
            "not_routable": {"休憩": 30, "bad": "x", "管理業務中": 60}, "missed_or_error": 1, "later": true
        }))
        .unwrap();
        assert_eq!(
            settings,
            AlertSettings {
                acw_minutes: Some(Minutes::whole(5)),
                not_routable_minutes: Some(Minutes::from_millis(30_000)),
                not_routable: Some(BTreeMap::from([
                    ("休憩".into(), Minutes::whole(30)),
                    ("管理業務中".into(), Minutes::whole(60))
                ])),
                ..AlertSettings::default()
            }
        );
        let bad_map: AlertSettings = serde_json::from_value(json!({"not_routable": [1]})).unwrap();
        assert_eq!(bad_map, AlertSettings::default());
        // Written back without the missing fields.
        assert_eq!(
            serde_json::to_value(&settings).unwrap(),
            json!({"acw_minutes": 5, "not_routable_minutes": 0.5, "not_routable": {"休憩": 30, "管理業務中": 60}})
        );
    }

    #[test]
    fn keys_name_the_rule_by_type() {
        let key = AlertKey {
            principal: "sato@example.com".into(),
            rule: Rule::NotRoutable { state: "休憩".into() },
            since: 7,
        };
        let text =
            json!({"principal": "sato@example.com", "rule": {"type": "not_routable", "state": "休憩"}, "since": 7});
        assert_eq!(serde_json::to_value(&key).unwrap(), text);
        assert_eq!(serde_json::from_value::<AlertKey>(text).unwrap(), key);
        assert_eq!(serde_json::to_value(Rule::LongAcw).unwrap(), json!({"type": "long_acw"}));
        let rules = [
            Rule::LongContact,
            Rule::LongHold,
            Rule::LongAcw,
            Rule::NotRoutable { state: "x".into() },
            Rule::Missed,
            Rule::ErrorState,
        ];
        for (rule, tag) in rules.iter().zip(Rule::TAGS) {
            assert_eq!(serde_json::to_value(rule).unwrap()["type"], tag);
            assert_eq!(rule.as_str(), tag);
        }
        assert!(serde_json::from_value::<Rule>(json!({"type": "not_routable", "state": "x", "y": 1})).is_err());
        assert!(
            serde_json::from_value::<AlertKey>(
                json!({"principal": "a", "rule": {"type": "missed"}, "since": 1, "y": 1})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<Rule>(json!({"type": "coffee"})).is_err());
    }
}
