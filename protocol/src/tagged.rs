//! [`tagged_enum!`]: an enum tagged by `"type"` (`{"type": "send_chat", ...fields}`) whose
//! decoder reads the frame once, in place.
//!
//! serde's derive for `#[serde(tag = "type")]` first reads the whole object into its generic
//! `Content` tree, because the tag may come last, and then decodes the variant from that tree.
//! That second decoder is compiled again for every type nested in a variant: in the extension's
//! worker it was a sixth of the Wasm module. Every producer of these frames (serde, and the
//! extension's JavaScript, which builds the objects literally) writes the tag first, so the
//! decoder here reads the tag and then the variant's fields straight from the rest of the object.
//! A frame whose tag comes later (a hand-written one, or a `serde_json::Value`, which sorts its
//! keys) is still accepted: its entries are kept as raw JSON text, put back together with the tag
//! first, and decoded again. That path costs a copy, not a second decoder.
//!
//! `ClientFrame` keeps serde's derive: only the relay decodes it, from clients we do not write,
//! and the relay's size does not matter.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The key that names the variant.
const TAG: &str = "type";

/// Declares an enum tagged by `"type"`, with variant names in snake_case, as every direction of
/// the protocol is.
///
/// The enum is written as usual, with brace or unit variants only and without `Serialize` or
/// `Deserialize` in its derives; it may take type parameters (with defaults, no bounds), which
/// it decodes when they are `DeserializeOwned` (`WorkerToPanel<C, P>`). The macro emits it
/// unchanged with `Serialize` derived as `#[serde(tag = "type", rename_all = "snake_case")]`,
/// and implements `Deserialize` through
/// [`Variants`]: for each variant a private struct with the variant's fields and their
/// attributes, and `#[serde(deny_unknown_fields)]`, decodes the rest of the object once the tag
/// has been read. The JSON accepted and produced is what serde's derive with
/// `#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]` accepts and produces,
/// with two exceptions nothing relied on: serde's derive also took an array with the tag first,
/// and ignored unknown fields beside the tag of a unit variant, which are refused here.
macro_rules! tagged_enum {
    // One variant's fields, decoded from the rest of the object. Its own arm, so that the enum's
    // type parameters (one group, `$params`) can be used inside the repetition over variants.
    (@variant ($($param:ident),*) $map:ident $variant:ident {
        $( $(#[$field_attr:meta])* $field:ident : $ty:ty ),*
    }) => {{
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields<$($param),*> {
            #[serde(skip)]
            _params: ::core::marker::PhantomData<($($param,)*)>,
            $( $(#[$field_attr])* $field : $ty ),*
        }

        let fields: Fields<$($param),*> =
            serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new($map))?;
        let Fields { $($field,)* .. } = fields;
        Ok(Self::$variant { $($field),* })
    }};
    // The match on the tag, one arm a variant.
    (@match $params:tt $map:ident [$($variant:ident $fields:tt)*]) => {
        match $map.next_value::<Tag>()? {
            $(Tag::$variant => $crate::tagged::tagged_enum!(@variant $params $map $variant $fields),)*
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident $(< $($param:ident $(= $default:ty)?),* >)? {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident $({
                    $( $(#[$field_attr:meta])* $field:ident : $ty:ty ),* $(,)?
                })?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(serde::Serialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        $vis enum $name $(< $($param $(= $default)?),* >)? {
            $(
                $(#[$variant_attr])*
                $variant $({ $( $(#[$field_attr])* $field : $ty ),* })?
            ),*
        }

        impl<$($($param: serde::de::DeserializeOwned),*)?> $crate::tagged::Variants for $name<$($($param),*)?> {
            fn variant<'de, A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "snake_case")]
                enum Tag { $($variant),* }

                $crate::tagged::tagged_enum!(@match ($($($param),*)?) map [
                    $($variant { $($( $(#[$field_attr])* $field : $ty ),*)? })*
                ])
            }
        }

        impl<'de, $($($param: serde::de::DeserializeOwned),*)?> serde::Deserialize<'de> for $name<$($($param),*)?> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::tagged::deserialize(deserializer)
            }
        }
    };
}
pub(crate) use tagged_enum;

/// An enum declared with [`tagged_enum!`]: decodes a variant from an object whose `type` key has
/// just been read, starting with that key's value.
pub(crate) trait Variants: Sized {
    fn variant<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Decodes a [`Variants`] enum from an object, reading the tag first if it is first.
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Variants + DeserializeOwned,
    D: Deserializer<'de>,
{
    deserializer.deserialize_map(TaggedVisitor(PhantomData))
}

struct TaggedVisitor<T>(PhantomData<T>);

impl<'de, T: Variants + DeserializeOwned> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(first) = map.next_key::<String>()? else { return Err(de::Error::missing_field(TAG)) };
        if first == TAG {
            return T::variant(map);
        }
        let text = tag_first(first, map)?;
        serde_json::from_str(&text).map_err(|e| de::Error::custom(without_position(&e)))
    }
}

/// The object whose first key (not the tag) has been read, as JSON text with the tag first.
/// Not generic over the enum, so it is compiled once per kind of input.
fn tag_first<'de, A: MapAccess<'de>>(first: String, mut map: A) -> Result<String, A::Error> {
    let mut entries = vec![(first, map.next_value::<Box<RawValue>>()?)];
    while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
        entries.push(entry);
    }
    let at = entries.iter().position(|(key, _)| key == TAG).ok_or_else(|| de::Error::missing_field(TAG))?;
    let tag = entries.remove(at);
    let mut text = String::from("{");
    for (key, value) in std::iter::once(tag).chain(entries) {
        if text.len() > 1 {
            text.push(',');
        }
        text.push_str(&serde_json::to_string(&key).map_err(de::Error::custom)?);
        text.push(':');
        text.push_str(value.get());
    }
    text.push('}');
    Ok(text)
}

/// serde_json's message without the position it appends, which would point into the copy.
fn without_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    message.strip_suffix(&position).map_or_else(|| message.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::hook::HookEvent;
    use crate::panel::PanelToWorker;
    use crate::tab::TabToWorker;
    use crate::{ServerFrame, decode_server};

    #[test]
    fn the_tag_may_come_anywhere() {
        let first = r#"{"type":"mark_read","peer":"ben@example.com","seq":7}"#;
        let later = r#"{"peer":"ben@example.com","type":"mark_read","seq":7}"#;
        let last = r#"{"peer":"ben@example.com","seq":7,"type":"mark_read"}"#;
        let expected = PanelToWorker::MarkRead { peer: "ben@example.com".into(), seq: 7 };
        for text in [first, later, last] {
            assert_eq!(serde_json::from_str::<PanelToWorker>(text).unwrap(), expected, "{text}");
        }
        assert_eq!(serde_json::to_string(&expected).unwrap(), first);
    }

    #[test]
    fn nested_tagged_enums_decode_in_any_order() {
        let text = r#"{"event":{"ok":true,"id":4,"type":"result"},"type":"hook"}"#;
        let expected = TabToWorker::Hook { event: HookEvent::Result { id: 4, ok: true, error: None, code: None } };
        assert_eq!(serde_json::from_str::<TabToWorker>(text).unwrap(), expected);
        // A `Value` sorts its keys, so the tag comes after `event`.
        assert_eq!(serde_json::from_value::<TabToWorker>(serde_json::to_value(&expected).unwrap()).unwrap(), expected);
    }

    #[test]
    fn type_parameters_decode_in_place() {
        use crate::panel::WorkerToPanel;
        use crate::{CallPage, Relayed};

        let text = r#"{"type":"calls","before":7,"page":{"calls":[]}}"#;
        let expected: WorkerToPanel =
            WorkerToPanel::Calls { before: Some(7), page: CallPage { calls: Vec::new(), next_before: None } };
        assert_eq!(serde_json::from_str::<WorkerToPanel>(text).unwrap(), expected);
        let value = serde_json::from_str::<serde_json::Value>(text).unwrap();
        assert_eq!(serde_json::from_value::<WorkerToPanel>(value).unwrap(), expected, "tag after `before`");
        let relayed = WorkerToPanel::<Relayed<crate::CallerIds>, Relayed<CallPage>>::Calls {
            before: Some(7),
            page: Relayed::from_json(r#"{"calls":[]}"#.into()).unwrap(),
        };
        assert_eq!(serde_json::to_string(&relayed).unwrap(), text);
        let extra = r#"{"type":"calls","page":{"calls":[]},"extra":1}"#;
        assert!(
            serde_json::from_str::<WorkerToPanel>(extra).unwrap_err().to_string().contains("unknown field `extra`")
        );
    }

    #[test]
    fn unit_variants_take_only_the_tag() {
        assert_eq!(serde_json::from_str::<PanelToWorker>(r#"{"type":"sign_in"}"#).unwrap(), PanelToWorker::SignIn);
        assert!(serde_json::from_str::<PanelToWorker>(r#"{"type":"sign_out","now":true}"#).is_err());
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            ("{}", "missing field `type`"),
            (r#"{"id":1}"#, "missing field `type`"),
            (r#"{"type":"launch","id":1}"#, "unknown variant `launch`"),
            (r#"{"id":1,"type":"launch"}"#, "unknown variant `launch`"),
            (r#"{"type":"pong"}"#, "missing field `id`"),
            (r#"{"type":"pong","id":1,"extra":true}"#, "unknown field `extra`"),
            (r#"{"extra":true,"type":"pong","id":1}"#, "unknown field `extra`"),
            (r#"{"type":"pong","id":1,"type":"ok"}"#, "unknown field `type`"),
            (r#"{"id":"1","type":"pong"}"#, "invalid type: string \"1\""),
            (r#"["pong",1]"#, "expected an object with a \"type\""),
            (r#"{"id":1,"type":"pong""#, "EOF"),
        ];
        for (text, reason) in cases {
            let err = decode_server(text).expect_err(text).0;
            assert!(err.contains(reason), "{text}: {err}");
            assert_eq!(err.matches(" at line ").count(), 1, "one position, in the frame: {err}");
        }
        let ok = json!({"id": 1, "type": "pong"}).to_string();
        assert_eq!(decode_server(&ok), Ok(ServerFrame::Pong { id: 1 }));
    }
}
