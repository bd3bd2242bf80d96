//! Small serde helpers shared by the claims types.

use serde::{Deserialize, Deserializer};

/// Reads a value where JSON `null` means the default, as Go's `encoding/json` and protojson do.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Reads a protojson uint32: a JSON number or a decimal string; `null` is 0.
pub(crate) fn proto_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an unsigned 32-bit integer (number or decimal string)")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for uint32")))
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u32, E> {
            u32::try_from(v).map_err(|_| E::custom(format!("{v} is out of range for uint32")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u32, E> {
            if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(v as u32)
            } else {
                Err(E::custom(format!("{v} is not a uint32")))
            }
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u32, E> {
            v.parse()
                .map_err(|_| E::custom(format!("{v:?} is not a uint32")))
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<u32, E> {
            Ok(0)
        }
    }
    d.deserialize_any(V)
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Reads an optional JSON object into `T`: `null` is `None`, and anything but an object is an
/// error. (serde's derived structs would also read a JSON array, by position; Go and protojson
/// accept only objects.)
pub(crate) fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// Reads a JSON array of objects into `Vec<T>` (`null` is empty); see [`object`].
pub(crate) fn objects<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Item<T>(T);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Item<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d)?
                .map(Item)
                .ok_or_else(|| serde::de::Error::custom("expected a JSON object, found null"))
        }
    }
    let items: Option<Vec<Item<T>>> = Option::deserialize(d)?;
    Ok(items.unwrap_or_default().into_iter().map(|i| i.0).collect())
}

/// Reads an optional JSON object kept as a `Value` (`null` is `None`).
pub(crate) fn object_value<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None => Ok(None),
        Some(v @ serde_json::Value::Object(_)) => Ok(Some(v)),
        Some(_) => Err(serde::de::Error::custom("expected a JSON object")),
    }
}
