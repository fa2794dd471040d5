//! The keys the spec loader accepts, read from the decoder's own types: a serde `Deserializer`
//! that, asked for a struct, answers with every field serde lists for it (so `#[serde(rename)]`
//! and every new field show up by themselves), one placeholder entry for maps and one element for
//! lists, and records the path and the kind of value asked for at each key.

use std::collections::BTreeMap;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

/// What the decoder asks for at a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Integer,
    Boolean,
    /// A number or text (durations, times, tune grid values).
    Scalar,
    Map,
    List,
    Object,
}

/// Every key path (`alerts[].evaluation.for`, `environments.<env>.account`) and its kind.
pub type Keys = BTreeMap<String, Kind>;

/// The keys `T` accepts, under `root` (empty for the document).
pub fn keys<'de, T: de::Deserialize<'de>>() -> Keys {
    let mut keys = Keys::new();
    // The tracer answers every request, so decoding only fails on a type it cannot trace: that is
    // a bug in this module, seen at once by the reference's test.
    T::deserialize(Tracer {
        path: String::new(),
        keys: &mut keys,
    })
    .unwrap_or_else(|e| panic!("tracing the spec types: {e}"));
    keys
}

struct Tracer<'k> {
    path: String,
    keys: &'k mut Keys,
}

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}
impl de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// The placeholder of a map's keys, by what the map holds.
fn placeholder(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "environments" | "overrides" => "<env>",
        "tune" => "<key>",
        "dimensions" => "<dimension>",
        "labels" => "<label>",
        _ => "<name>",
    }
}

impl Tracer<'_> {
    fn record(&mut self, kind: Kind) {
        if !self.path.is_empty() {
            self.keys.entry(self.path.clone()).or_insert(kind);
        }
    }
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        // Untagged scalars (durations, times, grid values) buffer whatever comes: give them text.
        self.record(Kind::Scalar);
        v.visit_str("x")
    }
    fn deserialize_bool<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Boolean);
        v.visit_bool(false)
    }
    fn deserialize_i64<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Integer);
        v.visit_i64(1)
    }
    fn deserialize_u32<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Integer);
        v.visit_u32(1)
    }
    fn deserialize_u64<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Integer);
        v.visit_u64(1)
    }
    fn deserialize_f64<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Number);
        v.visit_f64(1.0)
    }
    fn deserialize_str<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Text);
        v.visit_str("x")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::List);
        let path = format!("{}[]", self.path);
        v.visit_seq(One {
            path: Some(path),
            keys: self.keys,
        })
    }
    fn deserialize_map<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, Error> {
        self.record(Kind::Map);
        let key = placeholder(&self.path);
        let fields = [key];
        v.visit_map(Fields {
            prefix: self.path.clone(),
            fields: &fields,
            next: 0,
            keys: self.keys,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        self.record(Kind::Object);
        v.visit_map(Fields {
            prefix: self.path.clone(),
            fields,
            next: 0,
            keys: self.keys,
        })
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("x")
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u128 f32 char bytes byte_buf unit unit_struct newtype_struct tuple
        tuple_struct enum ignored_any
    }
}

/// A struct's fields (or a map's one placeholder key) as map entries.
struct Fields<'k, 'f> {
    prefix: String,
    fields: &'f [&'f str],
    next: usize,
    keys: &'k mut Keys,
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

impl<'de> MapAccess<'de> for Fields<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.fields.get(self.next) {
            None => Ok(None),
            Some(field) => seed
                .deserialize(IntoDeserializer::<Error>::into_deserializer(
                    field.to_string(),
                ))
                .map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let field = self.fields[self.next];
        self.next += 1;
        seed.deserialize(Tracer {
            path: join(&self.prefix, field),
            keys: self.keys,
        })
    }
}

/// A list of one element.
struct One<'k> {
    path: Option<String>,
    keys: &'k mut Keys,
}

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.path.take() {
            None => Ok(None),
            Some(path) => seed
                .deserialize(Tracer {
                    path,
                    keys: self.keys,
                })
                .map(Some),
        }
    }
}
