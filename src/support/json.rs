//! A JSON document read without copying its strings. A rendered JSON template is parsed,
//! checked and printed again in canonical form for every agent; [`Json`] does that with the
//! meaning `serde_json::Value` gives (objects keep their keys in first-seen order; a repeated
//! key's last value wins, in the first one's place) and the same printed bytes, without a
//! `String` per string and a hash map per object. [`JsonRead`] is what checks read, from
//! either.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// A JSON value, its strings borrowed from the text where they have no escapes.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object, its entries in first-seen order, each key once.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses `text` (the same errors as parsing a `serde_json::Value`).
    pub fn parse(text: &'a str) -> serde_json::Result<Json<'a>> {
        serde_json::from_str(text)
    }

    /// Pretty-printed, as `serde_json::to_string_pretty` prints the same `Value`.
    pub fn to_string_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Keys are looked up in a list up to this many entries, then in an index.
const INDEX_FROM: usize = 16;

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Json<'de>, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }
    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Deserialize::deserialize(d)
    }
    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value = map.next_value()?;
            let at = if entries.len() < INDEX_FROM {
                entries.iter().position(|(k, _)| *k == key.0)
            } else {
                if index.is_empty() {
                    index = (entries.iter().enumerate())
                        .map(|(i, (k, _))| (k.to_string(), i))
                        .collect();
                }
                index.get(key.0.as_ref()).copied()
            };
            match at {
                Some(i) => entries[i].1 = value,
                None => {
                    if !index.is_empty() {
                        index.insert(key.0.to_string(), entries.len());
                    }
                    entries.push((key.0, value));
                }
            }
        }
        Ok(Json::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

/// An object's key, borrowed where it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => n.serialize(s),
            Json::String(t) => s.serialize_str(t),
            Json::Array(items) => s.collect_seq(items),
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

/// A JSON value as checks read it: a `serde_json::Value`, or a [`Json`].
pub trait JsonRead: Sized {
    /// The entries, in order, if it is an object.
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Self)>>;
    /// The value of `key`, if it is an object with that key.
    fn field(&self, key: &str) -> Option<&Self>;
    /// The items, if it is an array.
    fn items(&self) -> Option<&[Self]>;
    /// The string, if it is one.
    fn text(&self) -> Option<&str>;
}

impl JsonRead for Value {
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Value)>> {
        Some(self.as_object()?.iter().map(|(k, v)| (k.as_str(), v)))
    }
    fn field(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
    fn items(&self) -> Option<&[Value]> {
        self.as_array().map(Vec::as_slice)
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
}

impl<'a> JsonRead for Json<'a> {
    fn entries(&self) -> Option<impl Iterator<Item = (&str, &Json<'a>)>> {
        match self {
            Json::Object(e) => Some(e.iter().map(|(k, v)| (k.as_ref(), v))),
            _ => None,
        }
    }
    fn field(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(e) => e.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn items(&self) -> Option<&[Json<'a>]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
    fn text(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// JSON-like text: every kind of value, escapes, numbers of every form, repeated keys,
    /// objects past [`INDEX_FROM`] keys, and now and then something that is not JSON.
    fn text() -> impl Strategy<Value = String> {
        let key = prop::sample::select(vec![
            "\"a\"",
            "\"b\"",
            "\"a\\u0062\"",
            "\"\\\"q\\\"\"",
            "\"é\"",
            "\"k1\"",
            "\"k2\"",
        ]);
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            prop::sample::select(vec![
                "0",
                "-1",
                "1.5",
                "1e3",
                "-2.5E-3",
                "18446744073709551615",
                "-9223372036854775808",
                "123456789012345678901234567890",
                "1.0",
                "0.1",
            ])
            .prop_map(str::to_string),
            prop::sample::select(vec![
                "\"\"",
                "\"x\"",
                "\"tab\\tnew\\nline\"",
                "\"\\u00e9\\ud83d\\ude00\"",
                "\"a/b\\/c\"",
                "\"Edit(//p/**)\"",
                "\"\\u0001\"",
            ])
            .prop_map(str::to_string),
            Just("{".to_string()),
        ];
        leaf.prop_recursive(4, 64, 24, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((key.clone(), inner), 0..24).prop_map(|v| {
                    let e: Vec<String> = v.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!("{{ {} }}", e.join(" ,\n"))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn reads_and_prints_as_serde_json_value_does(text in text()) {
            let want = serde_json::from_str::<Value>(&text);
            let got = Json::parse(&text);
            prop_assert_eq!(want.is_ok(), got.is_ok(), "{}", text);
            if let (Ok(want), Ok(got)) = (want, got) {
                prop_assert_eq!(serde_json::to_string_pretty(&want).unwrap(), got.to_string_pretty());
                prop_assert_eq!(want.entries().map(Iterator::count), got.entries().map(Iterator::count));
            }
        }
    }

    #[test]
    fn a_repeated_key_keeps_its_place_and_takes_the_last_value() {
        let many: String = (0..40).map(|i| format!("\"k{}\": {i}, ", i % 30)).collect();
        for text in [
            r#"{"a": 1, "b": 2, "a": 3}"#.to_string(),
            format!("{{ {many} \"end\": 0 }}"),
        ] {
            let want: Value = serde_json::from_str(&text).unwrap();
            let got = Json::parse(&text).unwrap();
            assert_eq!(
                serde_json::to_string(&want).unwrap(),
                serde_json::to_string(&got).unwrap()
            );
        }
        let got = Json::parse(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(got.field("a"), Some(&Json::Number(3.into())));
        assert_eq!(got.entries().unwrap().next().unwrap().0, "a");
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"["plain", "esc\"aped"]"#;
        let Json::Array(items) = Json::parse(text).unwrap() else {
            panic!("not an array")
        };
        assert!(matches!(&items[0], Json::String(Cow::Borrowed("plain"))));
        assert!(matches!(&items[1], Json::String(Cow::Owned(s)) if s == "esc\"aped"));
        assert_eq!(items[1].text(), Some("esc\"aped"));
    }
}
