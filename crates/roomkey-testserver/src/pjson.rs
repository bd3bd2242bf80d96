//! Just enough protojson to read requests and write responses the way the LiveKit server does.
//!
//! Reading follows `protojson.UnmarshalOptions{DiscardUnknown: true}` as the Twirp server
//! uses it: a JSON object per message; keys by JSON name (`emptyTimeout`) or proto name
//! (`empty_timeout`); the same field twice (under either name) is an error; unknown keys are
//! skipped; `null` leaves the default; integers as numbers or numeric strings; enums by name or
//! number (unknown names are skipped); bytes as standard or URL-safe base64, padded or not.
//!
//! Writing follows `protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}`:
//! proto names, every field present, 64-bit integers as strings, enums by name, unset messages
//! as `null`, maps with sorted keys.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that keeps every object member in order, duplicates included (protojson
/// rejects duplicate fields, and Go's `encoding/json` lets the last of them win).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number as serde_json read it.
    Num(Num),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Num(Num::U(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Num(Num::I(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Num(Num::F(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
                Ok(Json::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Json>()? {
                    out.push(v);
                }
                Ok(Json::Arr(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Json>()? {
                    out.push((k, v));
                }
                Ok(Json::Obj(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads the first JSON value of a body, as Go's `json.NewDecoder(body).Decode(&raw)` does:
/// leading white space is skipped and anything after the first value is ignored. `None` if
/// there is no complete, valid first value (an empty body included).
pub(crate) fn first_value(body: &[u8]) -> Option<Json> {
    let mut stream = serde_json::Deserializer::from_slice(body).into_iter::<Json>();
    match stream.next() {
        Some(Ok(v)) => Some(v),
        _ => None,
    }
}

/// Parses a whole document (used for JWT payloads, which Go reads with `json.Unmarshal`).
pub(crate) fn parse_document(body: &[u8]) -> Option<Json> {
    serde_json::from_slice::<Json>(body).ok()
}

/// Why a protojson value was refused. The text is never shown to clients (the Twirp server
/// answers with a fixed message), but it helps when a test fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError(pub(crate) String);

pub(crate) type JResult<T> = Result<T, JsonError>;

fn err<T>(msg: impl Into<String>) -> JResult<T> {
    Err(JsonError(msg.into()))
}

/// One field of a message: its proto name and its JSON (lowerCamelCase) name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) proto: &'static str,
    pub(crate) json: &'static str,
}

/// Declares the fields of a message, in declaration order.
macro_rules! fields {
    ($($proto:literal / $json:literal),* $(,)?) => {
        &[$($crate::pjson::Field { proto: $proto, json: $json }),*]
    };
}
pub(crate) use fields;

/// A message that can be read from protojson.
pub(crate) trait FromJson: Default {
    /// The message's fields, in declaration order.
    const FIELDS: &'static [Field];
    /// Sets field `index` (into [`FromJson::FIELDS`]) from a non-null value.
    fn set(&mut self, index: usize, value: &Json) -> JResult<()>;
}

/// A message that can be written as protojson.
pub(crate) trait ToJson {
    fn write(&self, w: &mut ObjWriter<'_>);
}

/// Reads a message from a JSON value.
pub(crate) fn decode_message<T: FromJson>(value: &Json) -> JResult<T> {
    let Json::Obj(members) = value else {
        return err("a message must be a JSON object");
    };
    let mut seen = vec![false; T::FIELDS.len()];
    let mut out = T::default();
    for (key, v) in members {
        let index = T::FIELDS
            .iter()
            .position(|f| f.json == key)
            .or_else(|| T::FIELDS.iter().position(|f| f.proto == key));
        let Some(index) = index else {
            // DiscardUnknown: skip the value (it is already known to be valid JSON).
            continue;
        };
        if seen[index] {
            return err(format!("duplicate field {key:?}"));
        }
        seen[index] = true;
        if matches!(v, Json::Null) {
            continue;
        }
        out.set(index, v)
            .map_err(|e| JsonError(format!("{key}: {}", e.0)))?;
    }
    Ok(out)
}

/// Reads a message-typed field (`null` was handled by the caller).
pub(crate) fn message<T: FromJson>(v: &Json) -> JResult<T> {
    decode_message(v)
}

/// Whether `s` follows the JSON number grammar (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`).
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// An integer from a JSON number or a numeric string, within `[min, max]`.
fn integer(v: &Json, min: i128, max: i128) -> JResult<i128> {
    let n: i128 = match v {
        Json::Num(Num::U(u)) => i128::from(*u),
        Json::Num(Num::I(i)) => i128::from(*i),
        Json::Num(Num::F(f)) => float_to_int(*f)?,
        Json::Str(s) => {
            // protojson refuses surrounding white space and anything but a JSON number.
            if !is_json_number(s) {
                return err(format!("{s:?} is not a number"));
            }
            if let Ok(i) = s.parse::<i128>() {
                i
            } else {
                let f: f64 = s.parse().map_err(|_| JsonError(format!("{s:?}")))?;
                float_to_int(f)?
            }
        }
        other => return err(format!("expected an integer, got {other:?}")),
    };
    if n < min || n > max {
        return err(format!("{n} is out of range"));
    }
    Ok(n)
}

fn float_to_int(f: f64) -> JResult<i128> {
    if !f.is_finite() || f.fract() != 0.0 || f.abs() > 1.9e19 {
        return err(format!("{f} is not an integer"));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(f as i128)
}

pub(crate) fn u32_(v: &Json) -> JResult<u32> {
    integer(v, 0, i128::from(u32::MAX)).map(|n| u32::try_from(n).unwrap_or_default())
}

pub(crate) fn i32_(v: &Json) -> JResult<i32> {
    integer(v, i128::from(i32::MIN), i128::from(i32::MAX))
        .map(|n| i32::try_from(n).unwrap_or_default())
}

pub(crate) fn i64_(v: &Json) -> JResult<i64> {
    integer(v, i128::from(i64::MIN), i128::from(i64::MAX))
        .map(|n| i64::try_from(n).unwrap_or_default())
}

pub(crate) fn bool_(v: &Json) -> JResult<bool> {
    match v {
        Json::Bool(b) => Ok(*b),
        other => err(format!("expected a boolean, got {other:?}")),
    }
}

pub(crate) fn string(v: &Json) -> JResult<String> {
    match v {
        Json::Str(s) => Ok(s.clone()),
        other => err(format!("expected a string, got {other:?}")),
    }
}

pub(crate) fn bytes(v: &Json) -> JResult<Vec<u8>> {
    use base64::alphabet;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let Json::Str(s) = v else {
        return err("bytes must be a base64 string");
    };
    let alphabet = if s.contains(['-', '_']) {
        alphabet::URL_SAFE
    } else {
        alphabet::STANDARD
    };
    let padding = if s.len() % 4 == 0 {
        DecodePaddingMode::RequireCanonical
    } else {
        DecodePaddingMode::RequireNone
    };
    let engine = GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(padding)
            .with_decode_allow_trailing_bits(true),
    );
    engine
        .decode(s)
        .map_err(|e| JsonError(format!("bad base64: {e}")))
}

/// An enum value: a known name or any int32. `Ok(None)` for an unknown name, which protojson
/// with DiscardUnknown skips (the field keeps its default).
pub(crate) fn enum_(v: &Json, names: &[(&str, i32)]) -> JResult<Option<i32>> {
    match v {
        Json::Str(s) => Ok(names.iter().find(|(n, _)| n == s).map(|(_, i)| *i)),
        Json::Num(_) => i32_(v).map(Some),
        other => err(format!("expected an enum name or number, got {other:?}")),
    }
}

/// A repeated field: a JSON array whose elements are read with `each` (null elements fail).
pub(crate) fn repeated<T>(v: &Json, mut each: impl FnMut(&Json) -> JResult<T>) -> JResult<Vec<T>> {
    let Json::Arr(items) = v else {
        return err("a repeated field must be a JSON array");
    };
    items
        .iter()
        .map(|item| {
            if matches!(item, Json::Null) {
                err("null inside a repeated field")
            } else {
                each(item)
            }
        })
        .collect()
}

/// A repeated enum field; unknown names are dropped, as protojson does with DiscardUnknown.
pub(crate) fn repeated_enum(v: &Json, names: &[(&str, i32)]) -> JResult<Vec<i32>> {
    Ok(repeated(v, |item| enum_(item, names))?
        .into_iter()
        .flatten()
        .collect())
}

/// A `map<string, string>` field.
pub(crate) fn string_map(v: &Json) -> JResult<BTreeMap<String, String>> {
    let Json::Obj(members) = v else {
        return err("a map must be a JSON object");
    };
    let mut out = BTreeMap::new();
    for (k, val) in members {
        let val = string(val)?;
        if out.insert(k.clone(), val).is_some() {
            return err(format!("duplicate map key {k:?}"));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes one JSON object member by member.
#[derive(Debug)]
pub(crate) struct ObjWriter<'a> {
    out: &'a mut String,
    first: bool,
}

/// Serializes a message as protojson with proto names and every field present.
pub(crate) fn to_json<T: ToJson + ?Sized>(msg: &T) -> String {
    let mut out = String::new();
    write_message(&mut out, msg);
    out
}

fn write_message<T: ToJson + ?Sized>(out: &mut String, msg: &T) {
    out.push('{');
    let mut w = ObjWriter { out, first: true };
    msg.write(&mut w);
    w.out.push('}');
}

pub(crate) fn quote(out: &mut String, s: &str) {
    // serde_json's escaping matches protojson's for our purposes: `"`, `\` and control
    // characters are escaped, everything else is written as is.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
}

fn enum_name(names: &[(&'static str, i32)], value: i32) -> Option<&'static str> {
    names.iter().find(|(_, n)| *n == value).map(|(s, _)| *s)
}

fn write_enum(out: &mut String, names: &[(&'static str, i32)], value: i32) {
    match enum_name(names, value) {
        Some(name) => quote(out, name),
        None => {
            let _ = write!(out, "{value}");
        }
    }
}

impl ObjWriter<'_> {
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        quote(self.out, key);
        self.out.push(':');
    }

    pub(crate) fn str(&mut self, key: &str, v: &str) {
        self.key(key);
        quote(self.out, v);
    }

    pub(crate) fn u32(&mut self, key: &str, v: u32) {
        self.key(key);
        let _ = write!(self.out, "{v}");
    }

    pub(crate) fn i32(&mut self, key: &str, v: i32) {
        self.key(key);
        let _ = write!(self.out, "{v}");
    }

    /// 64-bit integers are strings in protojson.
    pub(crate) fn i64(&mut self, key: &str, v: i64) {
        self.key(key);
        let _ = write!(self.out, "\"{v}\"");
    }

    pub(crate) fn bool(&mut self, key: &str, v: bool) {
        self.key(key);
        self.out.push_str(if v { "true" } else { "false" });
    }

    pub(crate) fn enum_(&mut self, key: &str, names: &[(&'static str, i32)], v: i32) {
        self.key(key);
        write_enum(self.out, names, v);
    }

    pub(crate) fn repeated_enum(&mut self, key: &str, names: &[(&'static str, i32)], v: &[i32]) {
        self.key(key);
        self.out.push('[');
        for (i, n) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_enum(self.out, names, *n);
        }
        self.out.push(']');
    }

    /// A field this imitation does not model: always written as its empty value.
    pub(crate) fn empty_list(&mut self, key: &str) {
        self.key(key);
        self.out.push_str("[]");
    }

    pub(crate) fn string_map(&mut self, key: &str, v: &BTreeMap<String, String>) {
        self.key(key);
        self.out.push('{');
        for (i, (k, val)) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            quote(self.out, k);
            self.out.push(':');
            quote(self.out, val);
        }
        self.out.push('}');
    }

    pub(crate) fn message<T: ToJson>(&mut self, key: &str, v: Option<&T>) {
        self.key(key);
        match v {
            Some(m) => write_message(self.out, m),
            None => self.out.push_str("null"),
        }
    }

    pub(crate) fn messages<T: ToJson>(&mut self, key: &str, v: &[T]) {
        self.key(key);
        self.out.push('[');
        for (i, m) in v.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            write_message(self.out, m);
        }
        self.out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_protojson() {
        let j = |s: &str| first_value(s.as_bytes()).unwrap();
        assert_eq!(u32_(&j("300")), Ok(300));
        assert_eq!(u32_(&j("\"300\"")), Ok(300));
        assert_eq!(u32_(&j("3e2")), Ok(300));
        assert_eq!(u32_(&j("\"3e2\"")), Ok(300));
        assert_eq!(u32_(&j("300.0")), Ok(300));
        assert!(u32_(&j("300.5")).is_err());
        assert!(u32_(&j("-1")).is_err());
        assert!(u32_(&j("4294967296")).is_err());
        assert!(u32_(&j("\" 300\"")).is_err());
        assert!(u32_(&j("\"+300\"")).is_err());
        assert!(u32_(&j("true")).is_err());
        assert_eq!(i64_(&j("\"-1724300000\"")), Ok(-1_724_300_000));
        assert_eq!(i64_(&j("9223372036854775807")), Ok(i64::MAX));
    }

    #[test]
    fn first_value_ignores_trailing_data() {
        assert!(first_value(b"").is_none());
        assert!(first_value(b"   ").is_none());
        assert!(first_value(b"{").is_none());
        assert_eq!(first_value(b" {} trailing"), Some(Json::Obj(vec![])));
        assert_eq!(
            first_value(br#"{"a":1,"a":2}"#),
            Some(Json::Obj(vec![
                ("a".into(), Json::Num(Num::U(1))),
                ("a".into(), Json::Num(Num::U(2)))
            ]))
        );
    }

    #[test]
    fn bytes_accept_both_alphabets_and_paddings() {
        let s = |x: &str| Json::Str(x.into());
        assert_eq!(bytes(&s("aGk=")), Ok(b"hi".to_vec()));
        assert_eq!(bytes(&s("aGk")), Ok(b"hi".to_vec()));
        assert_eq!(bytes(&s("-_8")), Ok(vec![0xfb, 0xff]));
        assert_eq!(bytes(&s("+/8=")), Ok(vec![0xfb, 0xff]));
        assert!(bytes(&s("a")).is_err());
    }
}
